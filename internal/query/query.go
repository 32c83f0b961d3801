// Package query holds Wildcat's read use cases (docs/query-api.md): parsing and
// validating search parameters, scoping every read to the caller's linked
// customers, opaque tamper-evident cursors over search_after, summaries,
// streamed exports and read-your-writes waits. It declares the Searcher it
// needs; internal/search implements it on the search engine. The
// package never imports gin, pgx or the search client.
package query

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// Searcher is the read model as the query use cases need it. Every method
// answers from the search engine's current searchable state; none of them
// scopes by itself: callers pass the customer ids the caller may see.
// Implementations must be safe for concurrent use.
type Searcher interface {
	// LinkedCustomerIDs returns the ids of the customers whose linked users
	// include userID, in any order.
	LinkedCustomerIDs(ctx context.Context, userID string) ([]string, error)
	// LinkedCustomers returns the same customers with their linked users.
	LinkedCustomers(ctx context.Context, userID string) ([]Customer, error)
	// CustomersByID returns the customers with ids (those that exist), with
	// their linked users, in any order.
	CustomersByID(ctx context.Context, ids []string) ([]Customer, error)
	// Search returns up to q.Size payments matching q in q.Sort order, each
	// with its sort key, strictly after q.After when set. Total counts the
	// payments matching q's filter (ignoring After): exactly when there are
	// at most q.TotalLimit of them (or always when q.TotalLimit is 0), with
	// TotalExact set; otherwise Total is a lower bound (at least
	// q.TotalLimit) and TotalExact is false.
	Search(ctx context.Context, q SearchQuery) (SearchResult, error)
	// Payment returns the payment with id if its customer is one of
	// customerIDs; found is false otherwise.
	Payment(ctx context.Context, id string, customerIDs []string) (p Payment, found bool, err error)
	// Summarize aggregates the payments matching f with exact integer sums;
	// days are calendar days in loc.
	Summarize(ctx context.Context, f Filter, loc *time.Location) (Summary, error)
	// Events returns the timeline of the payment with id, in event id
	// order, if its customer is one of customerIDs; found is false
	// otherwise.
	Events(ctx context.Context, id string, customerIDs []string) (events []domain.PaymentEvent, found bool, err error)
	// AppliedLSN returns the projector's published position: every write
	// committed at or before it is searchable. 0 when none is published.
	AppliedLSN(ctx context.Context) (uint64, error)
}

// Caller is who a read is for: a user, who sees the customers they are
// linked to, or an API key, which sees exactly its one customer.
type Caller struct {
	UserID     string // the user; "" for an API key
	KeyID      string // the API key; "" for a user
	CustomerID string // the API key's customer
}

// UserCaller is the caller of a user access token.
func UserCaller(userID string) Caller { return Caller{UserID: userID} }

// KeyCaller is the caller of an API key acting for customerID.
func KeyCaller(keyID, customerID string) Caller { return Caller{KeyID: keyID, CustomerID: customerID} }

// IsKey reports whether c is an API key.
func (c Caller) IsKey() bool { return c.KeyID != "" }

// ID is a stable, unique id of the caller (cursors are signed for it; logs
// name it): the user id, or "key:<key id>" for an API key, which has no
// user id of its own.
func (c Caller) ID() string {
	if c.IsKey() {
		return "key:" + normalizeID(c.KeyID)
	}
	return c.UserID
}

// Sort is a result order: a field, ascending or descending (leading "-").
// Ties are always broken by payment id in the same direction, so sort keys
// are unique and search_after never duplicates or skips.
type Sort string

// Sort orders.
const (
	SortDateDesc   Sort = "-date"
	SortDate       Sort = "date"
	SortAmountDesc Sort = "-amount"
	SortAmount     Sort = "amount"
)

// DefaultSort is the order when none is asked for.
const DefaultSort = SortDateDesc

// Valid reports whether s is a known sort.
func (s Sort) Valid() bool {
	switch s {
	case SortDateDesc, SortDate, SortAmountDesc, SortAmount:
		return true
	}
	return false
}

// Field returns the document field s orders by: "date" or "amount".
func (s Sort) Field() string {
	if len(s) > 0 && s[0] == '-' {
		return string(s[1:])
	}
	return string(s)
}

// Desc reports whether s is descending.
func (s Sort) Desc() bool { return len(s) > 0 && s[0] == '-' }

// Filter is a validated, normalized set of payment filters; zero fields do
// not filter. Lists are sorted and free of duplicates; ids are lower case.
// From and To are compared at millisecond precision (the index's): a payment
// matches when From ≤ date < To.
type Filter struct {
	From        *time.Time
	To          *time.Time
	CustomerIDs []string
	UserIDs     []string
	// ExecutedBy matches payments executed by one of these users or API
	// keys (executed_by.id; a payment made with a key matches its key, not
	// its user_id).
	ExecutedBy   []string
	Statuses     []domain.Status
	Currencies   []string
	PaymentRefID string
	AmountMin    *int64
	AmountMax    *int64
	// FailureCodes matches payments whose failure_code is one of them
	// (only failed payments have one).
	FailureCodes []string
	// Refunded, when set, matches payments with amount_refunded > 0 (true)
	// or = 0 (false).
	Refunded *bool
	// Text is free text over third party, description and customer name:
	// every word must occur in at least one of them. It is never query
	// syntax.
	Text string
}

// SortKey is the position of a payment in a sort: the value of the sort
// field as the engine orders it (epoch milliseconds for date, minor units
// for amount) and the payment id.
type SortKey struct {
	Value int64
	ID    string
}

