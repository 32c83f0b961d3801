// Package projector runs the projector daemon: it holds the leader lock,
// backfills the read model from a consistent snapshot when needed, then
// streams the write model's logical replication into the search engine and
// acknowledges only what is indexed and searchable. It wires the adapters
// (replication, indexer) to the pure logic of package projection.
package projector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/postgres/pgoutput"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/search"
)

// Config tunes the projector. Zero durations and sizes take the defaults
// noted.
type Config struct {
	DatabaseURL string
	SearchURL   string
	IndexPrefix string
	Slot        string
	Publication string

	BulkDocs        int           // streaming: flush at this many documents (1000)
	FlushInterval   time.Duration // streaming: or this long after the first change (50ms; the binary defaults to 100ms)
	BackfillBatch   int           // backfill: documents per read and bulk (5000)
	BackfillWorkers int           // backfill: concurrent bulk requests (3)
	ReprojectBatch  int           // payments per batch when a parent is renamed (1000)
	RefreshWaitFor  bool          // refresh=wait_for on bulks instead of an explicit refresh
	ItemAttempts    int           // attempts before a rejected document is dead-lettered (3)
	MinBackoff      time.Duration // first retry wait (100ms)
	MaxBackoff      time.Duration // longest retry wait (5s)
	RequestTimeout  time.Duration // bounds each search-engine write (60s)
	StandbyPoll     time.Duration // how often a standby tries to take over (1s)
	StatusInterval  time.Duration // periodic standby status updates to PostgreSQL (10s)
	QueueTxs        int           // decoded transactions buffered ahead of the indexer (4096)
	// QueueChanges bounds the decoded row changes buffered ahead of the
	// indexer (20000); large transactions arrive in chunks of BulkDocs.
	QueueChanges int
	// CompactAfter is how long writes must stay quiet before the payments
	// index is compacted (compact.go); zero disables compaction.
	CompactAfter time.Duration
	// CompactSegments is the most segments the payments index may keep
	// before it is compacted (5).
	CompactSegments int
}

func (c *Config) defaults() {
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
	def(&c.BulkDocs, 1000)
	def(&c.BackfillBatch, 5000)
	def(&c.BackfillWorkers, 3)
	def(&c.ReprojectBatch, 1000)
	def(&c.ItemAttempts, 3)
	def(&c.QueueTxs, 4096)
	def(&c.QueueChanges, 20000)
	def(&c.CompactSegments, 5)
	defD(&c.FlushInterval, 50*time.Millisecond)
	defD(&c.MinBackoff, 100*time.Millisecond)
	defD(&c.MaxBackoff, 5*time.Second)
	defD(&c.RequestTimeout, time.Minute)
	defD(&c.StandbyPoll, time.Second)
	defD(&c.StatusInterval, 10*time.Second)
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
	pool   *pgxpool.Pool
	store  *postgres.ProjectorStore

	mu       sync.Mutex
	search   *search.Client
	role     string
	lastErr  string
	stream   *pgoutput.Stream
	oldest   time.Time // commit time of the oldest change being applied
	resync   bool      // the next session must rebuild the read model
	slot     postgres.SlotState
	slotSeen bool
	applied  atomic.Uint64
	// written counts the documents written while streaming (compaction
	// waits for quiet writes).
	written    atomic.Uint64
	compaction string // state of the compactor (compact.go)
}

// New prepares a projector; it does not connect yet (Run does, and keeps
// retrying), so it fails only on invalid configuration.
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Projector, error) {
	cfg.defaults()
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("projector: database url: %w", err)
	}
	pcfg.MaxConns = 6
	pcfg.ConnConfig.RuntimeParams["application_name"] = "wildcat-projector-reader"
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		return nil, fmt.Errorf("projector: pool: %w", err)
	}
	p := &Projector{cfg: cfg, logger: logger, pool: pool, store: &postgres.ProjectorStore{Pool: pool}, role: RoleStarting}
	p.m = newMetrics(reg, p)
	p.setRole(RoleStarting)
	return p, nil
}

// Close releases the connection pool.
func (p *Projector) Close() { p.pool.Close() }

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
}

// Status returns the instance's role and position.
func (p *Projector) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Status{Role: p.role, LastError: p.lastErr, Compaction: p.compaction}
	if a := p.applied.Load(); a > 0 {
		st.AppliedLSN = domain.FormatLSN(a)
	}
	return st
}

