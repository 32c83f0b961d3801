// Package querytest provides an in-memory query.Searcher and the reference
// semantics of every filter, sort and summary evaluated in plain Go. Tests
// use it as a fake for the use cases and as the oracle the real search
// engine adapter is compared with.
package querytest

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/query"
)

// Memory is an in-memory query.Searcher. It is safe for concurrent use.
type Memory struct {
	mu        sync.RWMutex
	payments  map[string]query.Payment
	events    map[string][]domain.PaymentEvent
	customers map[string]memCustomer
	applied   uint64
	err       error
	calls     map[string]int
}

type memCustomer struct {
	c       query.Customer
	userIDs []string
}

var _ query.Searcher = (*Memory)(nil)

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{payments: map[string]query.Payment{}, events: map[string][]domain.PaymentEvent{},
		customers: map[string]memCustomer{}, calls: map[string]int{}}
}

// PutPayment stores p (replacing one with the same id).
func (m *Memory) PutPayment(p query.Payment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.payments[p.ID] = p
}

// PutEvents stores the timeline of payment paymentID (replacing it), in
// the order given.
func (m *Memory) PutEvents(paymentID string, events []domain.PaymentEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events[paymentID] = slices.Clone(events)
}

// PutCustomer stores c with the given users linked (replacing c.ID's links).
func (m *Memory) PutCustomer(c query.Customer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, len(c.Users))
	for i, u := range c.Users {
		ids[i] = u.ID
	}
	m.customers[c.ID] = memCustomer{c: c, userIDs: ids}
}

// SetApplied sets the applied position.
func (m *Memory) SetApplied(lsn uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.applied = lsn
}

