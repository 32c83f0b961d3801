// The projector daemon: it holds the leader lock, backfills the read model
// from a consistent snapshot when needed, then streams the write model's
// logical replication into the search engine and acknowledges only what is
// indexed and searchable.

package projection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

// Config tunes the projector. DefaultConfig has the values used when
// nothing is set; the env tags name the variables cmd/projector reads them
// from (docs/projector.md, *Configuration*).
type Config struct {
	IndexPrefix string `env:"INDEX_PREFIX"`
	Slot        string `env:"REPLICATION_SLOT"`
	Publication string `env:"PUBLICATION"`

	BulkDocs      int           `env:"PROJECTOR_BULK_DOCS"`      // streaming: flush at this many documents
	FlushInterval time.Duration `env:"PROJECTOR_FLUSH_INTERVAL"` // streaming: or this long after the first change
	// BacklogRefresh is how often, at most, a projector working through a
	// backlog refreshes and publishes: the plans in between are written
	// back to back (loop.go). Without a backlog every plan is refreshed
	// and published at once.
	BacklogRefresh  time.Duration `env:"PROJECTOR_BACKLOG_REFRESH"`
	BackfillBatch   int           `env:"PROJECTOR_BACKFILL_BATCH"`   // backfill: documents per read and bulk
	BackfillWorkers int           `env:"PROJECTOR_BACKFILL_WORKERS"` // backfill: concurrent bulk requests
	ReprojectBatch  int           `env:"PROJECTOR_REPROJECT_BATCH"`  // payments per batch when a parent is renamed
	// FanoutInline is how many batches of a renamed parent's payments are
	// written with the rename itself; the rest are written beside the
	// stream (fanout.go) by at most FanoutWorkers parents at a time.
	FanoutInline  int `env:"PROJECTOR_FANOUT_INLINE"`
	FanoutWorkers int `env:"PROJECTOR_FANOUT_WORKERS"`
	// InflightBulks is how many of the stream's bulk requests may run at
	// once (lane.go): the next plan is read while earlier ones are indexed.
	InflightBulks int `env:"PROJECTOR_INFLIGHT_BULKS"`
	// RebuildWorkers is how many bulk requests a rebuild beside the stream
	// (rebuild.go) copies with at once; the stream keeps the rest.
	RebuildWorkers int           `env:"PROJECTOR_REBUILD_WORKERS"`
	RefreshWaitFor bool          // refresh=wait_for on bulks instead of an explicit refresh (cmd/projector: PROJECTOR_REFRESH)
	ItemAttempts   int           `env:"PROJECTOR_ITEM_ATTEMPTS"`   // attempts before a rejected document is dead-lettered
	MinBackoff     time.Duration `env:"PROJECTOR_MIN_BACKOFF"`     // first retry wait
	MaxBackoff     time.Duration `env:"PROJECTOR_MAX_BACKOFF"`     // longest retry wait
	RequestTimeout time.Duration `env:"PROJECTOR_REQUEST_TIMEOUT"` // bounds each search-engine write
	StandbyPoll    time.Duration `env:"PROJECTOR_STANDBY_POLL"`    // how often a standby tries to take over
	StatusInterval time.Duration `env:"PROJECTOR_STATUS_INTERVAL"` // periodic standby status updates to PostgreSQL
	QueueTxs       int           `env:"PROJECTOR_QUEUE_TXS"`       // decoded transactions buffered ahead of the indexer
	// QueueChanges bounds the decoded row changes buffered ahead of the
	// indexer; large transactions arrive in chunks of BulkDocs.
	QueueChanges int `env:"PROJECTOR_QUEUE_CHANGES"`
	// CompactAfter is how long writes must stay quiet before the payments
	// index is compacted (compact.go); zero disables compaction.
	CompactAfter time.Duration `env:"PROJECTOR_COMPACT_AFTER"`
	// CompactSegments is the most segments the payments index may keep
	// before it is compacted.
	CompactSegments int `env:"PROJECTOR_COMPACT_SEGMENTS"`
	// ReconcileConfig tunes the reconciler (reconcile.go).
	ReconcileConfig
}

