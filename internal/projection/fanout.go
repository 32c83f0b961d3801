package projection

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// Reprojection is what is left of a parent's re-projection after the part
// written with the stream: every payment of Parent with id > After is
// written with Version, by reads that see every transaction of Xids.
type Reprojection struct {
	Parent  Parent
	Version uint64 // the rename's commit LSN
	After   string // the last payment id written so far
	Xids    []uint32
}

// fanout re-projects the payments of renamed parents beside the stream: a
// customer with a million payments no longer holds every other change back
// while they are rewritten.
//
// Ordering is the external versions' business: each document is written
// with the rename's commit LSN, so a newer change of the same payment (its
// own, streamed meanwhile, with a higher LSN and content read later) wins
// whichever bulk lands first, and a later rename of the same parent
// supersedes the job (it rewrites every payment anyway).
//
// Durability is the acknowledgement's: while a job is unfinished, the slot
// is not acknowledged past the position acknowledged before the rename's
// plan (the job's floor). A crash then replays the rename, which starts the
// job again; the positions published to readers move on meanwhile.
type fanout struct {
	a        *Applier // its own: its refreshes must not take the stream's pending ones
	acker    interface{ Ack(lsn uint64) }
	sem      chan struct{}
	interval time.Duration // refresh at most this often while writing
	logger   *slog.Logger
	docs     prometheus.Counter

	mu          sync.Mutex
	jobs        map[Parent]*fanoutJob
	want        uint64 // the position the stream would acknowledge
	lastRefresh time.Time
	failed      chan error
	wg          sync.WaitGroup
}

type fanoutJob struct {
	Reprojection
	floor  uint64
	since  time.Time
	cancel context.CancelFunc
}

func newFanout(a *Applier, acker interface{ Ack(uint64) }, workers int, interval time.Duration, logger *slog.Logger, docs prometheus.Counter) *fanout {
	return &fanout{a: a, acker: acker, sem: make(chan struct{}, max(1, workers)), interval: interval, logger: logger,
		docs: docs, jobs: map[Parent]*fanoutJob{}, failed: make(chan error, 1)}
}

// submit starts r beside the stream. floor is the position acknowledged
// before the plan that carried the rename.
func (f *fanout) submit(ctx context.Context, r Reprojection, floor uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.jobs[r.Parent]; ok {
		if old.Version >= r.Version {
			return
		}
		// The newer rename rewrites every payment of the parent: the older
		// job is superseded (its writes lose to the newer version anyway).
		old.cancel()
	}
	jctx, cancel := context.WithCancel(ctx)
	job := &fanoutJob{Reprojection: r, floor: floor, since: time.Now(), cancel: cancel}
	f.jobs[r.Parent] = job
	f.wg.Add(1)
	go f.run(jctx, job)
}

// run writes job's payments a batch at a time, with at most cap(sem) jobs
// running at once.
func (f *fanout) run(ctx context.Context, job *fanoutJob) {
	defer f.wg.Done()
	defer job.cancel()
	select {
	case f.sem <- struct{}{}:
		defer func() { <-f.sem }()
	case <-ctx.Done():
		return
	}
	after, written := job.After, 0
	for {
		st, next, more, err := f.a.reproject(ctx, job.Xids, job.Parent, job.Version, after, 1)
		written += st.Indexed + st.Deleted + st.Conflicts
		f.docs.Add(float64(st.Indexed + st.Deleted))
		if err == nil && (!more || f.refreshDue()) {
			err = f.a.RefreshWritten(ctx)
		}
		if err != nil {
			if ctx.Err() == nil {
				select {
				case f.failed <- err:
				default:
				}
			}
			return
		}
		if !more {
			break
		}
		after = next
	}
	f.logger.Info("parent re-projected beside the stream", "table", string(job.Parent.Table), "id", job.Parent.ID,
		"lsn", domain.FormatLSN(job.Version), "docs", written, "ms", time.Since(job.since).Milliseconds())
	f.finish(job)
}

func (f *fanout) refreshDue() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.lastRefresh) < f.interval {
		return false
	}
	f.lastRefresh = time.Now()
	return true
}

// finish forgets a completed job and lets the acknowledgement move on.
func (f *fanout) finish(job *fanoutJob) {
	f.mu.Lock()
	if f.jobs[job.Parent] == job {
		delete(f.jobs, job.Parent)
	}
	pos := f.ackable()
	f.mu.Unlock()
	f.acker.Ack(pos)
}

// ack acknowledges pos, or the floor of the oldest unfinished job when that
// is lower.
func (f *fanout) ack(pos uint64) {
	f.mu.Lock()
	f.want = max(f.want, pos)
	a := f.ackable()
	f.mu.Unlock()
	f.acker.Ack(a)
}

func (f *fanout) ackable() uint64 {
	a := f.want
	for _, j := range f.jobs {
		a = min(a, j.floor)
	}
	return a
}

// pending returns the number of unfinished jobs and the start of the oldest.
func (f *fanout) pending() (int, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var oldest time.Time
	for _, j := range f.jobs {
		if oldest.IsZero() || j.since.Before(oldest) {
			oldest = j.since
		}
	}
	return len(f.jobs), oldest
}

// wait returns the first job failure (the session then restarts, and the
// held acknowledgement replays the renames), or nil once ctx ends; either
// way every job has stopped when it returns.
func (f *fanout) wait(ctx context.Context) error {
	var err error
	select {
	case err = <-f.failed:
	case <-ctx.Done():
	}
	f.mu.Lock()
	for _, j := range f.jobs {
		j.cancel()
	}
	f.mu.Unlock()
	f.wg.Wait()
	return err
}

// registerFanoutMetrics registers the fan-out's series and returns its
// document counter.
func registerFanoutMetrics(reg prometheus.Registerer, p *Projector) prometheus.Counter {
	docs := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "projector_fanout_documents_total",
		Help: "Payment documents of renamed customers and users written beside the stream.",
	})
	state := func(age bool) float64 {
		p.mu.Lock()
		f := p.fan
		p.mu.Unlock()
		if f == nil {
			return 0
		}
		n, oldest := f.pending()
		if !age {
			return float64(n)
		}
		if oldest.IsZero() {
			return 0
		}
		return time.Since(oldest).Seconds()
	}
	reg.MustRegister(docs,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "projector_fanout_pending",
			Help: "Renamed customers and users whose payments are still being re-projected beside the stream.",
		}, func() float64 { return state(false) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "projector_fanout_oldest_seconds",
			Help: "Age of the oldest unfinished fan-out (0 when none); the slot is not acknowledged past its rename meanwhile.",
		}, func() float64 { return state(true) }),
	)
	return docs
}
