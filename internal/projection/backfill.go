package projection

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"

	"golang.org/x/sync/errgroup"
)

// backfill rebuilds the read model: it forgets the previous backfill,
// (re)creates the slot with an exported snapshot, copies customers and
// payments as of the slot's consistent point into a new generation of
// indices (version one below the consistent point, SnapshotVersion:
// a transaction can commit right at it), swaps the aliases to it, records
// the backfill and starts streaming from the consistent point. Changes
// committed during the copy are streamed afterwards, so each appears once.
func (p *Projector) backfill(ctx context.Context) (Stream, error) {
	p.setRole(RoleBackfilling)
	start := time.Now()
	conn, slot, err := p.newSlot(ctx)
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			conn.Close()
		}
	}()
	w, err := p.writer(ctx, "backfill")
	if err != nil {
		return nil, err
	}
	bf, err := p.fill(ctx, w, slot, start)
	if err != nil {
		return nil, err
	}
	cp := slot.ConsistentPoint
	a := p.applier(w, p.store, p.cfg.BackfillBatch)
	if err := a.Publish(ctx, StateDoc{AppliedLSN: cp, LSN: domain.FormatLSN(cp), CommitTime: start.UTC(), UpdatedAt: time.Now().UTC()}); err != nil {
		return nil, err
	}
	if err := p.store.PutBackfill(ctx, bf); err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	p.logger.Info("backfill complete", "documents", bf.Documents, "seconds", elapsed.Seconds(),
		"docs_per_second", float64(bf.Documents)/elapsed.Seconds(), "payments_index", bf.PaymentsIndex, "customers_index", bf.CustomersIndex)
	go p.mergeGeneration(ctx, w, bf.PaymentsIndex)
	stream, err := conn.Start(ctx, StreamOptions{
		Slot: p.cfg.Slot, Publication: p.cfg.Publication, Confirmed: cp, Fingerprint: bf.Fingerprint, StatusInterval: p.cfg.StatusInterval,
		ChunkChanges: p.cfg.BulkDocs, Budget: NewBudget(p.cfg.QueueChanges),
	})
	if err != nil {
		return nil, err
	}
	started = true
	p.applied.Store(cp)
	p.m.appliedLSN.Set(float64(cp))
	return stream, nil
}

// newSlot forgets the slot's backfill record and (re)creates the slot; the
// returned connection must stay idle until its snapshot is imported.
func (p *Projector) newSlot(ctx context.Context) (ReplicationConn, NewSlot, error) {
	if err := p.store.DeleteBackfill(ctx, p.cfg.Slot); err != nil {
		return nil, NewSlot{}, err
	}
	if err := p.store.TerminateSlotHolder(ctx, p.cfg.Slot); err != nil {
		return nil, NewSlot{}, err
	}
	conn, err := p.repl.Connect(ctx)
	if err != nil {
		return nil, NewSlot{}, err
	}
	if err := conn.DropSlot(ctx, p.cfg.Slot); err != nil {
		conn.Close()
		return nil, NewSlot{}, err
	}
	slot, err := conn.CreateSlot(ctx, p.cfg.Slot)
	if err != nil {
		conn.Close()
		return nil, NewSlot{}, err
	}
	p.logger.Info("slot created", "slot", slot.Name, "consistent_point", domain.FormatLSN(slot.ConsistentPoint), "snapshot", slot.Snapshot)
	return conn, slot, nil
}

// fill copies the slot's snapshot into a new generation of indices and
// makes it the read model; it returns the backfill's record.
func (p *Projector) fill(ctx context.Context, w IndexWriter, slot NewSlot, start time.Time) (Backfill, error) {
	cp := slot.ConsistentPoint
	snap, err := p.store.OpenSnapshot(ctx, slot.Snapshot)
	if err != nil {
		return Backfill{}, err
	}
	defer snap.Close()
	fp, err := snap.Fingerprint(ctx, p.cfg.Publication)
	if err != nil {
		return Backfill{}, err
	}
	gen, err := w.NewGeneration(ctx, fmt.Sprintf("%016x", cp))
	if err != nil {
		return Backfill{}, err
	}
	n, err := p.copy(ctx, snap, w, gen, cp, start, p.cfg.BackfillWorkers, nil)
	if err != nil {
		return Backfill{}, err
	}
	snap.Close()
	if err := w.EnsureStateIndex(ctx); err != nil {
		return Backfill{}, err
	}
	if err := w.Activate(ctx, gen); err != nil {
		return Backfill{}, err
	}
	return Backfill{Slot: p.cfg.Slot, IndexPrefix: p.cfg.IndexPrefix, ConsistentLSN: cp,
		PaymentsIndex: gen.Payments, CustomersIndex: gen.Customers, Fingerprint: fp, Documents: n}, nil
}