// DefaultConfig is the configuration when nothing is set: the one home of
// the projector's defaults.
func DefaultConfig() Config {
	return Config{
		Slot:            "wildcat_projector",
		Publication:     "wildcat_projection",
		BulkDocs:        1000,
		FlushInterval:   100 * time.Millisecond,
		BacklogRefresh:  250 * time.Millisecond,
		BackfillBatch:   5000,
		BackfillWorkers: 3,
		ReprojectBatch:  1000,
		FanoutInline:    1,
		FanoutWorkers:   2,
		InflightBulks:   3,
		RebuildWorkers:  1,
		ItemAttempts:    3,
		MinBackoff:      100 * time.Millisecond,
		MaxBackoff:      5 * time.Second,
		RequestTimeout:  time.Minute,
		StandbyPoll:     time.Second,
		StatusInterval:  10 * time.Second,
		QueueTxs:        4096,
		QueueChanges:    20000,
		CompactAfter:    30 * time.Second,
		CompactSegments: 5,
		ReconcileConfig: DefaultReconcileConfig(),
	}
}

// defaults fills the zero sizes and durations from DefaultConfig
// (CompactAfter excepted: zero turns compaction off).
func (c *Config) defaults() {
	d := DefaultConfig()
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.BulkDocs, d.BulkDocs)
	def(&c.BackfillBatch, d.BackfillBatch)
	def(&c.BackfillWorkers, d.BackfillWorkers)
	def(&c.ReprojectBatch, d.ReprojectBatch)
	def(&c.FanoutInline, d.FanoutInline)
	def(&c.FanoutWorkers, d.FanoutWorkers)
	def(&c.InflightBulks, d.InflightBulks)
	def(&c.RebuildWorkers, d.RebuildWorkers)
	def(&c.ItemAttempts, d.ItemAttempts)
	def(&c.QueueTxs, d.QueueTxs)
	def(&c.QueueChanges, d.QueueChanges)
	def(&c.CompactSegments, d.CompactSegments)
	defD(&c.FlushInterval, d.FlushInterval)
	defD(&c.BacklogRefresh, d.BacklogRefresh)
	defD(&c.MinBackoff, d.MinBackoff)
	defD(&c.MaxBackoff, d.MaxBackoff)
	defD(&c.RequestTimeout, d.RequestTimeout)
	defD(&c.StandbyPoll, d.StandbyPoll)
	defD(&c.StatusInterval, d.StatusInterval)
}

// Deps are the projector's adapters (ports.go).
type Deps struct {
	Replication Replication
	State       StateStore
	Source      Source
	Engine      Engine
}

// Roles of an instance.
const (
	RoleStarting    = "starting"    // connecting, or reconnecting after a failure
	RoleWaiting     = "waiting"     // the publication or the projector's tables do not exist yet
	RoleStandby     = "standby"     // another instance holds the leader lock
	RoleBackfilling = "backfilling" // leader, copying a snapshot
	RoleActive      = "active"      // leader, streaming
)

var roles = []string{RoleStarting, RoleWaiting, RoleStandby, RoleBackfilling, RoleActive}

// Projector is one projector instance. Create it with New, then call Run.
type Projector struct {
	cfg    Config
	logger *slog.Logger
	m      *metrics
	repl   Replication
	store  StateStore
	source Source
	engine Engine

	mu       sync.Mutex
	role     string
	lastErr  string
	stream   Stream
	oldest   time.Time // commit time of the oldest change being applied
	resync   bool      // the next session must rebuild the read model
	slot     SlotState
	slotSeen bool
	applied  atomic.Uint64
	// written counts the documents written while streaming (compaction
	// waits for quiet writes).
	written    atomic.Uint64
	compaction string  // state of the compactor (compact.go)
	fan        *fanout // the active session's (nil otherwise)
	rebuild    string  // "copying" while a rebuild runs beside the stream
	// current is the slot's backfill record the session streams for, and
	// pendingRebuild why it must be rebuilt beside the stream ("": no).
	current        Backfill
	pendingRebuild string
	fanDocs        prometheus.Counter
}

// New prepares a projector; it does not connect yet (Run does, and keeps
// retrying).
func New(cfg Config, deps Deps, logger *slog.Logger, reg prometheus.Registerer) *Projector {
	cfg.defaults()
	p := &Projector{cfg: cfg, logger: logger, repl: deps.Replication, store: deps.State, source: deps.Source, engine: deps.Engine, role: RoleStarting}
	p.m = newMetrics(reg, p)
	p.fanDocs = registerFanoutMetrics(reg, p)
	p.setRole(RoleStarting)
	return p
}

