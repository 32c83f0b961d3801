package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"

	"github.com/sethvargo/go-retry"
)

// ErrResync is returned (wrapped, with the reason) when the read model must
// be rebuilt from a fresh snapshot: a TRUNCATE, a schema change, or an index
// that disappeared.
var ErrResync = errors.New("projection: read model must be rebuilt")

// Loaded is one document read from the write model. Err is set when the row
// exists but cannot be turned into a document (it is dead-lettered).
type Loaded[T any] struct {
	ID  string
	Doc T
	Err error
}

// Parent names a customer or user whose payment documents are re-projected.
type Parent struct {
	Table Table // TableCustomers or TableUsers
	ID    string
}

// Source reads the current state of the write model.
type Source interface {
	// View runs fn on one consistent read whose snapshot includes the
	// effects of every transaction in xids (waiting briefly for them to
	// become visible if necessary).
	View(ctx context.Context, xids []uint32, fn func(ctx context.Context, v View) error) error
}

// View is a consistent read of the write model. Ids that do not exist are
// simply absent from the results.
type View interface {
	Payments(ctx context.Context, ids []string) ([]Loaded[PaymentDoc], error)
	Customers(ctx context.Context, ids []string) ([]Loaded[CustomerDoc], error)
	// PaymentsOf returns up to limit payments of parent with id > afterID,
	// in id order.
	PaymentsOf(ctx context.Context, parent Parent, afterID string, limit int) ([]Loaded[PaymentDoc], error)
	// CustomerIDsOfUser returns the customers userID is linked to.
	CustomerIDsOfUser(ctx context.Context, userID string) ([]string, error)
}

// IndexOp is one bulk item: index Doc (or delete when Doc is nil) as
// document ID of Index with the external Version.
type IndexOp struct {
	Index   string // alias
	ID      string
	Version uint64
	Doc     []byte
}

// ItemStatus classifies the outcome of one bulk item.
type ItemStatus uint8

// Item outcomes.
const (
	ItemApplied      ItemStatus = iota // written (or a delete of a missing document)
	ItemConflict                       // version conflict: an equal or newer version is there already
	ItemRetry                          // transient (429, 5xx): retried without limit
	ItemFailed                         // rejected: retried a few times, then dead-lettered
	ItemMissingIndex                   // the alias does not exist: the read model must be rebuilt
)

// ItemResult is the outcome of one bulk item.
type ItemResult struct {
	Status ItemStatus
	Error  string
}

// Index is the search-engine side of the projector.
type Index interface {
	// Bulk sends ops and returns one result per op, in order. An error
	// means the request as a whole failed (engine unreachable, 5xx).
	Bulk(ctx context.Context, ops []IndexOp) ([]ItemResult, error)
	// Refresh makes everything acknowledged so far in the given aliases
	// searchable.
	Refresh(ctx context.Context, aliases []string) error
	// PublishState records the applied position for the query API.
	PublishState(ctx context.Context, st StateDoc) error
}

// DeadLetter is a document that could not be indexed.
type DeadLetter struct {
	Index   string
	ID      string
	LSN     uint64
	Error   string
	Payload []byte // the document, when it could be built
}

// DeadLetters stores documents that could not be indexed.
type DeadLetters interface {
	AddDeadLetters(ctx context.Context, dls []DeadLetter) error
}

// Stats counts what one Apply did.
type Stats struct {
	Indexed      int // documents written
	Deleted      int // documents deleted
	Conflicts    int // version conflicts: already applied
	DeadLettered int // documents sent to the dead-letter table
	Bulks        int // bulk requests sent
}

func (s *Stats) add(o Stats) {
	s.Indexed += o.Indexed
	s.Deleted += o.Deleted
	s.Conflicts += o.Conflicts
	s.DeadLettered += o.DeadLettered
	s.Bulks += o.Bulks
}

