package projection

import (
	"context"
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
	go func() { done <- p.apply(ctx, st, st.out, a) }()

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
