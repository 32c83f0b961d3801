package projection

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// A rebuild beside the stream builds a new generation of the read model
// while the current one keeps receiving changes, then swaps the aliases:
// for a new mapping version (found at start) or when `projector rebuild`
// asks for one. Freshness does not stall as it does during a backfill.
//
//  1. Between two plans the loop creates the generation and turns on the
//     mirror: from then on every bulk of the stream and of the fan-out is
//     also written to the new generation, with the same versions. from is
//     the end of the last plan written so far.
//  2. A copy of a snapshot taken after that (so it holds every transaction
//     up to from: their plans' reads waited for them) is written to the new
//     generation with version from − 1, below every mirrored change (their
//     commits start at or after from). Whichever lands first, the mirrored
//     change wins; a mirrored delete leaves a tombstone the copy cannot
//     overwrite (gc_deletes is 12 h on a generation being built).
//  3. When the copy is done, at the next publish (every bulk so far drained
//     and refreshed) the loop settles the generation, then, with the mirror
//     holding every other bulk back for that moment, refreshes it and swaps
//     the aliases (the previous generation is deleted) and records it as the
//     slot's backfill.
//
// A crash in between leaves the previous generation in place and an
// unfinished one that the next generation's creation deletes; a new mapping
// version is then found again at start and rebuilt again.

// mirror is the stream's index: it writes to the aliases and, while a
// rebuild runs, to the generation being built as well.
type mirror struct {
	w        IndexWriter
	payAlias string

	mu  sync.RWMutex // held for writing while the aliases swap
	gen *Generation
}

func (m *mirror) set(g *Generation) {
	m.mu.Lock()
	m.gen = g
	m.mu.Unlock()
}

// Bulk writes ops to the aliases and, at the same time, to the generation
// being built; an op's result is the worse of the two.
func (m *mirror) Bulk(ctx context.Context, ops []IndexOp) ([]ItemResult, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.gen == nil {
		return m.w.Bulk(ctx, ops)
	}
	copied := make([]IndexOp, len(ops))
	for i, op := range ops {
		copied[i] = op
		copied[i].Index = m.gen.Customers
		if op.Index == m.payAlias {
			copied[i].Index = m.gen.Payments
		}
	}
	var res2 []ItemResult
	var err2 error
	done := make(chan struct{})
	go func() {
		defer close(done)
		res2, err2 = m.w.BulkDirect(ctx, copied)
	}()
	res, err := m.w.Bulk(ctx, ops)
	<-done
	if err == nil {
		err = err2
	}
	if err != nil {
		return nil, err
	}
	for i := range res {
		if i < len(res2) && severity(res2[i].Status) > severity(res[i].Status) {
			res[i] = res2[i]
		}
	}
	return res, nil
}

// severity orders item outcomes: the worse one decides.
func severity(s ItemStatus) int {
	switch s {
	case ItemApplied:
		return 0
	case ItemConflict:
		return 1
	case ItemRetry:
		return 2
	case ItemFailed:
		return 3
	default:
		return 4
	}
}

func (m *mirror) Refresh(ctx context.Context, aliases []string) error {
	return m.w.Refresh(ctx, aliases)
}
func (m *mirror) PublishState(ctx context.Context, st StateDoc) error {
	return m.w.PublishState(ctx, st)
}

// rebuilds is what the loop needs to rebuild beside the stream.
type rebuilds struct {
	mirror   *mirror
	backfill Backfill // the slot's current record
	want     string   // why to rebuild at once ("": not now)
}

// rebuild is one rebuild beside the stream.
type rebuild struct {
	reason string
	gen    Generation
	from   uint64
	start  time.Time
	done   chan struct{}
	docs   int64
	err    error
}

// startRebuild creates the generation, turns the mirror on and starts the
// copy. It runs in the loop, between plans.
func (l *loop) startRebuild(ctx context.Context, reason string) error {
	p := l.p
	from := max(l.applied, l.unpublished) // the end of the last plan written
	gen, err := l.mirror.w.NewGeneration(ctx, fmt.Sprintf("%016x", from))
	if err != nil {
		return err
	}
	l.mirror.set(&gen)
	rb := &rebuild{reason: reason, gen: gen, from: from, start: time.Now(), done: make(chan struct{})}
	l.rb = rb
	p.setRebuild("copying")
	p.logger.Info("rebuilding the read model beside the stream", "reason", reason, "from", domain.FormatLSN(from),
		"payments_index", gen.Payments, "customers_index", gen.Customers)
	go func() {
		defer close(rb.done)
		snap, err := p.store.OpenSnapshot(ctx, "")
		if err != nil {
			rb.err = err
			return
		}
		defer snap.Close()
		rb.docs, rb.err = p.copy(ctx, snap, l.mirror.w, gen, from, rb.start, p.cfg.RebuildWorkers, p.yieldToStream)
	}()
	return nil
}

// yieldToStream paces a rebuild's copy: before each batch it waits while
// the stream lags more than half a second (the copy competes with it for
// the engine, PostgreSQL and the CPU), at most 10 s per batch, so that the
// rebuild still progresses under a load the stream cannot keep up with.
func (p *Projector) yieldToStream(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second)
	for p.lagSeconds() > 0.5 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// finishRebuild swaps the aliases once the copy is done; it runs in the
// loop at a publish, when every bulk written so far is refreshed. A failed
// copy is logged and abandoned: the current generation stays.
func (l *loop) finishRebuild(ctx context.Context) error {
	rb := l.rb
	select {
	case <-rb.done:
	default:
		return nil
	}
	p := l.p
	if rb.err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		l.mirror.set(nil)
		l.rb = nil
		p.setRebuild("")
		p.logger.Error("rebuild beside the stream failed; the current read model stays", "reason", rb.reason, "error", rb.err.Error())
		return nil
	}
	w := l.mirror.w
	if err := w.Settle(ctx, rb.gen); err != nil {
		return err
	}
	// Every bulk of the stream is drained; the fan-out's wait for the swap,
	// and what they mirrored since the first Settle is refreshed with it.
	l.mirror.mu.Lock()
	err := w.Settle(ctx, rb.gen)
	if err == nil {
		err = w.Swap(ctx, rb.gen)
	}
	if err == nil {
		l.mirror.gen = nil
	}
	l.mirror.mu.Unlock()
	if err != nil {
		return err
	}
	l.rb = nil
	p.setRebuild("")
	p.m.rebuilds.Inc()
	bf := l.backfill
	bf.ConsistentLSN, bf.PaymentsIndex, bf.CustomersIndex, bf.Documents = rb.from, rb.gen.Payments, rb.gen.Customers, rb.docs
	if err := p.store.PutBackfill(ctx, bf); err != nil {
		return err
	}
	l.backfill = bf
	p.logger.Info("rebuild complete: aliases swapped", "reason", rb.reason, "documents", rb.docs,
		"seconds", time.Since(rb.start).Seconds(), "payments_index", rb.gen.Payments)
	go p.mergeGeneration(ctx, w, rb.gen.Payments)
	return nil
}
