package query

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// Service defaults.
const (
	DefaultMaxWait        = 5 * time.Second
	DefaultExportPageSize = 1000
	// MaxScopeTTL bounds the scope cache so that revoking a link takes
	// effect within the ≤ 1 s freshness target (projection lag + refresh +
	// cache age).
	MaxScopeTTL = 200 * time.Millisecond
	// DefaultTotalHitsLimit is how many matches a search counts exactly
	// unless exact_total=true asks for all of them.
	DefaultTotalHitsLimit = 10000
	// MaxTotalHitsLimit bounds Options.TotalHitsLimit.
	MaxTotalHitsLimit = 1_000_000
)

// Options tunes a Service. The zero value is usable.
type Options struct {
	// Cursors signs cursors; nil means a random secret (cursors are then
	// valid only within this process).
	Cursors *CursorCodec
	// ScopeTTL is how long a caller's linked customers are reused before
	// they are looked up again; 0 looks them up on every request. Values
	// above MaxScopeTTL are lowered to it.
	ScopeTTL time.Duration
	// MaxWait bounds a read-your-writes wait (default DefaultMaxWait).
	MaxWait time.Duration
	// ExportPageSize is the number of payments fetched per export page
	// (default DefaultExportPageSize).
	ExportPageSize int
	// TotalHitsLimit is how many matches a search counts exactly; beyond it
	// the page's total is a lower bound (total_relation "gte"), unless the
	// request asks for an exact total. Default DefaultTotalHitsLimit;
	// values above MaxTotalHitsLimit are lowered to it.
	TotalHitsLimit int
	// OnScopeLookup, if set, is told whether each scope lookup was served
	// from the cache (for metrics).
	OnScopeLookup func(cached bool)
}

// Service runs the read use cases. Every read is intersected with the
// caller's linked customers. It is safe for concurrent use.
type Service struct {
	searcher Searcher
	cursors  *CursorCodec
	opts     Options

	applied atomic.Uint64 // highest applied LSN seen; positions only grow
	flight  singleflight.Group

	mu    sync.Mutex
	cache map[string]scopeEntry
	now   func() time.Time // the scope cache's clock
}

type scopeEntry struct {
	ids     []string // sorted
	fetched time.Time
}