// Applier writes plans to the index: it reads the dirty documents' current
// state, builds them, bulk-indexes them with external versions, retries,
// dead-letters what cannot be indexed and refreshes. It never acknowledges
// anything itself; the caller does once Apply returned nil. An Applier is
// safe for sequential use only.
type Applier struct {
	Source      Source
	Index       Index
	DeadLetters DeadLetters
	Prefix      string
	Logger      *slog.Logger
	// BatchSize bounds the documents per bulk request and per re-projection
	// read (zero: DefaultConfig().BulkDocs).
	BatchSize int
	// ItemAttempts is how often a rejected document is tried before it is
	// dead-lettered (zero: DefaultConfig().ItemAttempts).
	ItemAttempts int
	// MinBackoff and MaxBackoff bound the exponential wait between retries
	// (zero: DefaultConfig().MinBackoff, MaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// RequestTimeout bounds each search-engine request (bulk, refresh,
	// publish): one without an answer by then is abandoned and retried like
	// a failed one, so a wedged engine or a silently dropped connection
	// shows up as retries instead of a projector that waits forever. Zero
	// leaves requests unbounded.
	RequestTimeout time.Duration
	// InlineReprojectBatches, when set, bounds the batches of a parent's
	// re-projection written with the plan; the rest is left in
	// Plan.Deferred for the fan-out. Zero writes everything inline.
	InlineReprojectBatches int
	// InflightBulks, above 1, lets the plans' bulk requests run in the
	// background, that many at once (lane.go); Drain waits for them.
	InflightBulks int
	lane          *lane
	// OnRetry, when set, is called as each failed request is scheduled for
	// a retry, so metrics see an outage while it lasts, not only once the
	// call that rode it out returns.
	OnRetry func()

	// touched holds the aliases written since the last refresh. Write is
	// called by concurrent backfill workers, so mu guards it.
	mu      sync.Mutex
	touched map[string]bool
}

// touch records that ops were sent to their indices.
func (a *Applier) touch(ops []IndexOp) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.touched == nil {
		a.touched = map[string]bool{}
	}
	for _, op := range ops {
		a.touched[op.Index] = true
	}
}

// takeTouched returns which of aliases were written since the last call
// and forgets every recorded write.
func (a *Applier) takeTouched(aliases ...string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var written []string
	for _, alias := range aliases {
		if a.touched[alias] {
			written = append(written, alias)
		}
	}
	clear(a.touched)
	return written
}

func (a *Applier) batch() int {
	if a.BatchSize > 0 {
		return a.BatchSize
	}
	return DefaultConfig().BulkDocs
}

func (a *Applier) backoff() retry.Backoff {
	minB, maxB := a.MinBackoff, a.MaxBackoff
	if minB <= 0 {
		minB = DefaultConfig().MinBackoff
	}
	if maxB <= 0 {
		maxB = DefaultConfig().MaxBackoff
	}
	return retry.WithCappedDuration(maxB, retry.WithJitterPercent(20, retry.NewExponential(minB)))
}

func (a *Applier) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Apply writes the documents of p. Errors from the write model are
// returned (the caller restarts the stream); search-engine outages are
// retried until ctx ends. ErrResync (wrapped) asks for a rebuild.
func (a *Applier) Apply(ctx context.Context, p *Plan) (Stats, error) {
	st, err := a.write(ctx, p)
	ds, derr := a.Drain()
	st.add(ds)
	if err == nil {
		err = derr
	}
	if err != nil || st.Indexed+st.Deleted+st.Conflicts == 0 {
		return st, err
	}
	return st, a.RefreshWritten(ctx)
}

// RefreshWritten makes what was written since the last refresh searchable
// (one refresh for every plan written with write since).
func (a *Applier) RefreshWritten(ctx context.Context) error {
	written := a.takeTouched(PaymentsAlias(a.Prefix), CustomersAlias(a.Prefix))
	if len(written) == 0 {
		return nil
	}
	return a.forever(ctx, "refresh", func(ctx context.Context) error { return a.Index.Refresh(ctx, written) })
}