// FailWith makes every later call fail with err (nil restores).
func (m *Memory) FailWith(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

// Calls returns how often the named method was called.
func (m *Memory) Calls(method string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.calls[method]
}

func (m *Memory) enter(method string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls[method]++
	return m.err
}

// LinkedCustomerIDs implements query.Searcher.
func (m *Memory) LinkedCustomerIDs(ctx context.Context, userID string) ([]string, error) {
	if err := m.enter("LinkedCustomerIDs"); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var ids []string
	for id, c := range m.customers {
		if slices.Contains(c.userIDs, userID) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// LinkedCustomers implements query.Searcher.
func (m *Memory) LinkedCustomers(ctx context.Context, userID string) ([]query.Customer, error) {
	if err := m.enter("LinkedCustomers"); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var cs []query.Customer
	for _, c := range m.customers {
		if slices.Contains(c.userIDs, userID) {
			cc := c.c
			cc.Users = slices.Clone(c.c.Users)
			cs = append(cs, cc)
		}
	}
	return cs, nil
}

// CustomersByID implements query.Searcher.
func (m *Memory) CustomersByID(ctx context.Context, ids []string) ([]query.Customer, error) {
	if err := m.enter("CustomersByID"); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var cs []query.Customer
	for id, c := range m.customers {
		if slices.Contains(ids, id) {
			cc := c.c
			cc.Users = slices.Clone(c.c.Users)
			cs = append(cs, cc)
		}
	}
	return cs, nil
}

// Search implements query.Searcher.
func (m *Memory) Search(ctx context.Context, q query.SearchQuery) (query.SearchResult, error) {
	if err := m.enter("Search"); err != nil {
		return query.SearchResult{}, err
	}
	m.mu.RLock()
	all := Filter(m.all(), q.Filter)
	m.mu.RUnlock()
	SortPayments(all, q.Sort)
	// Like the engine's track_total_hits: exact up to the limit, then the
	// limit as a lower bound.
	res := query.SearchResult{Total: int64(len(all)), TotalExact: true}
	if q.TotalLimit > 0 && len(all) > q.TotalLimit {
		res.Total, res.TotalExact = int64(q.TotalLimit), false
	}
	for _, p := range all {
		if q.After != nil && !After(q.Sort, p.Key, *q.After) {
			continue
		}
		if len(res.Payments) == q.Size {
			break
		}
		res.Payments = append(res.Payments, p)
	}
	return res, nil
}

// Payment implements query.Searcher.
func (m *Memory) Payment(ctx context.Context, id string, customerIDs []string) (query.Payment, bool, error) {
	if err := m.enter("Payment"); err != nil {
		return query.Payment{}, false, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.payments[id]
	if !ok || !slices.Contains(customerIDs, p.CustomerID) {
		return query.Payment{}, false, nil
	}
	return p, true, nil
}

// Events implements query.Searcher.
func (m *Memory) Events(ctx context.Context, id string, customerIDs []string) ([]domain.PaymentEvent, bool, error) {
	if err := m.enter("Events"); err != nil {
		return nil, false, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.payments[id]
	if !ok || !slices.Contains(customerIDs, p.CustomerID) {
		return nil, false, nil
	}
	evs := slices.Clone(m.events[id])
	if evs == nil {
		evs = []domain.PaymentEvent{}
	}
	return evs, true, nil
}

// Summarize implements query.Searcher.
func (m *Memory) Summarize(ctx context.Context, f query.Filter, loc *time.Location) (query.Summary, error) {
	if err := m.enter("Summarize"); err != nil {
		return query.Summary{}, err
	}
	m.mu.RLock()
	ps := Filter(m.all(), f)
	m.mu.RUnlock()
	return Summarize(ps, f, loc), nil
}

// AppliedLSN implements query.Searcher.
func (m *Memory) AppliedLSN(ctx context.Context) (uint64, error) {
	if err := m.enter("AppliedLSN"); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.applied, nil
}

func (m *Memory) all() []query.Payment {
	out := make([]query.Payment, 0, len(m.payments))
	for _, p := range m.payments {
		out = append(out, p)
	}
	return out
}

// Filter returns the payments matching f.
func Filter(ps []query.Payment, f query.Filter) []query.Payment {
	var out []query.Payment
	for _, p := range ps {
		if Match(f, p) {
			out = append(out, p)
		}
	}
	return out
}

// Match reports whether p matches f: the reference semantics of every
// filter. Dates compare at millisecond precision (the index's).
func Match(f query.Filter, p query.Payment) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	ms := p.Date.UnixMilli()
	switch {
	case f.From != nil && ms < f.From.UnixMilli(),
		f.To != nil && ms >= f.To.UnixMilli(),
		!in(f.CustomerIDs, p.CustomerID),
		!in(f.UserIDs, p.UserID),
		!in(f.ExecutedBy, p.ExecutedBy.ID),
		len(f.Statuses) > 0 && !slices.Contains(f.Statuses, p.Status),
		!in(f.Currencies, p.Currency),
		f.PaymentRefID != "" && f.PaymentRefID != p.PaymentRefID,
		f.AmountMin != nil && p.Amount < *f.AmountMin,
		f.AmountMax != nil && p.Amount > *f.AmountMax,
		len(f.FailureCodes) > 0 && (p.FailureCode == nil || !slices.Contains(f.FailureCodes, *p.FailureCode)),
		f.Refunded != nil && *f.Refunded != (p.AmountRefunded > 0):
		return false
	}
	if f.Text != "" {
		words := Tokens(f.Text)
		if len(words) == 0 {
			return false
		}
		have := Tokens(p.ThirdParty + " " + p.Description + " " + p.CustomerName)
		for _, w := range words {
			if !slices.Contains(have, w) {
				return false
			}
		}
	}
	return true
}

// Tokens splits s into lower-case words of letters and digits, like the
// engines' standard analyzer does for the plain words the tests use.
func Tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// Key returns p's position in sort: epoch milliseconds or amount, and id.
func Key(sort query.Sort, p query.Payment) query.SortKey {
	if sort.Field() == "amount" {
		return query.SortKey{Value: p.Amount, ID: p.ID}
	}
	return query.SortKey{Value: p.Date.UnixMilli(), ID: p.ID}
}

// Compare orders two sort keys in sort's direction.
func Compare(sort query.Sort, a, b query.SortKey) int {
	c := cmp.Or(cmp.Compare(a.Value, b.Value), cmp.Compare(a.ID, b.ID))
	if sort.Desc() {
		return -c
	}
	return c
}

// After reports whether key comes strictly after cursor in sort.
func After(sort query.Sort, key, cursor query.SortKey) bool { return Compare(sort, key, cursor) > 0 }

// SortPayments orders ps by sort (ties by id), setting each Key.
func SortPayments(ps []query.Payment, sort query.Sort) {
	for i := range ps {
		ps[i].Key = Key(sort, ps[i])
	}
	slices.SortFunc(ps, func(a, b query.Payment) int { return Compare(sort, a.Key, b.Key) })
}

// Summarize aggregates ps (the payments matching f) exactly, with calendar
// days in loc, zero days included as query.HistogramBounds says.
func Summarize(ps []query.Payment, f query.Filter, loc *time.Location) query.Summary {
	s := query.Summary{SumByCurrency: map[string]int64{}, CountByStatus: map[string]int64{},
		CountByFailureCode: map[string]int64{}, Histogram: []query.Day{}}
	days := map[string]*query.Day{}
	for _, p := range ps {
		s.Count++
		s.SumByCurrency[p.Currency] = addExact(s.SumByCurrency[p.Currency], p.Amount)
		s.CountByStatus[string(p.Status)]++
		if p.FailureCode != nil {
			s.CountByFailureCode[*p.FailureCode]++
		}
		key := time.UnixMilli(p.Date.UnixMilli()).In(loc).Format(time.DateOnly)
		d := days[key]
		if d == nil {
			d = &query.Day{Date: key, SumByCurrency: map[string]int64{}}
			days[key] = d
		}
		d.Count++
		d.SumByCurrency[p.Currency] = addExact(d.SumByCurrency[p.Currency], p.Amount)
	}
	for _, st := range domain.Statuses {
		s.CountByStatus[string(st)] += 0
	}
	s.SuccessRate = query.SuccessRate(s.CountByStatus)
	for _, d := range days {
		s.Histogram = append(s.Histogram, *d)
	}
	slices.SortFunc(s.Histogram, func(a, b query.Day) int { return cmp.Compare(a.Date, b.Date) })
	s.Histogram = query.FillDays(s.Histogram, f, loc)
	return s
}

func addExact(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		panic("querytest: sum overflows int64")
	}
	return a + b
}
