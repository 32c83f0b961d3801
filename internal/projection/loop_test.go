package projection

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeStream hands transactions to apply the way replication.Stream does.
type fakeStream struct {
	acked   atomic.Uint64
	waiting atomic.Int64
	out     chan Tx
}

func (f *fakeStream) Acked() uint64 { return f.acked.Load() }
func (f *fakeStream) Ack(lsn uint64) {
	if lsn > f.acked.Load() {
		f.acked.Store(lsn)
	}
}
func (f *fakeStream) Release(tx Tx) {
	if !tx.Keepalive {
		f.waiting.Add(-1)
	}
}
func (f *fakeStream) Waiting() int { return int(max(0, f.waiting.Load())) }

func (f *fakeStream) send(tx Tx) {
	if !tx.Keepalive {
		f.waiting.Add(1)
	}
	f.out <- tx
}

// emptySource is a write model in which no payment exists (every dirty
// document becomes a delete).
type emptySource struct{}

func (emptySource) View(ctx context.Context, _ []uint32, fn func(context.Context, View) error) error {
	return fn(ctx, emptySource{})
}
func (emptySource) Payments(context.Context, []string) ([]Loaded[PaymentDoc], error) {
	return nil, nil
}
func (emptySource) Customers(context.Context, []string) ([]Loaded[CustomerDoc], error) {
	return nil, nil
}
func (emptySource) PaymentsOf(context.Context, Parent, string, int) ([]Loaded[PaymentDoc], error) {
	return nil, nil
}
func (emptySource) CustomerIDsOfUser(context.Context, string) ([]string, error) { return nil, nil }

// slowIndex accepts everything; publishing takes publishDelay, like a busy
// engine.
type slowIndex struct {
	publishDelay time.Duration
	mu           sync.Mutex
	published    uint64
}

func (x *slowIndex) Bulk(_ context.Context, ops []IndexOp) ([]ItemResult, error) {
	return make([]ItemResult, len(ops)), nil // ItemApplied
}
func (x *slowIndex) Refresh(context.Context, []string) error { return nil }
func (x *slowIndex) PublishState(ctx context.Context, st StateDoc) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(x.publishDelay):
	}
	x.mu.Lock()
	x.published = max(x.published, st.AppliedLSN)
	x.mu.Unlock()
	return nil
}
func (x *slowIndex) position() uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.published
}

// Keepalive positions arriving faster than a publish takes (WAL written
// elsewhere on a busy server) neither keep the lag clock running after the
// last change is searchable nor keep the position from being published.
func TestApplyKeepaliveFloodSettlesLag(t *testing.T) {
	p := New(Config{FlushInterval: 50 * time.Millisecond}, Deps{}, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	idx := &slowIndex{publishDelay: 80 * time.Millisecond} // longer than the 50 ms supersede check
	a := &Applier{Source: emptySource{}, Index: idx, DeadLetters: nil, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	st := &fakeStream{out: make(chan Tx, 1024)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.apply(ctx, st, st.out, a, nil, nil) }()

	id := "0193a5b2-7c1d-7e4f-8a6b-000000000001"
	st.send(Tx{Xid: 1, CommitLSN: 90, EndLSN: 100, CommitTime: time.Now().Add(-time.Second),
		Changes: []Change{{Table: TablePayments, Op: OpInsert, New: Row{"id": &id}}}})
	go func() {
		for lsn := uint64(200); ctx.Err() == nil; lsn++ {
			st.send(Tx{Keepalive: true, EndLSN: lsn})
			time.Sleep(5 * time.Millisecond)
		}
	}()

	deadline := time.Now().Add(3 * time.Second)
	for {
		lag, pos := p.lagSeconds(), idx.position()
		if lag == 0 && pos >= 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 s of keepalives: lag %.1f s, published position %d; want 0 and a keepalive position (≥ 200)", lag, pos)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

// countingIndex records the order of bulks, refreshes and publishes.
type countingIndex struct {
	mu        sync.Mutex
	bulks     int
	refreshes int
	// refreshedBulks is the bulk count at the last refresh; a publish must
	// never cover a bulk written after it.
	refreshedBulks int
	published      []int // bulks refreshed when each publish happened
	position       uint64
}

func (x *countingIndex) Bulk(_ context.Context, ops []IndexOp) ([]ItemResult, error) {
	x.mu.Lock()
	x.bulks++
	x.mu.Unlock()
	return make([]ItemResult, len(ops)), nil
}
func (x *countingIndex) Refresh(context.Context, []string) error {
	x.mu.Lock()
	x.refreshes++
	x.refreshedBulks = x.bulks
	x.mu.Unlock()
	return nil
}
func (x *countingIndex) PublishState(_ context.Context, st StateDoc) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.refreshedBulks != x.bulks {
		return errUnrefreshed
	}
	x.published = append(x.published, x.bulks)
	x.position = max(x.position, st.AppliedLSN)
	return nil
}

var errUnrefreshed = &unrefreshedError{}

type unrefreshedError struct{}

func (*unrefreshedError) Error() string {
	return "published a position whose documents were not refreshed"
}

// With a backlog, one refresh and publish covers many bulks (at most one
// per BacklogRefresh), a position is never published before everything up
// to it was refreshed, and the last plan of the backlog is published at
// once.
func TestBacklogRefreshesOncePerInterval(t *testing.T) {
	p := New(Config{FlushInterval: 10 * time.Millisecond, BulkDocs: 1, BacklogRefresh: time.Hour}, Deps{},
		slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	idx := &countingIndex{}
	a := &Applier{Source: emptySource{}, Index: idx, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	st := &fakeStream{out: make(chan Tx, 1024)}
	const txs = 50
	for i := range txs { // a backlog: everything queued before the loop starts
		id := fmt.Sprintf("0193a5b2-7c1d-7e4f-8a6b-%012x", i)
		st.send(Tx{Xid: uint32(i + 1), CommitLSN: uint64(100*i + 90), EndLSN: uint64(100*i + 100), CommitTime: time.Now(),
			Changes: []Change{{Table: TablePayments, Op: OpInsert, New: Row{"id": &id}}}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.apply(ctx, st, st.out, a, nil, nil) }()
	deadline := time.Now().Add(5 * time.Second)
	for st.Acked() < 100*(txs-1)+100 {
		if time.Now().After(deadline) {
			t.Fatalf("acknowledged %d, want %d", st.Acked(), 100*(txs-1)+100)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil && err != context.Canceled {
		t.Fatalf("apply: %v", err)
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if idx.bulks != txs {
		t.Fatalf("%d bulks, want one per transaction (%d)", idx.bulks, txs)
	}
	// The first plan is published at once (nothing was published before),
	// then the backlog is written back to back and published once it runs
	// out: far fewer refreshes than bulks.
	if idx.refreshes > 3 || len(idx.published) > 3 {
		t.Fatalf("%d refreshes and %d publishes for %d bulks; want the backlog covered by ~2", idx.refreshes, len(idx.published), idx.bulks)
	}
	if idx.position != PublishedLSN(100*(txs-1)+100) {
		t.Fatalf("published position %d, want the backlog's end %d", idx.position, PublishedLSN(100*(txs-1)+100))
	}
}