func (p *Projector) setRebuild(state string) {
	p.mu.Lock()
	p.rebuild = state
	p.mu.Unlock()
	v := 0.0
	if state != "" {
		v = 1
	}
	p.m.rebuilding.Set(v)
}

func (p *Projector) setRole(role string) {
	p.mu.Lock()
	p.role = role
	p.mu.Unlock()
	for _, r := range roles {
		v := 0.0
		if r == role {
			v = 1
		}
		p.m.role.WithLabelValues(r).Set(v)
	}
}

// Status is what /readyz reports.
type Status struct {
	Role       string `json:"role"`
	AppliedLSN string `json:"applied_lsn,omitempty"`
	LastError  string `json:"last_error,omitempty"`
	// Compaction is CompactionPending or CompactionMerging while the
	// payments index has more segments than wanted; empty otherwise.
	Compaction string `json:"compaction,omitempty"`
	// Rebuild is "copying" while a new generation is built beside the
	// stream (rebuild.go).
	Rebuild string `json:"rebuild,omitempty"`
}

// Status returns the instance's role and position.
func (p *Projector) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Status{Role: p.role, LastError: p.lastErr, Compaction: p.compaction, Rebuild: p.rebuild}
	if a := p.applied.Load(); a > 0 {
		st.AppliedLSN = domain.FormatLSN(a)
	}
	return st
}

// Ping checks PostgreSQL and, once connected, the search engine's health
// of the read model's own indices.
func (p *Projector) Ping(ctx context.Context) error {
	if err := p.store.Ping(ctx); err != nil {
		return err
	}
	return p.engine.Health(ctx, PaymentsAlias(p.cfg.IndexPrefix), CustomersAlias(p.cfg.IndexPrefix))
}

func (p *Projector) lagSeconds() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oldest.IsZero() {
		return 0
	}
	return max(0, time.Since(p.oldest).Seconds())
}

func (p *Projector) lagBytes() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stream != nil {
		end, acked := p.stream.ServerWALEnd(), p.stream.Acked()
		if end > acked {
			return float64(end - acked)
		}
		return 0
	}
	if p.slotSeen && p.slot.Exists && p.slot.CurrentWAL > p.slot.Confirmed {
		return float64(p.slot.CurrentWAL - p.slot.Confirmed)
	}
	return 0
}

// Run runs the projector until ctx ends: wait for the schema, wait to lead,
// backfill if needed, stream; after any failure it starts over with
// backoff. It returns nil when ctx ends.
func (p *Projector) Run(ctx context.Context) error {
	go p.pollSlot(ctx)
	wait := p.cfg.MinBackoff
	for {
		start := time.Now()
		err := p.session(ctx)
		if ctx.Err() != nil {
			p.setRole(RoleStarting)
			return nil
		}
		if errors.Is(err, ErrResync) {
			p.logger.Warn("rebuilding the read model", "reason", err.Error())
			p.mu.Lock()
			p.resync = true
			p.mu.Unlock()
			p.m.resyncs.Inc()
			continue
		}
		p.mu.Lock()
		if err != nil {
			p.lastErr = err.Error()
		}
		p.mu.Unlock()
		p.setRole(RoleStarting)
		if time.Since(start) > time.Minute {
			wait = p.cfg.MinBackoff
		}
		p.logger.Error("projector session ended, restarting", "error", fmt.Sprint(err), "retry_in_ms", wait.Milliseconds())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, p.cfg.MaxBackoff)
	}
}