// Ping checks PostgreSQL and, once connected, the search engine.
func (p *Projector) Ping(ctx context.Context) error {
	if err := p.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	p.mu.Lock()
	sc := p.search
	p.mu.Unlock()
	if sc == nil {
		return errors.New("search: not connected yet")
	}
	// The health of our own indices, not of the whole cluster: another
	// tenant's red index must not make this projector unready.
	aliases := projection.PaymentsAlias(p.cfg.IndexPrefix) + "," + projection.CustomersAlias(p.cfg.IndexPrefix)
	status, body, err := sc.Do(ctx, http.MethodGet, "/_cluster/health/"+aliases+"?filter_path=status", nil)
	if err != nil {
		return err
	}
	switch {
	case status == http.StatusNotFound:
		return nil // not backfilled yet; the engine answers
	case status != http.StatusOK:
		return fmt.Errorf("search: health: HTTP %d", status)
	case bytes.Contains(body, []byte(`"red"`)):
		return errors.New("search: the read-model indices are red")
	}
	return nil
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
		if errors.Is(err, projection.ErrResync) {
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

func (p *Projector) searchClient(ctx context.Context) (*search.Client, error) {
	p.mu.Lock()
	sc := p.search
	p.mu.Unlock()
	if sc != nil {
		return sc, nil
	}
	sc, err := search.Open(ctx, p.cfg.SearchURL, search.Options{})
	if err != nil {
		return nil, err
	}
	p.logger.Info("search engine", "engine", sc.Engine.String())
	p.mu.Lock()
	p.search = sc
	p.mu.Unlock()
	return sc, nil
}

func (p *Projector) writer(sc *search.Client, phase string) *search.Writer {
	h := p.m.bulk.WithLabelValues(phase)
	return &search.Writer{Client: sc, Prefix: p.cfg.IndexPrefix, WaitFor: p.cfg.RefreshWaitFor && phase == "stream",
		ObserveBulk: func(d time.Duration, _ int) { h.Observe(d.Seconds()) }}
}

func (p *Projector) applier(idx projection.Index, dl projection.DeadLetters, batch int) *projection.Applier {
	return &projection.Applier{
		Source:         &postgres.ProjectorSource{Pool: p.pool},
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
	sc, err := p.searchClient(ctx)
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
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The checker shares the leader's session, which is not safe for
	// concurrent use: it must have stopped before the deferred Release
	// closes that session.
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
	defer func() { cancel(nil); <-checked }()

	stream, err := p.open(ctx, sc)
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

	txs := make(chan projection.Tx, p.cfg.QueueTxs)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return stream.Run(gctx, txs) })
	g.Go(func() error {
		return p.apply(gctx, stream, txs, p.applier(p.writer(sc, "stream"), p.store, p.cfg.ReprojectBatch))
	})
	g.Go(func() error { p.compact(gctx, p.writer(sc, "stream")); return nil })
	err = g.Wait()
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		return c
	}
	return err
}

// lead takes the leader lock, waiting as a standby while another instance
// holds it (one session, polled every StandbyPoll). It returns (nil, nil)
// when ctx ends.
func (p *Projector) lead(ctx context.Context) (*postgres.Leader, error) {
	l, err := postgres.NewLeader(ctx, p.cfg.DatabaseURL, p.cfg.Slot)
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
func (p *Projector) open(ctx context.Context, sc *search.Client) (*pgoutput.Stream, error) {
	w := p.writer(sc, "stream")
	reason, bf, err := p.needsBackfill(ctx, w)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		p.logger.Info("backfill needed", "reason", reason)
		return p.backfill(ctx, sc)
	}
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
	conn, err := pgoutput.Connect(ctx, p.cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	stream, err := conn.Start(ctx, pgoutput.StreamOptions{
		Slot: p.cfg.Slot, Publication: p.cfg.Publication, Confirmed: slot.Confirmed,
		Fingerprint: bf.Fingerprint, StatusInterval: p.cfg.StatusInterval,
		ChunkChanges: p.cfg.BulkDocs, Budget: projection.NewBudget(p.cfg.QueueChanges),
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	p.applied.Store(slot.Confirmed)
	return stream, nil
}

func (p *Projector) needsBackfill(ctx context.Context, w *search.Writer) (string, postgres.Backfill, error) {
	p.mu.Lock()
	resync := p.resync
	p.mu.Unlock()
	if resync {
		return "resync requested", postgres.Backfill{}, nil
	}
	bf, err := p.store.GetBackfill(ctx, p.cfg.Slot)
	if errors.Is(err, postgres.ErrNoBackfill) {
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
	if v := "_" + projection.MappingVersion + "_"; !strings.HasPrefix(bf.PaymentsIndex, projection.PaymentsAlias(p.cfg.IndexPrefix)+v) ||
		!strings.HasPrefix(bf.CustomersIndex, projection.CustomersAlias(p.cfg.IndexPrefix)+v) {
		return fmt.Sprintf("the backfilled indices (%q, %q) have another mapping version than %s", bf.PaymentsIndex, bf.CustomersIndex, projection.MappingVersion), bf, nil
	}
	pay, cust, err := w.Current(ctx)
	if err != nil {
		return "", bf, err
	}
	if pay != bf.PaymentsIndex || cust != bf.CustomersIndex {
		return fmt.Sprintf("indices behind the aliases (%q, %q) are not the backfilled ones (%q, %q)", pay, cust, bf.PaymentsIndex, bf.CustomersIndex), bf, nil
	}
	return "", bf, nil
}
