// Reconciliation: the read model compared with the write model, bucket by
// bucket, and what differs re-projected (docs/projector.md,
// *Reconciliation*).

package projection

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// The reconciler's ports. The active projector finds them on its own
// adapters (the Source, the StateStore and the stream's IndexWriter
// implement them: internal/postgres, internal/search); `projector verify`
// wires them itself. An adapter without them leaves reconciliation off.

// ReconcileSource reads documents of the write model for the reconciler.
// Each call is one consistent snapshot and also returns a WAL position at
// or after the end of every transaction that snapshot saw: once the
// projector's published position reaches it, the index reflects at least
// the state read. Ids that do not exist are absent from the results.
type ReconcileSource interface {
	// PaymentsAfter and CustomersAfter return up to limit documents with
	// id > after ("" starts at the beginning), in id order.
	PaymentsAfter(ctx context.Context, after string, limit int) ([]Loaded[PaymentDoc], uint64, error)
	CustomersAfter(ctx context.Context, after string, limit int) ([]Loaded[CustomerDoc], uint64, error)
	// PaymentsByID and CustomersByID return the documents among ids.
	PaymentsByID(ctx context.Context, ids []string) ([]Loaded[PaymentDoc], uint64, error)
	CustomersByID(ctx context.Context, ids []string) ([]Loaded[CustomerDoc], uint64, error)
}

// IDRange is the ids of one bucket: After < id ≤ Last, where an empty
// After has no lower bound and an empty Last no upper one. Ids compare as
// their canonical lower-case text, which is PostgreSQL's uuid order.
type IDRange struct {
	After, Last string
}

// BucketSum is what the index holds in one IDRange: how many documents
// and the sum of their fingerprints (a document without fp adds 0).
type BucketSum struct {
	Count int64
	Sum   int64
}

// IndexedDoc is one document of the index as the reconciler compares it.
type IndexedDoc struct {
	ID      string
	FP      int64
	HasFP   bool
	Version uint64 // the external version (commit LSN) it was written with
}

// ReconcileIndex reads the read model for the reconciler and removes
// documents whose version no commit can have reached.
type ReconcileIndex interface {
	// Sums returns one BucketSum per range of alias (one request).
	Sums(ctx context.Context, alias string, ranges []IDRange) ([]BucketSum, error)
	// Docs returns every document of alias in r, in id order.
	Docs(ctx context.Context, alias string, r IDRange) ([]IndexedDoc, error)
	// DocsByID returns the documents of alias among ids.
	DocsByID(ctx context.Context, alias string, ids []string) ([]IndexedDoc, error)
	// DeleteUnversioned deletes ids from alias whatever their version and
	// refreshes it.
	DeleteUnversioned(ctx context.Context, alias string, ids []string) error
}

// Reprojector asks the active projector to re-index documents from their
// current state, through the replication stream (a redrive message,
// RedrivePrefix): they are re-read and written in commit order, with the
// message's commit LSN as version, and a document gone from the write
// model becomes a delete.
type Reprojector interface {
	Reproject(ctx context.Context, docs []RedriveDoc) error
}

// ReconcileConfig tunes the reconciler (docs/projector.md,
// *Configuration*); Config embeds it.
type ReconcileConfig struct {
	// ReconcileInterval is the pause between two passes of the active
	// projector; zero turns continuous reconciliation off.
	ReconcileInterval time.Duration `env:"PROJECTOR_RECONCILE_INTERVAL"`
	// ReconcileBatch is the documents per write-model read, which is also
	// a bucket's size.
	ReconcileBatch int `env:"PROJECTOR_RECONCILE_BATCH"`
	// ReconcileRate bounds the documents read per second; zero leaves the
	// pace unbounded.
	ReconcileRate int `env:"PROJECTOR_RECONCILE_RATE"`
}

// DefaultReconcileConfig is the reconciler's part of DefaultConfig.
func DefaultReconcileConfig() ReconcileConfig {
	return ReconcileConfig{ReconcileInterval: 5 * time.Minute, ReconcileBatch: 5000, ReconcileRate: 20000}
}

// reconcileGroup is how many buckets are compared with one engine request.
const reconcileGroup = 20

// Mismatch reasons.
const (
	MismatchMissing = "missing" // in the write model, not in the index
	MismatchStray   = "stray"   // in the index, not in the write model
	MismatchDiffers = "differs" // in both, with another fingerprint
)

// Mismatch is a document whose indexed state differed from the write
// model's twice in a row, with the write model unchanged in between.
type Mismatch struct {
	Index   string // "payments" or "customers"
	ID      string
	Reason  string // MismatchMissing, MismatchStray or MismatchDiffers
	Version uint64 // the indexed document's version (0 when missing)
	// Future: the version is beyond the WAL; no commit wrote it, and a
	// re-projection would be refused, so the document is deleted first.
	Future bool
}