// NewService returns a Service reading through s.
func NewService(s Searcher, opts Options) *Service {
	if opts.Cursors == nil {
		opts.Cursors = RandomCursorCodec()
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.ExportPageSize <= 0 {
		opts.ExportPageSize = DefaultExportPageSize
	}
	if opts.TotalHitsLimit <= 0 {
		opts.TotalHitsLimit = DefaultTotalHitsLimit
	}
	opts.TotalHitsLimit = min(opts.TotalHitsLimit, MaxTotalHitsLimit)
	opts.ScopeTTL = min(max(opts.ScopeTTL, 0), MaxScopeTTL)
	return &Service{searcher: s, cursors: opts.Cursors, opts: opts, cache: map[string]scopeEntry{}, now: time.Now}
}

// Search returns one page of the caller's payments matching req.
func (s *Service) Search(ctx context.Context, caller Caller, req SearchRequest) (Page, error) {
	if err := s.WaitFor(ctx, req.MinLSN); err != nil {
		return Page{}, err
	}
	q, ok, err := s.PlanSearch(ctx, caller, req)
	if err != nil {
		return Page{}, err
	}
	page := Page{Data: []Payment{}, TotalRelation: TotalEqual}
	if !ok {
		return page, nil
	}
	res, err := s.searcher.Search(ctx, q)
	if err != nil {
		return Page{}, err
	}
	page.Total = res.Total
	if !res.TotalExact {
		page.TotalRelation = TotalGreaterEqual
	}
	page.Data = res.Payments
	if page.Data == nil {
		page.Data = []Payment{}
	}
	if len(page.Data) > req.Limit {
		page.Data = page.Data[:req.Limit]
		next := s.cursors.Encode(caller.ID(), req.Sort, req.Filter, page.Data[req.Limit-1].Key)
		page.NextCursor, page.HasMore = &next, true
	}
	return page, nil
}

// PlanSearch returns the engine search that Search sends for req: the
// filter with the caller's scope applied, the cursor decoded, and one hit
// more than the limit to learn whether there is a next page. ok is false
// when the scope leaves nothing to search (Search then answers an empty
// page without asking the engine). Matches are counted exactly up to
// Options.TotalHitsLimit, or all of them when req.ExactTotal is set.
// Benchmarks use it with
// searchquery.SearchBody to send the identical query straight to the
// engine.
func (s *Service) PlanSearch(ctx context.Context, caller Caller, req SearchRequest) (q SearchQuery, ok bool, err error) {
	if !req.Sort.Valid() || req.Limit < 1 || req.Limit > MaxLimit {
		return SearchQuery{}, false, domain.Errorf(domain.EINVALID, "query: invalid sort or limit")
	}
	var after *SortKey
	if req.Cursor != "" {
		key, err := s.cursors.Decode(req.Cursor, caller.ID(), req.Sort, req.Filter)
		if err != nil {
			return SearchQuery{}, false, err
		}
		after = &key
	}
	f, ok, err := s.scoped(ctx, caller, req.Filter, req.MinLSN > 0)
	if err != nil || !ok {
		return SearchQuery{}, false, err
	}
	limit := s.opts.TotalHitsLimit
	if req.ExactTotal {
		limit = 0
	}
	return SearchQuery{Filter: f, Sort: req.Sort, Size: req.Limit + 1, After: after, TotalLimit: limit}, true, nil
}

// Payment returns the payment with id if the caller may see it; otherwise
// ENOTFOUND, whether it exists or not.
func (s *Service) Payment(ctx context.Context, caller Caller, id string, req ReadRequest) (Payment, error) {
	if !domain.IsUUID(id) {
		var v domain.Validation
		domain.ValidateUUID(&v, "id", id)
		return Payment{}, v.Err()
	}
	if err := s.WaitFor(ctx, req.MinLSN); err != nil {
		return Payment{}, err
	}
	scope, err := s.scope(ctx, caller, req.MinLSN > 0)
	if err != nil {
		return Payment{}, err
	}
	notFound := domain.Errorf(domain.ENOTFOUND, "No payment %s is visible to you.", strings.ToLower(id))
	if len(scope) == 0 {
		return Payment{}, notFound
	}
	p, found, err := s.searcher.Payment(ctx, strings.ToLower(id), scope)
	if err != nil {
		return Payment{}, err
	}
	if !found || !slices.Contains(scope, p.CustomerID) {
		return Payment{}, notFound
	}
	return p, nil
}

// Events returns the timeline of the payment with id, oldest first, if the
// caller may see the payment; otherwise ENOTFOUND, as Payment.
func (s *Service) Events(ctx context.Context, caller Caller, id string, req ReadRequest) (Events, error) {
	if !domain.IsUUID(id) {
		var v domain.Validation
		domain.ValidateUUID(&v, "id", id)
		return Events{}, v.Err()
	}
	if err := s.WaitFor(ctx, req.MinLSN); err != nil {
		return Events{}, err
	}
	scope, err := s.scope(ctx, caller, req.MinLSN > 0)
	if err != nil {
		return Events{}, err
	}
	id = strings.ToLower(id)
	notFound := domain.Errorf(domain.ENOTFOUND, "No payment %s is visible to you.", id)
	if len(scope) == 0 {
		return Events{}, notFound
	}
	evs, found, err := s.searcher.Events(ctx, id, scope)
	if err != nil {
		return Events{}, err
	}
	if !found {
		return Events{}, notFound
	}
	if evs == nil {
		evs = []domain.PaymentEvent{}
	}
	return Events{Data: evs}, nil
}

// Customers returns the caller's linked customers (an API key's: its one
// customer), each with its linked users, sorted by name
// (case-insensitively) and then id.
func (s *Service) Customers(ctx context.Context, caller Caller, req ReadRequest) ([]Customer, error) {
	if err := s.WaitFor(ctx, req.MinLSN); err != nil {
		return nil, err
	}
	var cs []Customer
	var err error
	if caller.IsKey() {
		cs, err = s.searcher.CustomersByID(ctx, []string{normalizeID(caller.CustomerID)})
	} else {
		cs, err = s.searcher.LinkedCustomers(ctx, normalizeID(caller.UserID))
	}
	if err != nil {
		return nil, err
	}
	byName := func(aName, aID, bName, bID string) int {
		return cmp.Or(cmp.Compare(strings.ToLower(aName), strings.ToLower(bName)), cmp.Compare(aName, bName), cmp.Compare(aID, bID))
	}
	for i := range cs {
		if cs[i].Users == nil {
			cs[i].Users = []User{}
		}
		slices.SortFunc(cs[i].Users, func(a, b User) int { return byName(a.Name, a.ID, b.Name, b.ID) })
	}
	slices.SortFunc(cs, func(a, b Customer) int { return byName(a.Name, a.ID, b.Name, b.ID) })
	if cs == nil {
		cs = []Customer{}
	}
	return cs, nil
}

// Summary aggregates the caller's payments matching req.
func (s *Service) Summary(ctx context.Context, caller Caller, req SummaryRequest) (Summary, error) {
	if err := s.WaitFor(ctx, req.MinLSN); err != nil {
		return Summary{}, err
	}
	loc := req.Location
	if loc == nil {
		loc = time.UTC
	}
	f, ok, err := s.scoped(ctx, caller, req.Filter, req.MinLSN > 0)
	if err != nil {
		return Summary{}, err
	}
	var sum Summary
	if ok {
		if sum, err = s.searcher.Summarize(ctx, f, loc); err != nil {
			return Summary{}, err
		}
	} else {
		sum.Histogram = FillDays(nil, req.Filter, loc) // the zero days the engine would list
	}
	if sum.SumByCurrency == nil {
		sum.SumByCurrency = map[string]int64{}
	}
	if sum.CountByStatus == nil {
		sum.CountByStatus = map[string]int64{}
	}
	for _, st := range domain.Statuses {
		sum.CountByStatus[string(st)] += 0
	}
	if sum.CountByFailureCode == nil {
		sum.CountByFailureCode = map[string]int64{}
	}
	sum.SuccessRate = SuccessRate(sum.CountByStatus)
	if sum.Histogram == nil {
		sum.Histogram = []Day{}
	}
	for i := range sum.Histogram {
		if sum.Histogram[i].SumByCurrency == nil {
			sum.Histogram[i].SumByCurrency = map[string]int64{}
		}
	}
	return sum, nil
}

// Export walks every payment of the caller matching req in req.Sort order,
// one page of search_after at a time, and hands each non-empty page to
// yield as soon as it arrives, so memory stays constant however many
// payments match. The first page is fetched before yield is first called:
// an error before any call means nothing was produced. Like a cursor walk,
// it never repeats a payment and never skips one that existed when it
// began.
func (s *Service) Export(ctx context.Context, caller Caller, req ExportRequest, yield func([]Payment) error) error {
	if err := s.WaitFor(ctx, req.MinLSN); err != nil {
		return err
	}
	if !req.Sort.Valid() {
		req.Sort = DefaultSort
	}
	f, ok, err := s.scoped(ctx, caller, req.Filter, req.MinLSN > 0)
	if err != nil || !ok {
		return err
	}
	q := SearchQuery{Filter: f, Sort: req.Sort, Size: s.opts.ExportPageSize}
	for {
		res, err := s.searcher.Search(ctx, q)
		if err != nil {
			return err
		}
		if len(res.Payments) > 0 {
			if err := yield(res.Payments); err != nil {
				return err
			}
		}
		if len(res.Payments) < q.Size {
			return nil
		}
		last := res.Payments[len(res.Payments)-1].Key
		q.After = &last
	}
}

// Applied is the highest applied position seen so far (it may lag the
// projector's until the next wait looks again).
func (s *Service) Applied() uint64 { return s.applied.Load() }

// WaitFor returns once the projector has applied lsn (every write committed
// at or before it is searchable), polling with a short backoff for at most
// MaxWait; then it fails with EUNAVAILABLE and a Retry-After. lsn 0 never
// waits.
func (s *Service) WaitFor(ctx context.Context, lsn uint64) error {
	if lsn == 0 || s.applied.Load() >= lsn {
		return nil
	}
	deadline := time.Now().Add(s.opts.MaxWait)
	delay := 5 * time.Millisecond
	for {
		v, err := s.appliedLSN(ctx)
		if err != nil {
			return err
		}
		if v >= lsn {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return &domain.Error{Code: domain.EUNAVAILABLE, Reason: "consistency_timeout", RetryAfter: 1,
				Message: fmt.Sprintf("The read model has not caught up with your write yet (waited %s); retry shortly.", s.opts.MaxWait)}
		}
		t := time.NewTimer(min(delay, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("query: wait for position: %w", ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// appliedLSN reads the applied position, coalescing concurrent readers.
func (s *Service) appliedLSN(ctx context.Context) (uint64, error) {
	v, err, _ := s.flight.Do("applied_lsn", func() (any, error) {
		ctx, cancel := shared(ctx)
		defer cancel()
		return s.searcher.AppliedLSN(ctx)
	})
	if err != nil {
		return 0, err
	}
	lsn := v.(uint64)
	for {
		cur := s.applied.Load()
		if lsn <= cur || s.applied.CompareAndSwap(cur, lsn) {
			return max(lsn, cur), nil
		}
	}
}

// scoped returns f with CustomerIDs replaced by its intersection with the
// caller's linked customers (all of them when f names none); ok is false
// when that intersection is empty.
func (s *Service) scoped(ctx context.Context, caller Caller, f Filter, fresh bool) (Filter, bool, error) {
	scope, err := s.scope(ctx, caller, fresh)
	if err != nil {
		return Filter{}, false, err
	}
	eff := scope
	if len(f.CustomerIDs) > 0 {
		eff = nil
		for _, id := range f.CustomerIDs {
			if _, found := slices.BinarySearch(scope, id); found {
				eff = append(eff, id)
			}
		}
	}
	if len(eff) == 0 {
		return Filter{}, false, nil
	}
	f.CustomerIDs = eff
	return f, true, nil
}

// scope returns the sorted ids of the caller's linked customers, from the
// cache when an entry younger than ScopeTTL exists and fresh is not set.
// fresh lookups (after a read-your-writes wait) bypass the cache and any
// lookup in flight, which may predate the awaited write. An API key's
// scope is exactly its customer (the key was found in that customer's
// access document when it was authenticated).
func (s *Service) scope(ctx context.Context, caller Caller, fresh bool) ([]string, error) {
	if caller.IsKey() {
		if caller.CustomerID == "" {
			return nil, nil
		}
		return []string{normalizeID(caller.CustomerID)}, nil
	}
	userID := normalizeID(caller.UserID)
	ttl := s.opts.ScopeTTL
	if ttl > 0 && !fresh {
		s.mu.Lock()
		e, hit := s.cache[userID]
		s.mu.Unlock()
		if hit && s.now().Sub(e.fetched) < ttl {
			s.observe(true)
			return e.ids, nil
		}
	}
	s.observe(false)
	lookup := func() (any, error) {
		start := s.now()
		ctx, cancel := shared(ctx)
		defer cancel()
		ids, err := s.searcher.LinkedCustomerIDs(ctx, userID)
		if err != nil {
			return nil, err
		}
		ids = slices.Clone(ids)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if ttl > 0 {
			s.remember(userID, ids, start)
		}
		return ids, nil
	}
	var v any
	var err error
	if fresh {
		v, err = lookup()
	} else {
		v, err, _ = s.flight.Do("scope:"+userID, lookup)
	}
	if err != nil {
		return nil, err
	}
	return v.([]string), nil
}

func (s *Service) remember(userID string, ids []string, fetched time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= 10_000 {
		for k, e := range s.cache {
			if s.now().Sub(e.fetched) >= s.opts.ScopeTTL {
				delete(s.cache, k)
			}
		}
	}
	if e, ok := s.cache[userID]; !ok || e.fetched.Before(fetched) {
		s.cache[userID] = scopeEntry{ids: ids, fetched: fetched}
	}
}

func (s *Service) observe(cached bool) {
	if s.opts.OnScopeLookup != nil {
		s.opts.OnScopeLookup(cached)
	}
}

func normalizeID(id string) string { return strings.ToLower(id) }

// shared returns the context of a lookup that concurrent requests share:
// one caller going away must not fail the others, so it keeps ctx's values
// but not its cancellation, with a bound of its own.
func shared(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), sharedLookupTimeout)
}

const sharedLookupTimeout = 10 * time.Second