// pollSlot refreshes the slot gauges every few seconds, in every role: the
// WAL a dead projector's slot retains matters most when nobody streams.
func (p *Projector) pollSlot(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		st, err := p.store.Slot(qctx, p.cfg.Slot)
		cancel()
		if err == nil {
			p.mu.Lock()
			p.slot, p.slotSeen = st, true
			p.mu.Unlock()
			p.m.retainedWAL.Set(float64(st.RetainedWAL))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// writer returns an index writer for phase ("stream" or "backfill"): its
// bulks are timed under that label, and only streaming bulks may wait for
// a refresh.
func (p *Projector) writer(ctx context.Context, phase string) (IndexWriter, error) {
	h := p.m.bulk.WithLabelValues(phase)
	return p.engine.Writer(ctx, WriterOptions{WaitFor: p.cfg.RefreshWaitFor && phase == "stream",
		ObserveBulk: func(d time.Duration, _ int) { h.Observe(d.Seconds()) }})
}

func (p *Projector) applier(idx Index, dl DeadLetters, batch int) *Applier {
	return &Applier{
		Source:         p.source,
		Index:          idx,
		DeadLetters:    dl,
		Prefix:         p.cfg.IndexPrefix,
		Logger:         p.logger,
		BatchSize:      batch,
		ItemAttempts:   p.cfg.ItemAttempts,
		MinBackoff:     p.cfg.MinBackoff,
		MaxBackoff:     p.cfg.MaxBackoff,
		RequestTimeout: p.cfg.RequestTimeout,
		OnRetry:        p.m.retries.Inc,
	}
}

func (p *Projector) session(ctx context.Context) error {
	p.setRole(RoleStarting)
	w, err := p.writer(ctx, "stream")
	if err != nil {
		return err
	}
	if err := p.store.Ready(ctx, p.cfg.Publication); err != nil {
		p.setRole(RoleWaiting)
		return err
	}

	leader, err := p.lead(ctx)
	if err != nil || leader == nil {
		return err
	}
	defer leader.Release()
	ctx, stop := watchLeader(ctx, leader)
	defer stop()

	stream, err := p.open(ctx, w)
	if err != nil {
		if c := context.Cause(ctx); c != nil && ctx.Err() != nil && !errors.Is(c, context.Canceled) {
			return c
		}
		return err
	}
	p.mu.Lock()
	p.stream, p.lastErr, p.resync = stream, "", false
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.stream, p.oldest = nil, time.Time{}
		p.mu.Unlock()
	}()
	p.setRole(RoleActive)
	p.logger.Info("streaming", "slot", p.cfg.Slot, "from", domain.FormatLSN(stream.Acked()))

	return p.streamFrom(ctx, w, stream)
}

// streamFrom runs the active side of a session: the stream, the apply
// loop, the fan-out of renamed parents and the maintenance (compaction,
// reconciliation), until one of them fails or ctx ends.
func (p *Projector) streamFrom(ctx context.Context, w IndexWriter, stream Stream) error {
	txs := make(chan Tx, p.cfg.QueueTxs)
	g, gctx := errgroup.WithContext(ctx)
	m := &mirror{w: w, payAlias: PaymentsAlias(p.cfg.IndexPrefix)}
	p.mu.Lock()
	rs := &rebuilds{mirror: m, backfill: p.current, want: p.pendingRebuild}
	p.mu.Unlock()
	defer p.setRebuild("")
	fan := newFanout(p.applier(m, p.store, p.cfg.ReprojectBatch), stream, p.cfg.FanoutWorkers, time.Second, p.logger, p.fanDocs)
	p.mu.Lock()
	p.fan = fan
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.fan = nil
		p.mu.Unlock()
	}()
	a := p.applier(m, p.store, p.cfg.ReprojectBatch)
	a.InlineReprojectBatches = p.cfg.FanoutInline
	a.InflightBulks = p.cfg.InflightBulks
	g.Go(func() error { return stream.Run(gctx, txs) })
	g.Go(func() error { return p.apply(gctx, stream, txs, a, fan, rs) })
	g.Go(func() error { return fan.wait(gctx) })
	g.Go(func() error { p.maintain(gctx, w); return nil })
	err := g.Wait()
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		return c
	}
	return err
}

// watchLeader checks the leader's session every second and cancels the
// returned context, with the check's error as cause, once it is gone:
// losing the lock must stop streaming at once. stop ends the checker and
// waits for it, since it shares the leader's session, which is not safe
// for concurrent use: it must have stopped before the session is released.
func watchLeader(ctx context.Context, leader Leader) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := leader.Check(ctx); err != nil {
					cancel(err)
					return
				}
			}
		}
	}()
	return ctx, func() { cancel(nil); <-checked }
}

// lead takes the leader lock, waiting as a standby while another instance
// holds it (one session, polled every StandbyPoll). It returns (nil, nil)
// when ctx ends.
func (p *Projector) lead(ctx context.Context) (Leader, error) {
	l, err := p.store.Leader(ctx, p.cfg.Slot)
	if err != nil {
		return nil, err
	}
	for {
		ok, err := l.TryLock(ctx)
		if err != nil {
			l.Release()
			return nil, err
		}
		if ok {
			p.logger.Info("leader lock taken", "slot", p.cfg.Slot)
			return l, nil
		}
		if p.Status().Role != RoleStandby {
			p.logger.Info("another projector is active; waiting as standby", "slot", p.cfg.Slot)
		}
		p.setRole(RoleStandby)
		select {
		case <-ctx.Done():
			l.Release()
			return nil, nil
		case <-time.After(p.cfg.StandbyPoll):
		}
	}
}

