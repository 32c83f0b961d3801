package projection

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// jitterIndex answers bulks after a random delay, so concurrent bulks land
// out of order, and checks what the loop promises: a published position
// covers only documents that landed before the last refresh, and one
// document's writes land in the order of their versions.
type jitterIndex struct {
	mu        sync.Mutex
	r         *rand.Rand
	inflight  int
	peak      int
	landed    map[string]uint64 // id → version last written
	refreshed map[string]uint64 // landed at the last refresh
	position  uint64
	errs      []string
}

func (x *jitterIndex) Bulk(ctx context.Context, ops []IndexOp) ([]ItemResult, error) {
	x.mu.Lock()
	x.inflight++
	x.peak = max(x.peak, x.inflight)
	d := time.Duration(x.r.IntN(8)) * time.Millisecond
	x.mu.Unlock()
	time.Sleep(d)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.inflight--
	for _, op := range ops {
		if v := x.landed[op.ID]; v >= op.Version {
			x.errs = append(x.errs, fmt.Sprintf("%s: version %d landed after %d", op.ID, op.Version, v))
		}
		x.landed[op.ID] = op.Version
	}
	return make([]ItemResult, len(ops)), nil
}

func (x *jitterIndex) Refresh(context.Context, []string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.refreshed = make(map[string]uint64, len(x.landed))
	for id, v := range x.landed {
		x.refreshed[id] = v
	}
	return nil
}

// PublishState checks that every transaction up to the position (tx i
// writes document i%docs with version 100*i+90 and ends at 100*i+100) is
// refreshed.
func (x *jitterIndex) PublishState(_ context.Context, st StateDoc) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := 0; uint64(100*i+100) <= st.AppliedLSN; i++ {
		if v := x.refreshed[laneDocID(i)]; v < uint64(100*i+90) {
			x.errs = append(x.errs, fmt.Sprintf("published %d with tx %d's document at version %d", st.AppliedLSN, i, v))
			break
		}
	}
	x.position = max(x.position, st.AppliedLSN)
	return nil
}

const laneDocs = 40 // documents written over and over: plans overlap

func laneDocID(i int) string { return fmt.Sprintf("0193a5b2-7c1d-7e4f-8a6b-%012x", i%laneDocs) }

// With bulks in flight concurrently, landing out of order: the published
// position never covers a transaction whose document has not landed and
// been refreshed, a document's writes land in version order (a plan that
// shares a document with a bulk in flight waits for it), and the lane is
// really used concurrently.
func TestConcurrentBulksPublishOnlyWhatLanded(t *testing.T) {
	p := New(Config{FlushInterval: time.Millisecond, BulkDocs: 7, BacklogRefresh: 5 * time.Millisecond}, Deps{},
		slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	idx := &jitterIndex{r: rand.New(rand.NewPCG(1, 2)), landed: map[string]uint64{}, refreshed: map[string]uint64{}}
	a := &Applier{Source: presentSource{}, Index: idx, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
		InflightBulks: 3, BatchSize: 7}
	st := &fakeStream{out: make(chan Tx, 4096)}
	const txs = 2000
	go func() {
		for i := range txs {
			id := laneDocID(i)
			st.send(Tx{Xid: uint32(i + 1), CommitLSN: uint64(100*i + 90), EndLSN: uint64(100*i + 100), CommitTime: time.Now(),
				Changes: []Change{{Table: TablePayments, Op: OpUpdate, New: Row{"id": &id}}}})
			if i%50 == 0 {
				time.Sleep(time.Millisecond) // sometimes caught up, mostly a backlog
			}
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.apply(ctx, st, st.out, a, nil, nil) }()
	want := uint64(100*(txs-1) + 100)
	deadline := time.Now().Add(20 * time.Second)
	for st.Acked() < want {
		if time.Now().After(deadline) {
			t.Fatalf("acknowledged %d, want %d", st.Acked(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	idx.mu.Lock()
	defer idx.mu.Unlock()
	for _, e := range idx.errs {
		t.Error(e)
	}
	if idx.peak < 2 {
		t.Errorf("at most %d bulk in flight; want concurrent bulks", idx.peak)
	}
	if idx.position < PublishedLSN(want) {
		t.Errorf("published %d, want %d", idx.position, PublishedLSN(want))
	}
}

// presentSource is a write model in which every payment exists.
type presentSource struct{ emptySource }

func (presentSource) View(ctx context.Context, _ []uint32, fn func(context.Context, View) error) error {
	return fn(ctx, presentSource{})
}

func (presentSource) Payments(_ context.Context, ids []string) ([]Loaded[PaymentDoc], error) {
	docs := make([]Loaded[PaymentDoc], len(ids))
	for i, id := range ids {
		docs[i] = Loaded[PaymentDoc]{ID: id, Doc: PaymentDoc{PaymentView: domain.PaymentView{Payment: domain.Payment{ID: id}}}}
	}
	return docs, nil
}
