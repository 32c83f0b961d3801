package query

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// Parameter limits.
const (
	DefaultLimit  = 50
	MaxLimit      = 500
	MaxIDs        = 500 // values of one repeatable id parameter
	MaxTextLen    = 200 // code points of q
	MaxCodes      = 50  // values of failure_code
	MaxCodeLen    = 64  // code points of one failure code (as the write model)
	MaxCursorLen  = 1024
	maxZoneLength = 64
)

// SearchRequest is a validated GET /v1/payments.
type SearchRequest struct {
	Filter Filter
	Sort   Sort
	Limit  int
	Cursor string // opaque; verified against the query and the caller by Service.Search
	MinLSN uint64 // from the consistency token; 0 for none
	// ExactTotal asks for an exact total however many payments match
	// (exact_total=true). It changes only how total is counted, never the
	// rows, so it is not part of a cursor's filter: a cursor stays valid
	// with or without it.
	ExactTotal bool
}

// SummaryRequest is a validated GET /v1/payments/summary.
type SummaryRequest struct {
	Filter   Filter
	Location *time.Location // never nil
	MinLSN   uint64
}

// ExportRequest is a validated GET /v1/payments/export.csv.
type ExportRequest struct {
	Filter Filter
	Sort   Sort
	// Columns are the chosen columns, in the order asked for; all of
	// ExportColumns when the request names none.
	Columns []string
	// Location is the time zone of the exported instants (tz); never nil,
	// UTC by default.
	Location *time.Location
	MinLSN   uint64
}

// ExportColumns lists every column of the CSV export, in the default order.
var ExportColumns = []string{
	"id", "payment_ref_id", "date", "customer_id", "customer_name", "user_id", "user_name", "user_email",
	"third_party", "description", "amount_minor", "amount", "currency", "status",
	"failure_code", "attempts", "processed_at", "amount_refunded",
	"executed_by_type", "executed_by_id", "executed_by_name",
}

// ReadRequest is a validated GET of one resource (a payment, the customers):
// only a consistency token may be given.
type ReadRequest struct {
	MinLSN uint64
}

// Parameter names.
const (
	pFrom        = "from"
	pTo          = "to"
	pCustomerID  = "customer_id"
	pUserID      = "user_id"
	pExecutedBy  = "executed_by"
	pStatus      = "status"
	pCurrency    = "currency"
	pPaymentRef  = "payment_ref_id"
	pAmountMin   = "amount_min"
	pAmountMax   = "amount_max"
	pFailureCode = "failure_code"
	pRefunded    = "refunded"
	pText        = "q"
	pSort        = "sort"
	pLimit       = "limit"
	pCursor      = "cursor"
	pTZ          = "tz"
	pConsistency = "consistency_token"
	pExactTotal  = "exact_total"
	pColumns     = "columns"
)

var (
	filterParams  = []string{pFrom, pTo, pCustomerID, pUserID, pExecutedBy, pStatus, pCurrency, pPaymentRef, pAmountMin, pAmountMax, pFailureCode, pRefunded, pText}
	searchParams  = append(slices.Clone(filterParams), pSort, pLimit, pCursor, pExactTotal, pConsistency)
	summaryParams = append(slices.Clone(filterParams), pTZ, pConsistency)
	exportParams  = append(slices.Clone(filterParams), pSort, pColumns, pTZ, pConsistency)
	readParams    = []string{pConsistency}
)

// Parameters lists the query parameters each operation accepts, for
// documentation checks: "search", "summary", "export" and "read".
func Parameters(op string) []string {
	switch op {
	case "search":
		return slices.Clone(searchParams)
	case "summary":
		return slices.Clone(summaryParams)
	case "export":
		return slices.Clone(exportParams)
	case "read":
		return slices.Clone(readParams)
	}
	return nil
}