// open returns a started stream: from the slot when its backfill is
// complete and the indices are there, else after a fresh backfill.
func (p *Projector) open(ctx context.Context, w IndexWriter) (Stream, error) {
	reason, bf, err := p.needsBackfill(ctx, w)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		p.logger.Info("backfill needed", "reason", reason)
		return p.backfill(ctx)
	}
	rebuild, err := p.relaxForRebuild(ctx, w, bf)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.current, p.pendingRebuild = bf, rebuild
	p.mu.Unlock()
	if err := w.EnsureStateIndex(ctx); err != nil {
		return nil, err
	}
	slot, err := p.store.Slot(ctx, p.cfg.Slot)
	if err != nil {
		return nil, err
	}
	if slot.Active {
		// We hold the lock, so this is the walsender of a projector that
		// died a moment ago; its session ends shortly.
		return nil, fmt.Errorf("projector: slot %s is still active (pid %d)", p.cfg.Slot, slot.ActivePID)
	}
	conn, err := p.repl.Connect(ctx)
	if err != nil {
		return nil, err
	}
	stream, err := conn.Start(ctx, StreamOptions{
		Slot: p.cfg.Slot, Publication: p.cfg.Publication, Confirmed: slot.Confirmed,
		Fingerprint: bf.Fingerprint, StatusInterval: p.cfg.StatusInterval,
		ChunkChanges: p.cfg.BulkDocs, Budget: NewBudget(p.cfg.QueueChanges),
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	p.applied.Store(slot.Confirmed)
	return stream, nil
}

func (p *Projector) needsBackfill(ctx context.Context, w IndexWriter) (string, Backfill, error) {
	p.mu.Lock()
	resync := p.resync
	p.mu.Unlock()
	if resync {
		return "resync requested", Backfill{}, nil
	}
	bf, err := p.store.GetBackfill(ctx, p.cfg.Slot)
	if errors.Is(err, ErrNoBackfill) {
		return "no completed backfill for the slot", bf, nil
	}
	if err != nil {
		return "", bf, err
	}
	if bf.IndexPrefix != p.cfg.IndexPrefix {
		return "index prefix changed", bf, nil
	}
	slot, err := p.store.Slot(ctx, p.cfg.Slot)
	if err != nil {
		return "", bf, err
	}
	if !slot.Exists {
		return "slot missing", bf, nil
	}
	if slot.Plugin != "pgoutput" {
		return fmt.Sprintf("slot uses plugin %q, not pgoutput", slot.Plugin), bf, nil
	}
	if slot.WALStatus == "lost" {
		return "slot lost its WAL (max_slot_wal_keep_size)", bf, nil
	}
	pay, cust, err := w.Current(ctx)
	if err != nil {
		return "", bf, err
	}
	if pay != bf.PaymentsIndex || cust != bf.CustomersIndex {
		return fmt.Sprintf("indices behind the aliases (%q, %q) are not the backfilled ones (%q, %q)", pay, cust, bf.PaymentsIndex, bf.CustomersIndex), bf, nil
	}
	// Another mapping version is rebuilt beside the stream (relaxForRebuild).
	return "", bf, nil
}

// relaxForRebuild returns why the read model must be rebuilt beside the
// stream: the backfilled indices have another mapping version. They keep
// serving and receiving changes meanwhile, so their strict mapping is
// relaxed to accept (and ignore) fields they do not know.
func (p *Projector) relaxForRebuild(ctx context.Context, w IndexWriter, bf Backfill) (string, error) {
	v := "_" + MappingVersion + "_"
	if strings.HasPrefix(bf.PaymentsIndex, PaymentsAlias(p.cfg.IndexPrefix)+v) &&
		strings.HasPrefix(bf.CustomersIndex, CustomersAlias(p.cfg.IndexPrefix)+v) {
		return "", nil
	}
	if err := w.Relax(ctx, bf.PaymentsIndex, bf.CustomersIndex); err != nil {
		return "", err
	}
	return fmt.Sprintf("the backfilled indices (%q, %q) have another mapping version than %s", bf.PaymentsIndex, bf.CustomersIndex, MappingVersion), nil
}