// copyJob builds one batch of a backfill's documents.
type copyJob func() ([]IndexOp, []DeadLetter)

// copy reads the snapshot in id-keyed chunks and bulk-writes them with
// workers concurrent requests, version SnapshotVersion(cp); pace, when
// set, is called before each chunk is read. It returns the documents
// copied.
func (p *Projector) copy(ctx context.Context, snap Snapshot, w IndexWriter, gen Generation, cp uint64, start time.Time, workers int, pace func(context.Context) error) (int64, error) {
	jobs := make(chan copyJob, workers)
	aliases := map[string]string{gen.Payments: PaymentsAlias(p.cfg.IndexPrefix), gen.Customers: CustomersAlias(p.cfg.IndexPrefix)}
	a := p.applier(direct{w}, p.store, p.cfg.BackfillBatch)
	var copied atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	for range workers {
		g.Go(func() error {
			for j := range jobs {
				n, err := p.copyBatch(ctx, a, j, aliases)
				if err != nil {
					return err
				}
				total := copied.Add(int64(n))
				p.m.backfillDocs.Add(float64(n))
				p.m.backfillRate.Set(float64(total) / time.Since(start).Seconds())
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(jobs)
		send := func(j copyJob) error {
			if pace != nil {
				if err := pace(ctx); err != nil {
					return err
				}
			}
			select {
			case jobs <- j:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		version := SnapshotVersion(cp)
		if err := produce(ctx, snap.Customers, p.cfg.BackfillBatch, gen.Customers, version, send); err != nil {
			return err
		}
		return produce(ctx, snap.Payments, p.cfg.BackfillBatch, gen.Payments, version, send)
	})
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return copied.Load(), nil
}

// copyBatch builds and writes one batch; rows that cannot become documents
// are dead-lettered under their alias. It returns the documents handled.
func (p *Projector) copyBatch(ctx context.Context, a *Applier, j copyJob, aliases map[string]string) (int, error) {
	ops, dead := j()
	for i := range dead {
		dead[i].Index = aliases[dead[i].Index]
	}
	if len(dead) > 0 {
		if err := p.store.AddDeadLetters(ctx, dead); err != nil {
			return 0, err
		}
		p.m.deadLetters.Add(float64(len(dead)))
	}
	if _, err := a.Write(ctx, ops); err != nil {
		return 0, err
	}
	return len(ops) + len(dead), nil
}

// produce reads one table of a snapshot in id order, batch rows at a time,
// and sends a job per batch that builds its documents for index.
func produce[T any](ctx context.Context, read func(context.Context, string, int) ([]Loaded[T], error), batch int, index string, version uint64, send func(copyJob) error) error {
	after := ""
	for {
		docs, err := read(ctx, after, batch)
		if err != nil || len(docs) == 0 {
			return err
		}
		after = docs[len(docs)-1].ID
		if err := send(func() ([]IndexOp, []DeadLetter) { return build(index, docs, version) }); err != nil {
			return err
		}
	}
}

func build[T any](index string, docs []Loaded[T], version uint64) ([]IndexOp, []DeadLetter) {
	ids := make([]string, len(docs))
	versions := make(map[string]uint64, len(docs))
	for i, d := range docs {
		ids[i], versions[d.ID] = d.ID, version
	}
	return BuildOps(index, ids, versions, docs)
}

// direct writes a backfill to concrete indices that are not behind the
// aliases yet.
type direct struct{ w IndexWriter }

func (d direct) Bulk(ctx context.Context, ops []IndexOp) ([]ItemResult, error) {
	return d.w.BulkDirect(ctx, ops)
}
func (d direct) Refresh(context.Context, []string) error { return nil }
func (d direct) PublishState(ctx context.Context, st StateDoc) error {
	return d.w.PublishState(ctx, st)
}

var _ Index = direct{}

// mergeGeneration merges a freshly backfilled payments index down to one
// segment per 2 GiB (mergeTarget, as compaction does), in the background
// while the stream resumes. A bulk load leaves a dozen or more segments,
// and a sorted, filtered search pays for each: merged, the same searches
// ran about twice as fast (measured on 1 M payments). Later writes add
// small segments as usual. A failed merge costs only speed, so it is
// logged, not retried.
func (p *Projector) mergeGeneration(ctx context.Context, w IndexWriter, index string) {
	start := time.Now()
	seg, err := w.Segments(ctx, index)
	if err == nil {
		err = w.ForceMerge(ctx, index, mergeTarget(seg))
	}
	if err != nil {
		if ctx.Err() == nil {
			p.logger.Warn("merging the backfilled index failed; searches stay correct, only slower", "index", index, "error", err.Error())
		}
		return
	}
	p.m.merges.Inc()
	p.logger.Info("backfilled index merged", "index", index, "seconds", time.Since(start).Seconds())
}