// PassResult is what one pass compared and found.
type PassResult struct {
	Documents  int // write-model documents compared
	Buckets    int
	Narrowed   int // buckets that differed and were compared id by id
	Mismatches []Mismatch
	Took       time.Duration
	// Engine is the part of Took spent in the engine's sum aggregations
	// (the rest: write-model reads, fingerprints, waits, narrowing).
	Engine time.Duration
}

// Reconciler compares the read model with the write model in buckets of
// ids and re-projects what differs. A bucket is Batch consecutive ids of
// the write model: the write model's count and sum of fingerprints
// (computed in Go from the documents as the projector builds them) against
// the index's (one aggregation for reconcileGroup buckets). A bucket that
// differs is compared id by id, and each differing id is checked once more
// before it counts, so changes in flight are not drift. It is not safe for
// concurrent use.
type Reconciler struct {
	Source ReconcileSource
	Index  ReconcileIndex
	// Repair, when set, re-projects each mismatch; nil only reports.
	Repair Reprojector
	Prefix string
	Batch  int // documents per read and bucket (zero: the default)
	Rate   int // documents read per second at most (zero: unbounded)
	// Applied returns the projector's published applied position.
	Applied func(ctx context.Context) (uint64, error)
	// ApplyWait bounds each wait for Applied to reach a read (zero: 1 min).
	ApplyWait time.Duration
	Logger    *slog.Logger
}

// fpDoc is a write-model document reduced to what is compared.
type fpDoc struct {
	ID  string
	FP  int64
	Bad bool // the row cannot become a document (dead-lettered): not compared
}

// kind is one index and its reads.
type kind struct {
	name, alias string
	after       func(ctx context.Context, after string, limit int) ([]fpDoc, uint64, error)
	byID        func(ctx context.Context, ids []string) ([]fpDoc, uint64, error)
}

func fingerprints[T any](docs []Loaded[T], pos uint64, err error) ([]fpDoc, uint64, error) {
	if err != nil {
		return nil, 0, err
	}
	out := make([]fpDoc, len(docs))
	for i, d := range docs {
		out[i] = fpDoc{ID: d.ID, Bad: d.Err != nil}
		if d.Err == nil {
			_, fp, err := EncodeDocument(d.Doc)
			out[i].FP, out[i].Bad = fp, err != nil
		}
	}
	return out, pos, nil
}

func (r *Reconciler) kinds() []kind {
	s := r.Source
	return []kind{
		{name: "customers", alias: CustomersAlias(r.Prefix),
			after: func(ctx context.Context, after string, n int) ([]fpDoc, uint64, error) {
				return fingerprints(s.CustomersAfter(ctx, after, n))
			},
			byID: func(ctx context.Context, ids []string) ([]fpDoc, uint64, error) {
				return fingerprints(s.CustomersByID(ctx, uuids(ids)))
			}},
		{name: "payments", alias: PaymentsAlias(r.Prefix),
			after: func(ctx context.Context, after string, n int) ([]fpDoc, uint64, error) {
				return fingerprints(s.PaymentsAfter(ctx, after, n))
			},
			byID: func(ctx context.Context, ids []string) ([]fpDoc, uint64, error) {
				return fingerprints(s.PaymentsByID(ctx, uuids(ids)))
			}},
	}
}

// uuids returns the ids that are UUIDs in canonical lower case: a stray
// document of the index can have any id, and only those are ids of the
// write model.
func uuids(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if domain.IsUUID(id) && strings.ToLower(id) == id {
			out = append(out, id)
		}
	}
	return out
}

func (r *Reconciler) batch() int {
	if r.Batch > 0 {
		return r.Batch
	}
	return DefaultReconcileConfig().ReconcileBatch
}

func (r *Reconciler) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Pass compares both indices with the write model once, customers first,
// and re-projects what differs when Repair is set.
func (r *Reconciler) Pass(ctx context.Context) (PassResult, error) {
	start := time.Now()
	var res PassResult
	pace := pacer{rate: r.Rate, start: start}
	for _, k := range r.kinds() {
		if err := r.reconcile(ctx, k, &pace, &res); err != nil {
			res.Took = time.Since(start)
			return res, fmt.Errorf("projection: reconcile %s: %w", k.name, err)
		}
	}
	res.Took = time.Since(start)
	return res, nil
}

// bucket is one id range with the write model's documents in it.
type bucket struct {
	r    IDRange
	docs []fpDoc
}

// differs reports whether the index's sum s disagrees with the bucket (a
// bucket holding rows that cannot become documents is always compared id
// by id, without them).
func (b bucket) differs(s BucketSum) bool {
	var n, sum int64
	for _, d := range b.docs {
		if d.Bad {
			return true
		}
		n, sum = n+1, sum+d.FP
	}
	return n != s.Count || sum != s.Sum
}