// write is Apply without the refresh: the documents are in the index,
// durable, not yet searchable.
func (a *Applier) write(ctx context.Context, p *Plan) (Stats, error) {
	var st Stats
	if p.Resync != "" {
		return st, fmt.Errorf("%w: %s", ErrResync, p.Resync)
	}
	if p.Empty() {
		return st, nil
	}
	steps := []func(context.Context, *Plan) (Stats, error){a.customersOfUsers, a.directDocs, a.reprojectParents}
	for _, step := range steps {
		s, err := step(ctx, p)
		st.add(s)
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// customersOfUsers adds to the plan the customers of users whose name or
// e-mail changed (their access documents carry both).
func (a *Applier) customersOfUsers(ctx context.Context, p *Plan) (Stats, error) {
	if len(p.UserCustomers) == 0 {
		return Stats{}, nil
	}
	return Stats{}, a.Source.View(ctx, p.Xids, func(ctx context.Context, v View) error {
		for user, lsn := range p.UserCustomers {
			ids, err := v.CustomerIDsOfUser(ctx, user)
			if err != nil {
				return err
			}
			for _, id := range ids {
				mark(p.Customers, id, lsn)
			}
		}
		return nil
	})
}

// directDocs writes the plan's dirty payments and customers, a batch at a
// time (memory stays bounded however large a transaction was).
func (a *Applier) directDocs(ctx context.Context, p *Plan) (Stats, error) {
	var st Stats
	payAlias, custAlias := PaymentsAlias(a.Prefix), CustomersAlias(a.Prefix)
	for _, chunk := range chunks(sortedKeys(p.Payments), a.batch()) {
		s, err := a.direct(ctx, p.Xids, func(ctx context.Context, v View) ([]IndexOp, []DeadLetter, error) {
			docs, err := v.Payments(ctx, chunk)
			ops, dead := BuildOps(payAlias, chunk, p.Payments, docs)
			return ops, dead, err
		})
		st.add(s)
		if err != nil {
			return st, err
		}
	}
	for _, chunk := range chunks(sortedKeys(p.Customers), a.batch()) {
		s, err := a.direct(ctx, p.Xids, func(ctx context.Context, v View) ([]IndexOp, []DeadLetter, error) {
			docs, err := v.Customers(ctx, chunk)
			ops, dead := BuildOps(custAlias, chunk, p.Customers, docs)
			return ops, dead, err
		})
		st.add(s)
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// reprojectParents re-indexes every payment of a renamed customer or user,
// parents in a fixed order, each batch in its own snapshot. With
// InlineReprojectBatches set, only that many batches of each parent are
// written here; the rest is left in p.Deferred for the fan-out (fanout.go).
func (a *Applier) reprojectParents(ctx context.Context, p *Plan) (Stats, error) {
	var st Stats
	parents := make([]Parent, 0, len(p.CustomerPayments)+len(p.UserPayments))
	versions := map[Parent]uint64{}
	for id, lsn := range p.CustomerPayments {
		pa := Parent{Table: TableCustomers, ID: id}
		parents, versions[pa] = append(parents, pa), lsn
	}
	for id, lsn := range p.UserPayments {
		pa := Parent{Table: TableUsers, ID: id}
		parents, versions[pa] = append(parents, pa), lsn
	}
	sort.Slice(parents, func(i, j int) bool {
		if parents[i].Table != parents[j].Table {
			return parents[i].Table < parents[j].Table
		}
		return parents[i].ID < parents[j].ID
	})
	for _, pa := range parents {
		s, next, more, err := a.reproject(ctx, p.Xids, pa, versions[pa], "", a.InlineReprojectBatches)
		st.add(s)
		if err != nil {
			return st, err
		}
		if more {
			p.Deferred = append(p.Deferred, Reprojection{Parent: pa, Version: versions[pa], After: next, Xids: p.Xids})
		}
	}
	return st, nil
}

// direct reads one batch of dirty documents with read, in one snapshot,
// and writes them.
func (a *Applier) direct(ctx context.Context, xids []uint32, read func(context.Context, View) ([]IndexOp, []DeadLetter, error)) (Stats, error) {
	var st Stats
	var ops []IndexOp
	var dead []DeadLetter
	err := a.Source.View(ctx, xids, func(ctx context.Context, v View) error {
		var err error
		ops, dead, err = read(ctx, v)
		return err
	})
	if err != nil {
		return st, err
	}
	if err := a.deadLetter(ctx, dead, &st); err != nil {
		return st, err
	}
	s, err := a.send(ctx, ops)
	st.add(s)
	return st, err
}

// send writes ops: at once, or in the background when InflightBulks allows
// (their stats then come with Drain).
func (a *Applier) send(ctx context.Context, ops []IndexOp) (Stats, error) {
	if a.InflightBulks <= 1 {
		return a.Write(ctx, ops)
	}
	if a.lane == nil {
		a.lane = newLane(a.InflightBulks)
	}
	return Stats{}, a.lane.dispatch(ctx, ops, a.Write)
}

// Drain waits for the bulks sent in the background and returns what they
// did; their first error, if any.
func (a *Applier) Drain() (Stats, error) {
	if a.lane == nil {
		return Stats{}, nil
	}
	return a.lane.drain()
}

// reproject re-indexes the payments of pa with id > after, with version
// lsn, at most batches batches (0: all). It returns the last id written and
// whether more may follow. Documents already at a newer version answer
// with a conflict; their content was read after this change was visible,
// so it carries the new name already.
func (a *Applier) reproject(ctx context.Context, xids []uint32, pa Parent, lsn uint64, after string, batches int) (Stats, string, bool, error) {
	var st Stats
	alias := PaymentsAlias(a.Prefix)
	for n := 0; batches <= 0 || n < batches; n++ {
		var docs []Loaded[PaymentDoc]
		err := a.Source.View(ctx, xids, func(ctx context.Context, v View) error {
			var err error
			docs, err = v.PaymentsOf(ctx, pa, after, a.batch())
			return err
		})
		if err != nil {
			return st, after, true, err
		}
		if len(docs) == 0 {
			return st, after, false, nil
		}
		ids := make([]string, len(docs))
		versions := make(map[string]uint64, len(docs))
		for i, d := range docs {
			ids[i], versions[d.ID] = d.ID, lsn
		}
		ops, dead := BuildOps(alias, ids, versions, docs)
		if err := a.deadLetter(ctx, dead, &st); err != nil {
			return st, after, true, err
		}
		s, err := a.send(ctx, ops)
		st.add(s)
		if err != nil {
			return st, after, true, err
		}
		after = ids[len(ids)-1]
		if len(docs) < a.batch() {
			return st, after, false, nil
		}
	}
	return st, after, true, nil
}

// encode writes a document. A document with its own MarshalJSON (PaymentDoc)
// is asked directly: json.Marshal would reflect on it and then validate and
// compact the marshaler's output again, a second pass over every byte.
func encode(doc any) ([]byte, error) {
	if m, ok := doc.(json.Marshaler); ok {
		return m.MarshalJSON()
	}
	return json.Marshal(doc)
}

// BuildOps turns loaded documents of index (an alias, or a concrete index
// during a backfill) into index operations with the versions given per id;
// ids that were not found become deletes, rows that could not be built
// become dead letters.
func BuildOps[T any](alias string, ids []string, versions map[string]uint64, docs []Loaded[T]) ([]IndexOp, []DeadLetter) {
	found := make(map[string]bool, len(docs))
	ops := make([]IndexOp, 0, len(ids))
	var dead []DeadLetter
	for _, d := range docs {
		found[d.ID] = true
		v := versions[d.ID]
		if d.Err != nil {
			dead = append(dead, DeadLetter{Index: alias, ID: d.ID, LSN: v, Error: d.Err.Error()})
			continue
		}
		body, _, err := EncodeDocument(d.Doc)
		if err != nil {
			dead = append(dead, DeadLetter{Index: alias, ID: d.ID, LSN: v, Error: "encode document: " + err.Error()})
			continue
		}
		ops = append(ops, IndexOp{Index: alias, ID: d.ID, Version: v, Doc: body})
	}
	for _, id := range ids {
		if !found[id] {
			ops = append(ops, IndexOp{Index: alias, ID: id, Version: versions[id]})
		}
	}
	return ops, dead
}

// Write bulk-indexes ops: whole-request failures are retried until ctx
// ends; rejected items are retried ItemAttempts times and then
// dead-lettered; conflicts count as already applied.
func (a *Applier) Write(ctx context.Context, ops []IndexOp) (Stats, error) {
	var st Stats
	failures := map[int]int{}
	pending := make([]int, len(ops))
	for i := range ops {
		pending[i] = i
	}
	b := a.backoff()
	for len(pending) > 0 {
		batch := make([]IndexOp, len(pending))
		for i, j := range pending {
			batch[i] = ops[j]
		}
		st.Bulks++
		a.touch(batch)
		var res []ItemResult
		err := a.attempt(ctx, func(ctx context.Context) (err error) {
			res, err = a.Index.Bulk(ctx, batch)
			return err
		})
		if err == nil && len(res) != len(batch) {
			err = fmt.Errorf("projection: bulk answered %d items for %d", len(res), len(batch))
		}
		if err != nil {
			if werr := a.wait(ctx, b, "bulk", err); werr != nil {
				return st, werr
			}
			continue
		}
		again, dead, lastErr, err := a.sortResults(ops, pending, res, failures, &st)
		if err != nil {
			return st, err
		}
		if err := a.deadLetter(ctx, dead, &st); err != nil {
			return st, err
		}
		pending = again
		if len(pending) > 0 {
			if werr := a.wait(ctx, b, "bulk items", errors.New(lastErr)); werr != nil {
				return st, werr
			}
		}
	}
	return st, nil
}

// sortResults counts the outcome of each op of pending (res[i] is the
// result of ops[pending[i]]) and returns the ops to try again, those out of
// attempts, and the last retryable error. A missing index is ErrResync.
func (a *Applier) sortResults(ops []IndexOp, pending []int, res []ItemResult, failures map[int]int, st *Stats) (again []int, dead []DeadLetter, lastErr string, err error) {
	attempts := a.ItemAttempts
	if attempts <= 0 {
		attempts = DefaultConfig().ItemAttempts
	}
	for i, r := range res {
		j := pending[i]
		switch r.Status {
		case ItemApplied:
			if ops[j].Doc == nil {
				st.Deleted++
			} else {
				st.Indexed++
			}
		case ItemConflict:
			st.Conflicts++
		case ItemMissingIndex:
			return nil, nil, "", fmt.Errorf("%w: index %s is missing (%s)", ErrResync, ops[j].Index, r.Error)
		case ItemRetry:
			again, lastErr = append(again, j), r.Error
		default:
			failures[j]++
			if failures[j] >= attempts {
				dead = append(dead, DeadLetter{Index: ops[j].Index, ID: ops[j].ID, LSN: ops[j].Version, Error: r.Error, Payload: ops[j].Doc})
				continue
			}
			again, lastErr = append(again, j), r.Error
		}
	}
	return again, dead, lastErr, nil
}

func (a *Applier) deadLetter(ctx context.Context, dead []DeadLetter, st *Stats) error {
	if len(dead) == 0 {
		return nil
	}
	for _, d := range dead {
		a.logger().Error("document dead-lettered", "index", d.Index, "doc_id", d.ID, "lsn", domain.FormatLSN(d.LSN), "error", d.Error)
	}
	if err := a.DeadLetters.AddDeadLetters(ctx, dead); err != nil {
		return fmt.Errorf("projection: dead letters: %w", err)
	}
	st.DeadLettered += len(dead)
	return nil
}

// wait sleeps for the next backoff step; it fails only when ctx ends.
func (a *Applier) wait(ctx context.Context, b retry.Backoff, what string, cause error) error {
	d, stop := b.Next()
	if stop {
		d = a.MaxBackoff
	}
	if a.OnRetry != nil {
		a.OnRetry()
	}
	a.logger().Warn("search engine request failed, retrying", "op", what, "error", cause.Error(), "retry_in_ms", d.Milliseconds())
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("projection: %s: %w (last error: %v)", what, ctx.Err(), cause)
	case <-t.C:
		return nil
	}
}

// attempt runs one engine request, bounded by RequestTimeout.
func (a *Applier) attempt(ctx context.Context, fn func(context.Context) error) error {
	if a.RequestTimeout <= 0 {
		return fn(ctx)
	}
	rctx, cancel := context.WithTimeout(ctx, a.RequestTimeout)
	defer cancel()
	err := fn(rctx)
	if err != nil && ctx.Err() == nil && errors.Is(rctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within %s: %w", a.RequestTimeout, err)
	}
	return err
}

// forever retries fn until it succeeds or ctx ends.
func (a *Applier) forever(ctx context.Context, what string, fn func(context.Context) error) error {
	b := a.backoff()
	for {
		err := a.attempt(ctx, fn)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("projection: %s: %w", what, ctx.Err())
		}
		if werr := a.wait(ctx, b, what, err); werr != nil {
			return werr
		}
	}
}

// Publish records st as the applied position, retrying until ctx ends.
func (a *Applier) Publish(ctx context.Context, st StateDoc) error {
	return a.forever(ctx, "publish state", func(ctx context.Context) error { return a.Index.PublishState(ctx, st) })
}

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func chunks[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}