// ParseSearch validates the query parameters of a search. tokenHeader is
// the X-Consistency-Token header ("" if absent). Every bad parameter is
// reported in one EINVALID error; the cursor's signature is checked later
// by Service.Search, which knows the caller.
func ParseSearch(v url.Values, tokenHeader string) (SearchRequest, error) {
	p := newParser(v, searchParams)
	req := SearchRequest{
		Filter:     p.filter(),
		Sort:       p.sort(),
		Limit:      p.limit(),
		Cursor:     p.cursor(),
		MinLSN:     p.consistency(tokenHeader),
		ExactTotal: p.boolean(pExactTotal),
	}
	p.amountSortNeedsOneCurrency(req.Sort, req.Filter)
	return req, p.err()
}

// ParseSummary validates the query parameters of a summary; tz defaults to
// UTC.
func ParseSummary(v url.Values, tokenHeader string) (SummaryRequest, error) {
	p := newParser(v, summaryParams)
	req := SummaryRequest{
		Filter:   p.filter(),
		Location: p.location(),
		MinLSN:   p.consistency(tokenHeader),
	}
	return req, p.err()
}

// ParseExport validates the query parameters of a CSV export.
func ParseExport(v url.Values, tokenHeader string) (ExportRequest, error) {
	p := newParser(v, exportParams)
	req := ExportRequest{
		Filter:   p.filter(),
		Sort:     p.sort(),
		Columns:  p.columns(),
		Location: p.location(),
		MinLSN:   p.consistency(tokenHeader),
	}
	p.amountSortNeedsOneCurrency(req.Sort, req.Filter)
	return req, p.err()
}

// ParseRead validates the query parameters of a single-resource read.
func ParseRead(v url.Values, tokenHeader string) (ReadRequest, error) {
	p := newParser(v, readParams)
	req := ReadRequest{MinLSN: p.consistency(tokenHeader)}
	return req, p.err()
}

// ParseQuery parses a raw query string strictly: malformed escapes or
// separators are an EINVALID error instead of silently dropped pairs.
func ParseQuery(raw string) (url.Values, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, &domain.Error{Code: domain.EINVALID, Message: "The query string is malformed (bad percent-encoding or separator).",
			Fields: []domain.FieldError{{Field: "query", Message: "is not a well-formed query string"}}}
	}
	return v, nil
}

// parser reads url.Values, recording every problem in one Validation. A
// parameter with an empty value is treated as absent.
type parser struct {
	v   url.Values
	val domain.Validation
}