// reconcile compares one index, reconcileGroup buckets at a time: the
// write model first, then, once the projector has published a position
// past those reads, the index.
func (r *Reconciler) reconcile(ctx context.Context, k kind, pace *pacer, res *PassResult) error {
	after, done := "", false
	for !done {
		var group []bucket
		var pos uint64
		for len(group) < reconcileGroup && !done {
			docs, p, err := k.after(ctx, after, r.batch())
			if err != nil {
				return err
			}
			b := bucket{r: IDRange{After: after}, docs: docs}
			if len(docs) < r.batch() {
				done = true // the last bucket is open-ended: strays past the last id fall in it
			} else {
				b.r.Last, after = docs[len(docs)-1].ID, docs[len(docs)-1].ID
			}
			group, pos = append(group, b), max(pos, p)
			res.Documents += len(docs)
			if err := pace.wait(ctx, len(docs)); err != nil {
				return err
			}
		}
		if err := r.waitApplied(ctx, pos); err != nil {
			return err
		}
		ranges := make([]IDRange, len(group))
		for i, b := range group {
			ranges[i] = b.r
		}
		asked := time.Now()
		sums, err := r.Index.Sums(ctx, k.alias, ranges)
		res.Engine += time.Since(asked)
		if err != nil {
			return err
		}
		if len(sums) != len(group) {
			return fmt.Errorf("%d sums for %d buckets", len(sums), len(group))
		}
		for i, b := range group {
			res.Buckets++
			if !b.differs(sums[i]) {
				continue
			}
			res.Narrowed++
			ms, err := r.narrow(ctx, k, b)
			if err != nil {
				return err
			}
			res.Mismatches = append(res.Mismatches, ms...)
		}
	}
	return nil
}

