package projection

import (
	"context"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"time"
)

// txStream is what apply needs of a Stream.
type txStream interface {
	Acked() uint64
	Ack(lsn uint64)
	Release(tx Tx)
	// Waiting counts transactions with changes read and not yet taken.
	Waiting() int
}

// apply turns the stream's transactions into plans, flushing at BulkDocs
// documents or FlushInterval after the first change, applies each plan,
// publishes the applied position once it is searchable, and only then
// acknowledges it to PostgreSQL.
func (p *Projector) apply(ctx context.Context, stream txStream, in <-chan Tx, a *Applier) error {
	planner := NewPlanner(p.cfg.IndexPrefix)
	applied := stream.Acked()
	var lastCommit time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		plan := NewPlan()
		// With a backlog the queued changes have waited while the previous
		// plan was applied: take what is there without waiting more.
		backlog := len(in) > 0
		select {
		case <-ctx.Done():
			return ctx.Err()
		case tx := <-in:
			planner.Add(plan, tx)
			stream.Release(tx)
		}
		if len(plan.Xids) > 0 && backlog { // transactions or chunks of one
			p.setOldest(plan.FirstCommitTime)
		drain:
			for plan.Docs() < p.cfg.BulkDocs && plan.Resync == "" {
				select {
				case tx := <-in:
					planner.Add(plan, tx)
					stream.Release(tx)
				default:
					break drain
				}
			}
		} else if len(plan.Xids) > 0 {
			p.setOldest(plan.FirstCommitTime)
			timer.Reset(p.cfg.FlushInterval)
		collect:
			for plan.Docs() < p.cfg.BulkDocs && plan.Resync == "" {
				select {
				case <-ctx.Done():
					timer.Stop()
					return ctx.Err()
				case tx := <-in:
					planner.Add(plan, tx)
					stream.Release(tx)
				case <-timer.C:
					break collect
				}
			}
			timer.Stop()
		}
		start := time.Now()
		st, err := a.Apply(ctx, plan)
		p.count(st)
		if err != nil {
			return err
		}
		if plan.LastEnd <= applied {
			p.settleLag(stream.Waiting(), plan.LastCommitTime)
			continue
		}
		applied = plan.LastEnd
		if !plan.LastCommitTime.IsZero() {
			lastCommit = plan.LastCommitTime
		}
		published := PublishedLSN(applied)
		doc := StateDoc{
			AppliedLSN: published, LSN: domain.FormatLSN(published), CommitTime: lastCommit, UpdatedAt: time.Now().UTC(),
		}
		if len(plan.Xids) == 0 {
			// A position without changes (keepalives, WAL outside the
			// publication) matters only while nothing waits. Changes that
			// queue behind it while its publish retries (the engine is down)
			// supersede it: take them, so the lag clock runs from them.
			var superseded bool
			superseded, err = p.publishUnlessQueued(ctx, a, doc, stream)
			if superseded {
				continue
			}
		} else {
			err = a.Publish(ctx, doc)
		}
		if err != nil {
			return err
		}
		// Only now is the plan visible to readers (published); while the
		// publish retries, lag keeps growing from the plan's first commit.
		p.settleLag(stream.Waiting(), plan.LastCommitTime)
		stream.Ack(applied)
		p.applied.Store(published)
		p.m.appliedLSN.Set(float64(published))
		p.m.txs.Add(float64(plan.Txs))
		if plan.Txs > 0 {
			p.logger.Debug("applied", "txs", plan.Txs, "docs", st.Indexed+st.Deleted, "conflicts", st.Conflicts,
				"lsn", domain.FormatLSN(applied), "ms", time.Since(start).Milliseconds())
		}
	}
}

// publishUnlessQueued publishes doc, giving up (superseded) as soon as
// changes wait in queue. Newer keepalive positions do not supersede it:
// with WAL moving elsewhere they can arrive faster than a publish takes.
func (p *Projector) publishUnlessQueued(ctx context.Context, a *Applier, doc StateDoc, queue txStream) (superseded bool, err error) {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-tick.C:
				if queue.Waiting() > 0 {
					cancel()
					return
				}
			}
		}
	}()
	err = a.Publish(pctx, doc)
	if err != nil && ctx.Err() == nil && pctx.Err() != nil {
		return true, nil
	}
	return false, err
}

// settleLag updates the lag clock after a plan is applied and published:
// 0 when no transaction with changes waits (queued keepalive positions do
// not count); otherwise the waiting transactions committed after the
// plan's last one.
func (p *Projector) settleLag(queued int, lastCommit time.Time) {
	if queued == 0 {
		p.setOldest(time.Time{})
	} else if !lastCommit.IsZero() {
		p.setOldest(lastCommit)
	}
}

func (p *Projector) setOldest(t time.Time) {
	p.mu.Lock()
	p.oldest = t
	p.mu.Unlock()
}

func (p *Projector) count(st Stats) {
	p.written.Add(uint64(st.Indexed + st.Deleted))
	p.m.docs.WithLabelValues("index").Add(float64(st.Indexed))
	p.m.docs.WithLabelValues("delete").Add(float64(st.Deleted))
	p.m.conflicts.Add(float64(st.Conflicts))
	p.m.deadLetters.Add(float64(st.DeadLettered))
}