// SearchQuery is one scoped engine search. Filter.CustomerIDs is already the
// intersection of the caller's scope and the requested customers, and is
// never empty.
type SearchQuery struct {
	Filter Filter
	Sort   Sort
	Size   int
	After  *SortKey
	// TotalLimit is how far matches are counted exactly: beyond it the
	// engine stops counting (and can skip non-competitive hits, which is
	// much cheaper on large results) and the total is a lower bound. 0
	// counts every match exactly.
	TotalLimit int
}

// SearchResult is one page of engine hits.
type SearchResult struct {
	Payments []Payment
	// Total is the number of matches when TotalExact, otherwise a lower
	// bound of it.
	Total      int64
	TotalExact bool
}

// Total relations of a Page: whether total is the exact count or a lower
// bound.
const (
	TotalEqual        = "eq"
	TotalGreaterEqual = "gte"
)

// Payment is a payment as the query API returns it: the payment plus the
// customer's current name and the executing user's name and email
// (domain.PaymentView), and its place in the search that found it.
type Payment struct {
	domain.PaymentView

	// Key is the payment's position in the search that returned it.
	Key SortKey `json:"-"`
}

// Customer is a customer the caller is linked to, with its linked users.
type Customer struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Email *string `json:"email"`
	Users []User  `json:"users"`
}

// User is a user linked to a customer.
type User struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Page is one page of GET /v1/payments. NextCursor is set exactly when
// HasMore is; Total counts every match of the filter, not just this page:
// exactly when TotalRelation is TotalEqual, as a lower bound when it is
// TotalGreaterEqual.
type Page struct {
	Data          []Payment `json:"data"`
	NextCursor    *string   `json:"next_cursor"`
	HasMore       bool      `json:"has_more"`
	Total         int64     `json:"total"`
	TotalRelation string    `json:"total_relation"`
}

// Summary aggregates the payments matching a filter. Sums are exact
// integers in minor units, one per currency, never across currencies.
// CountByStatus has every status (zero when none match);
// CountByFailureCode only the codes that occur. SuccessRate is
// succeeded / (succeeded + failed), a number from 0 to 1, or nil (JSON null)
// when no matching payment is decided yet: pending, processing and canceled
// payments do not count.
type Summary struct {
	Count              int64            `json:"count"`
	SumByCurrency      map[string]int64 `json:"sum_by_currency"`
	CountByStatus      map[string]int64 `json:"count_by_status"`
	CountByFailureCode map[string]int64 `json:"count_by_failure_code"`
	SuccessRate        *float64         `json:"success_rate"`
	Histogram          []Day            `json:"histogram"`
}

// MaxHistogramDays bounds the zero days a summary's histogram adds: when
// from and to are both given and span at most this many days, every day
// between them is listed (count 0 where none match); a longer span lists
// the days from the first to the last payment, zero days between them.
const MaxHistogramDays = 3700

// HistogramBounds returns the first and last instant the histogram must
// cover (to is exclusive, so the last millisecond before it), or ok=false
// when the filter has no such bounds or they span more than
// MaxHistogramDays.
func HistogramBounds(f Filter) (first, last time.Time, ok bool) {
	if f.From == nil || f.To == nil {
		return time.Time{}, time.Time{}, false
	}
	first, last = f.From.Truncate(time.Millisecond), f.To.Add(-time.Millisecond)
	if last.Before(first) || last.Sub(first) > MaxHistogramDays*24*time.Hour {
		return time.Time{}, time.Time{}, false
	}
	return first, last, true
}

// FillDays returns the histogram h (sorted, dates YYYY-MM-DD in loc) with
// the zero days the engine adds: the days of HistogramBounds(f), and every
// calendar day missing between the first and the last day.
func FillDays(h []Day, f Filter, loc *time.Location) []Day {
	if first, last, ok := HistogramBounds(f); ok {
		for _, t := range []time.Time{first, last} {
			key := t.In(loc).Format(time.DateOnly)
			if !slices.ContainsFunc(h, func(d Day) bool { return d.Date == key }) {
				h = append(h, Day{Date: key, SumByCurrency: map[string]int64{}})
			}
		}
		slices.SortFunc(h, func(a, b Day) int { return strings.Compare(a.Date, b.Date) })
	}
	if len(h) < 2 {
		return h
	}
	out := make([]Day, 0, len(h))
	for i, d := range h {
		if i > 0 {
			prev, _ := time.Parse(time.DateOnly, h[i-1].Date)
			for day := prev.AddDate(0, 0, 1); day.Format(time.DateOnly) < d.Date; day = day.AddDate(0, 0, 1) {
				out = append(out, Day{Date: day.Format(time.DateOnly), SumByCurrency: map[string]int64{}})
			}
		}
		out = append(out, d)
	}
	return out
}

// SuccessRate returns succeeded / (succeeded + failed) of countByStatus, or
// nil when both are zero.
func SuccessRate(countByStatus map[string]int64) *float64 {
	ok, failed := countByStatus[string(domain.StatusSucceeded)], countByStatus[string(domain.StatusFailed)]
	if ok+failed == 0 {
		return nil
	}
	r := float64(ok) / float64(ok+failed)
	return &r
}

// Events is the answer of GET /v1/payments/{id}/events.
type Events struct {
	Data []domain.PaymentEvent `json:"data"`
}

// Day is one calendar day of a summary histogram (days without payments
// are omitted).
type Day struct {
	Date          string           `json:"date"` // YYYY-MM-DD in the summary's time zone
	Count         int64            `json:"count"`
	SumByCurrency map[string]int64 `json:"sum_by_currency"`
}