// narrow compares a differing bucket id by id and confirms the ids that
// differ.
func (r *Reconciler) narrow(ctx context.Context, k kind, b bucket) ([]Mismatch, error) {
	indexed, err := r.Index.Docs(ctx, k.alias, b.r)
	if err != nil {
		return nil, err
	}
	var out []Mismatch
	for _, ids := range chunks(differing(b.docs, indexed), 1000) {
		ms, err := r.confirm(ctx, k, ids)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

// differing returns the ids (sorted) that are in one of pg and indexed
// only, or in both with other fingerprints; rows that cannot become
// documents are left out.
func differing(pg []fpDoc, indexed []IndexedDoc) []string {
	want := make(map[string]fpDoc, len(pg))
	for _, d := range pg {
		want[d.ID] = d
	}
	var ids []string
	seen := make(map[string]bool, len(indexed))
	for _, e := range indexed {
		seen[e.ID] = true
		d, ok := want[e.ID]
		if !ok || (!d.Bad && (!e.HasFP || e.FP != d.FP)) {
			ids = append(ids, e.ID)
		}
	}
	for _, d := range pg {
		if !seen[d.ID] && !d.Bad {
			ids = append(ids, d.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// confirm checks ids once more: the write model, then (once published)
// the index, then the write model again. An id counts when the index
// still differs from a write-model state that did not change across the
// index read; a document changed meanwhile is a change in flight, which
// its own replication re-projects.
func (r *Reconciler) confirm(ctx context.Context, k kind, ids []string) ([]Mismatch, error) {
	before, pos, err := k.byID(ctx, ids)
	if err != nil {
		return nil, err
	}
	if err := r.waitApplied(ctx, pos); err != nil {
		return nil, err
	}
	indexed, err := r.Index.DocsByID(ctx, k.alias, ids)
	if err != nil {
		return nil, err
	}
	after, wal, err := k.byID(ctx, ids)
	if err != nil {
		return nil, err
	}
	ms := confirmed(k.name, ids, before, indexed, after, wal)
	return ms, r.repair(ctx, k, ms)
}

// confirmed decides which of ids are mismatches: before and after are the
// write model read around the index read indexed, wal a WAL position read
// after it (no commit can have a version beyond it).
func confirmed(index string, ids []string, before []fpDoc, indexed []IndexedDoc, after []fpDoc, wal uint64) []Mismatch {
	b, a := byID(before), byID(after)
	e := make(map[string]IndexedDoc, len(indexed))
	for _, d := range indexed {
		e[d.ID] = d
	}
	var out []Mismatch
	for _, id := range ids {
		d1, in1 := b[id]
		d2, in2 := a[id]
		doc, inIndex := e[id]
		if d1.Bad || d2.Bad || in1 != in2 || d1.FP != d2.FP {
			continue // not a document, or changed meanwhile
		}
		m := Mismatch{Index: index, ID: id, Version: doc.Version, Future: inIndex && doc.Version > wal}
		switch {
		case in1 && !inIndex:
			m.Reason = MismatchMissing
		case !in1 && inIndex:
			m.Reason = MismatchStray
		case in1 && (!doc.HasFP || doc.FP != d1.FP):
			m.Reason = MismatchDiffers
		default:
			continue
		}
		out = append(out, m)
	}
	return out
}

func byID(docs []fpDoc) map[string]fpDoc {
	m := make(map[string]fpDoc, len(docs))
	for _, d := range docs {
		m[d.ID] = d
	}
	return m
}

// repair logs each mismatch and, with Repair set, re-projects them: a
// document with a version from the future is deleted first (a
// re-projection's version would be refused).
func (r *Reconciler) repair(ctx context.Context, k kind, ms []Mismatch) error {
	if len(ms) == 0 {
		return nil
	}
	var future []string
	docs := make([]RedriveDoc, len(ms))
	for i, m := range ms {
		r.logger().Warn("reconcile: indexed document differs from the write model", "index", m.Index, "doc_id", m.ID,
			"reason", m.Reason, "version", domain.FormatLSN(m.Version), "future_version", m.Future, "repair", r.Repair != nil)
		if m.Future {
			future = append(future, m.ID)
		}
		docs[i] = RedriveDoc{Index: k.alias, ID: m.ID}
	}
	if r.Repair == nil {
		return nil
	}
	if len(future) > 0 {
		if err := r.Index.DeleteUnversioned(ctx, k.alias, future); err != nil {
			return err
		}
	}
	return r.Repair.Reproject(ctx, docs)
}

// waitApplied waits until the published position reaches pos.
func (r *Reconciler) waitApplied(ctx context.Context, pos uint64) error {
	limit := r.ApplyWait
	if limit <= 0 {
		limit = time.Minute
	}
	deadline := time.Now().Add(limit)
	wait := 5 * time.Millisecond
	for {
		applied, err := r.Applied(ctx)
		if err != nil {
			return err
		}
		if applied >= pos {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the published position %s did not reach %s within %s (is a projector streaming?)",
				domain.FormatLSN(applied), domain.FormatLSN(pos), limit)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// pacer keeps reads at rate documents per second over a pass.
type pacer struct {
	rate  int
	start time.Time
	n     int
}

func (p *pacer) wait(ctx context.Context, n int) error {
	if p.rate <= 0 {
		return nil
	}
	p.n += n
	due := p.start.Add(time.Duration(float64(p.n) / float64(p.rate) * float64(time.Second)))
	return sleep(ctx, time.Until(due))
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maintain runs the active projector's upkeep beside the stream until ctx
// ends: compaction (compact.go) and reconciliation.
func (p *Projector) maintain(ctx context.Context, w IndexWriter) {
	var wg sync.WaitGroup
	wg.Go(func() { p.reconcileLoop(ctx, w) })
	p.compact(ctx, w)
	wg.Wait()
}

// reconcileLoop runs a pass every ReconcileInterval while the projector
// streams (the active one only), with the stream's writer as the index
// side. Without ports on the adapters, or with a zero interval, it does
// nothing. A failed pass is logged and tried again after the interval.
func (p *Projector) reconcileLoop(ctx context.Context, w IndexWriter) {
	src, ok1 := p.source.(ReconcileSource)
	idx, ok2 := w.(ReconcileIndex)
	rep, ok3 := p.store.(Reprojector)
	if p.cfg.ReconcileInterval <= 0 || !ok1 || !ok2 || !ok3 {
		return
	}
	r := &Reconciler{Source: src, Index: idx, Repair: rep, Prefix: p.cfg.IndexPrefix, Batch: p.cfg.ReconcileBatch,
		Rate: p.cfg.ReconcileRate, Logger: p.logger,
		Applied: func(context.Context) (uint64, error) { return p.applied.Load(), nil }}
	for sleep(ctx, p.cfg.ReconcileInterval) == nil {
		res, err := r.Pass(ctx)
		p.m.reconcileDocs.Add(float64(res.Documents))
		for _, m := range res.Mismatches {
			p.m.reconcileMismatches.WithLabelValues(m.Index).Inc()
		}
		if err != nil {
			if ctx.Err() == nil {
				p.logger.Warn("reconcile pass failed; trying again after the interval", "error", err.Error(),
					"mismatches", len(res.Mismatches))
			}
			continue
		}
		p.m.reconcilePasses.Inc()
		p.m.reconcileLastPass.Set(float64(time.Now().UnixNano()) / 1e9)
		p.m.reconcileDuration.Set(res.Took.Seconds())
		p.logger.Info("reconcile pass complete", "documents", res.Documents, "buckets", res.Buckets,
			"narrowed", res.Narrowed, "mismatches", len(res.Mismatches), "seconds", res.Took.Seconds())
	}
}