func newParser(v url.Values, allowed []string) *parser {
	p := &parser{v: v}
	var unknown []string
	for name := range v {
		if !slices.Contains(allowed, name) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	const maxReported = 20 // a URL can hold thousands; naming a few is enough
	for i, name := range unknown {
		if i == maxReported {
			p.val.Add("query", "has %d more unknown parameters", len(unknown)-maxReported)
			break
		}
		p.val.Add(printable(name), "is not a known parameter (accepted: %s)", strings.Join(allowed, ", "))
	}
	return p
}

func (p *parser) err() error { return p.val.Err() }

// one returns the single non-empty value of name ("" when absent).
func (p *parser) one(name string) string {
	var got []string
	for _, s := range p.v[name] {
		if s != "" {
			got = append(got, s)
		}
	}
	switch len(got) {
	case 0:
		return ""
	case 1:
		return got[0]
	default:
		p.val.Add(name, "must be given at most once")
		return ""
	}
}

// many returns the non-empty values of name, de-duplicated and sorted.
func (p *parser) many(name string, max int) []string {
	var got []string
	for _, s := range p.v[name] {
		if s != "" && !slices.Contains(got, s) {
			got = append(got, s)
		}
	}
	if len(got) > max {
		p.val.Add(name, "must be given at most %d times", max)
		return nil
	}
	slices.Sort(got)
	return got
}

func (p *parser) filter() Filter {
	var f Filter
	f.From = p.time(pFrom)
	f.To = p.time(pTo)
	if f.From != nil && f.To != nil && !f.To.After(*f.From) {
		p.val.Add(pTo, "must be later than from")
	}
	f.CustomerIDs = p.ids(pCustomerID)
	f.UserIDs = p.ids(pUserID)
	f.ExecutedBy = p.ids(pExecutedBy)
	for _, s := range p.many(pStatus, 10) {
		if st := domain.Status(s); st.Valid() {
			f.Statuses = append(f.Statuses, st)
		} else {
			p.val.Add(pStatus, "must be one of %s (got %q)", statusNames, printable(s))
		}
	}
	for _, c := range p.many(pCurrency, 200) {
		if domain.IsCurrency(c) {
			f.Currencies = append(f.Currencies, c)
		} else {
			p.val.Add(pCurrency, "must be an upper-case ISO 4217 currency code such as DKK or EUR (got %q)", printable(c))
		}
	}
	if s := p.one(pPaymentRef); s != "" {
		if domain.IsUUID(s) {
			f.PaymentRefID = strings.ToLower(s)
		} else {
			domain.ValidateUUID(&p.val, pPaymentRef, s)
		}
	}
	f.AmountMin = p.amount(pAmountMin)
	f.AmountMax = p.amount(pAmountMax)
	if f.AmountMin != nil && f.AmountMax != nil && *f.AmountMin > *f.AmountMax {
		p.val.Add(pAmountMax, "must be at least amount_min")
	}
	f.FailureCodes = p.codes(pFailureCode)
	f.Refunded = p.optBoolean(pRefunded)
	if s := p.one(pText); s != "" {
		n := len(p.val.Fields())
		domain.ValidateMultilineText(&p.val, pText, s, 0, MaxTextLen)
		if len(p.val.Fields()) == n {
			f.Text = strings.TrimSpace(s)
		}
	}
	return f
}

// statusNames lists the statuses for messages: "pending, processing, …".
var statusNames = func() string {
	names := make([]string, len(domain.Statuses))
	for i, s := range domain.Statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}()

// codes reads a repeatable failure code: 1 to MaxCodeLen code points of
// text without control characters, matched exactly.
func (p *parser) codes(name string) []string {
	vals := p.many(name, MaxCodes)
	n := len(p.val.Fields())
	for _, s := range vals {
		domain.ValidateText(&p.val, name, s, 1, MaxCodeLen)
		if len(p.val.Fields()) > n {
			return nil
		}
	}
	if len(vals) == 0 {
		return nil
	}
	return vals
}

// offsetWithSpace matches an RFC 3339 time whose "+hh:mm" offset arrived
// as " hh:mm" because an unencoded "+" in a query string means a space.
var offsetWithSpace = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})? \d{2}:\d{2}$`)

func (p *parser) time(name string) *time.Time {
	s := p.one(name)
	if s == "" {
		return nil
	}
	if offsetWithSpace.MatchString(s) {
		s = s[:len(s)-6] + "+" + s[len(s)-5:]
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		p.val.Add(name, "must be an RFC 3339 date-time such as 2024-05-01T00:00:00Z")
		return nil
	}
	t = t.UTC()
	return &t
}

func (p *parser) ids(name string) []string {
	vals := p.many(name, MaxIDs)
	out := make([]string, 0, len(vals))
	bad := false
	for _, s := range vals {
		if !domain.IsUUID(s) {
			bad = true
			continue
		}
		if id := strings.ToLower(s); !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if bad {
		p.val.Add(name, "must be a UUID such as 123e4567-e89b-12d3-a456-426614174000")
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

var digits = regexp.MustCompile(`^[0-9]{1,19}$`)

func (p *parser) amount(name string) *int64 {
	s := p.one(name)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if !digits.MatchString(s) || err != nil || n > domain.MaxAmount {
		p.val.Add(name, "must be an integer number of minor units between 0 and %d", domain.MaxAmount)
		return nil
	}
	return &n
}

func (p *parser) sort() Sort {
	s := p.one(pSort)
	if s == "" {
		return DefaultSort
	}
	if !Sort(s).Valid() {
		p.val.Add(pSort, "must be one of date, -date, amount, -amount")
		return DefaultSort
	}
	return Sort(s)
}

// amountSortNeedsOneCurrency refuses an amount order across currencies:
// minor units of different currencies are not comparable (100 JPY is less
// than 1 EUR; 100 KWD far more), so sort=amount and sort=-amount need
// exactly one currency filter.
func (p *parser) amountSortNeedsOneCurrency(s Sort, f Filter) {
	if s.Field() == "amount" && len(f.Currencies) != 1 {
		p.val.Add(pSort, "sorting by amount needs exactly one currency filter (currency=EUR, for example): amounts in different currencies cannot be compared")
	}
}

// columns reads the export's chosen columns: comma-separated names of
// ExportColumns, in the order wanted, the parameter repeatable (its values
// are joined). Duplicates are reported, like unknown names.
func (p *parser) columns() []string {
	var out []string
	for _, v := range p.v[pColumns] {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			switch {
			case name == "":
				continue
			case !slices.Contains(ExportColumns, name):
				p.val.Add(pColumns, "has an unknown column %q (known: %s)", printable(name), strings.Join(ExportColumns, ", "))
				return nil
			case slices.Contains(out, name):
				p.val.Add(pColumns, "names %q twice", name)
				return nil
			}
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return slices.Clone(ExportColumns)
	}
	return out
}

func (p *parser) limit() int {
	s := p.one(pLimit)
	if s == "" {
		return DefaultLimit
	}
	n, err := strconv.Atoi(s)
	if !digits.MatchString(s) || err != nil || n < 1 || n > MaxLimit {
		p.val.Add(pLimit, "must be an integer from 1 to %d", MaxLimit)
		return DefaultLimit
	}
	return n
}

func (p *parser) cursor() string {
	s := p.one(pCursor)
	if s == "" {
		return ""
	}
	if len(s) > MaxCursorLen {
		p.val.Add(pCursor, "is not a cursor returned by this API")
		return ""
	}
	if _, err := decodeCursor(s); err != nil {
		p.val.Add(pCursor, "is not a cursor returned by this API")
		return ""
	}
	return s
}

// boolean reads a flag that is exactly "true" or "false" (absent: false).
func (p *parser) boolean(name string) bool {
	switch s := p.one(name); s {
	case "", "false":
		return false
	case "true":
		return true
	default:
		p.val.Add(name, "must be true or false")
		return false
	}
}

// optBoolean reads a filter flag that is exactly "true" or "false"
// (absent: nil, no filter).
func (p *parser) optBoolean(name string) *bool {
	var b bool
	switch s := p.one(name); s {
	case "":
		return nil
	case "true":
		b = true
	case "false":
	default:
		p.val.Add(name, "must be true or false")
		return nil
	}
	return &b
}

var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-/]*$`)

func (p *parser) location() *time.Location {
	s := p.one(pTZ)
	if s == "" {
		return time.UTC
	}
	if len(s) <= maxZoneLength && zoneName.MatchString(s) && s != "Local" && !strings.Contains(s, "..") {
		if loc, err := time.LoadLocation(s); err == nil {
			return loc
		}
	}
	p.val.Add(pTZ, "must be an IANA time zone such as UTC or Europe/Copenhagen")
	return time.UTC
}

// consistency returns the largest LSN of the consistency_token parameter
// and header; either may be absent.
func (p *parser) consistency(header string) uint64 {
	var lsn uint64
	for _, tok := range []string{p.one(pConsistency), strings.TrimSpace(header)} {
		if tok == "" {
			continue
		}
		v, err := domain.DecodeConsistencyToken(tok)
		if err != nil {
			p.val.Add(pConsistency, "is not a consistency token issued by the command API (X-Consistency-Token)")
			continue
		}
		lsn = max(lsn, v)
	}
	return lsn
}

// printable shortens and sanitizes user input echoed in error messages.
func printable(s string) string {
	const max = 64
	s = strings.ToValidUTF8(s, "�")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '�'
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}
