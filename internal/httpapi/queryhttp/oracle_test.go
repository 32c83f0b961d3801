package queryhttp_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/httpapi/queryhttp"
	"github.com/wildcat-payments/wildcat/internal/query"
	"github.com/wildcat-payments/wildcat/internal/query/querytest"
)

// combo is one random query: its URL parameters and, built independently
// of the API's parser, the filter the oracle evaluates.
type combo struct {
	caller string
	params url.Values
	filter query.Filter // without scope
	sort   query.Sort
	tz     *time.Location
}

var zones = []string{"UTC", "Europe/Copenhagen", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"}

func randomCombo(r *rand.Rand, d *dataset, payments []query.Payment) combo {
	c := combo{caller: d.users[r.IntN(2)].ID, params: url.Values{}, sort: query.DefaultSort}
	span := int64(d.end.Sub(d.start))
	instant := func() time.Time {
		return d.start.Add(time.Duration(r.Int64N(span+int64(48*time.Hour)) - int64(24*time.Hour)))
	}
	offsets := []*time.Location{time.UTC, time.FixedZone("", 2*3600), time.FixedZone("", -5*3600-30*60)}
	format := func(t time.Time) string {
		return t.In(offsets[r.IntN(len(offsets))]).Format(time.RFC3339Nano)
	}
	if r.IntN(10) < 4 {
		from := instant()
		c.filter.From = &from
		c.params.Set("from", format(from))
	}
	if r.IntN(10) < 4 {
		to := instant()
		if c.filter.From != nil && !to.After(*c.filter.From) {
			to = c.filter.From.Add(time.Duration(r.Int64N(int64(30*24*time.Hour))) + time.Millisecond)
		}
		c.filter.To = &to
		c.params.Set("to", format(to))
	}
	pick := func(n int, from []string) []string {
		var out []string
		for range n {
			v := from[r.IntN(len(from))]
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		slices.Sort(out)
		return out
	}
	var customerIDs, userIDs []string
	for _, cu := range d.customers {
		customerIDs = append(customerIDs, cu.ID)
	}
	for _, u := range d.users {
		userIDs = append(userIDs, u.ID)
	}
	if r.IntN(10) < 3 {
		c.filter.CustomerIDs = pick(1+r.IntN(3), customerIDs)
		for _, id := range c.filter.CustomerIDs {
			if r.IntN(2) == 0 {
				id = strings.ToUpper(id) // ids are case-insensitive
			}
			c.params.Add("customer_id", id)
		}
	}
	if r.IntN(10) < 2 {
		c.filter.UserIDs = pick(1+r.IntN(2), userIDs)
		c.params["user_id"] = c.filter.UserIDs
	}
	if r.IntN(10) < 3 {
		var names []string
		for _, st := range domain.Statuses {
			names = append(names, string(st))
		}
		for _, s := range pick(1+r.IntN(2), names) {
			c.filter.Statuses = append(c.filter.Statuses, domain.Status(s))
			c.params.Add("status", s)
		}
	}
	if r.IntN(10) < 3 {
		c.filter.Currencies = pick(1+r.IntN(3), currencies)
		c.params["currency"] = c.filter.Currencies
	}
	if r.IntN(10) < 2 {
		c.filter.FailureCodes = pick(1+r.IntN(2), failureCodes)
		c.params["failure_code"] = c.filter.FailureCodes
	}
	if r.IntN(10) < 2 {
		refunded := r.IntN(2) == 0
		c.filter.Refunded = &refunded
		c.params.Set("refunded", strconv.FormatBool(refunded))
	}
	if r.IntN(20) == 0 {
		c.filter.PaymentRefID = payments[r.IntN(len(payments))].PaymentRefID
		c.params.Set("payment_ref_id", c.filter.PaymentRefID)
	}
	if r.IntN(4) == 0 {
		v := r.Int64N(6_000_000)
		c.filter.AmountMin = &v
		c.params.Set("amount_min", strconv.FormatInt(v, 10))
	}
	if r.IntN(4) == 0 {
		v := r.Int64N(10_000_000)
		if c.filter.AmountMin != nil && v < *c.filter.AmountMin {
			v = *c.filter.AmountMin + r.Int64N(3_000_000)
		}
		c.filter.AmountMax = &v
		c.params.Set("amount_max", strconv.FormatInt(v, 10))
	}
	if r.IntN(4) == 0 {
		switch r.IntN(6) {
		case 0: // words that cannot become query syntax
			c.filter.Text = []string{"acme AND (", "blue OR *", "nordic~2", "widgets^5", "-invoice +rent", `"acme trading`, "(-)", "{\"match_all\": {}}"}[r.IntN(8)]
		case 1:
			c.filter.Text = vocabulary[r.IntN(len(vocabulary))] + " nosuchword"
		default: // words of one payment, possibly from different fields
			p := payments[r.IntN(len(payments))]
			words := querytest.Tokens(p.ThirdParty + " " + p.Description + " " + p.CustomerName)
			c.filter.Text = strings.Join(pick(1+r.IntN(2), words), " ")
			if r.IntN(2) == 0 {
				c.filter.Text = strings.ToUpper(c.filter.Text)
			}
		}
		c.params.Set("q", c.filter.Text)
	}
	if r.IntN(5) > 0 {
		c.sort = []query.Sort{query.SortDate, query.SortDateDesc, query.SortAmount, query.SortAmountDesc}[r.IntN(4)]
		c.params.Set("sort", string(c.sort))
		if c.sort.Field() == "amount" && len(c.filter.Currencies) != 1 {
			// The API sorts by amount only within one currency.
			c.filter.Currencies = []string{currencies[r.IntN(len(currencies))]}
			c.params["currency"] = c.filter.Currencies
		}
	}
	c.tz = time.UTC
	if name := zones[r.IntN(len(zones))]; name != "UTC" || r.IntN(2) == 0 {
		c.tz, _ = time.LoadLocation(name)
	}
	return c
}

// expected evaluates c over the dataset in Go: the caller's scope, then
// every filter, then the sort.
func (c combo) expected(d *dataset, all []query.Payment) []query.Payment {
	f := c.filter
	scope := d.scope(c.caller)
	if len(f.CustomerIDs) == 0 {
		f.CustomerIDs = scope
	} else {
		var eff []string
		for _, id := range f.CustomerIDs {
			if slices.Contains(scope, id) {
				eff = append(eff, id)
			}
		}
		f.CustomerIDs = eff
		if len(eff) == 0 {
			return nil
		}
	}
	if f.Text != "" && len(querytest.Tokens(f.Text)) == 0 {
		return nil
	}
	got := querytest.Filter(all, f)
	querytest.SortPayments(got, c.sort)
	return got
}

func paymentIDs(ps []query.Payment) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

// TestOracle compares at least 200 random filter combinations, each walked
// page by page through its cursors, plus its summary and (for every other
// one) its CSV export, with the same filters evaluated in Go.
func TestOracle(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 42))
	// A small total limit, so that many combinations count past it.
	const totalLimit = 400
	s := mustStack(t, stackOptions{Options: query.Options{ExportPageSize: 97, TotalHitsLimit: totalLimit}})
	d := newDataset(r, 3000)
	s.putCustomers(d.customers...)
	s.putPayments(d.payments...)
	all := asPayments(d.payments)
	tokens := map[string]string{}
	for _, u := range d.users[:2] {
		tokens[u.ID] = s.token(u.ID)
	}

	// A few fixed combinations first (everything of each caller; the
	// whale currency, whose sums exceed 2^53), then random ones.
	chf := combo{caller: d.users[0].ID, params: url.Values{"currency": {"CHF"}}, filter: query.Filter{Currencies: []string{"CHF"}}, sort: query.SortAmountDesc, tz: time.UTC}
	chf.params.Set("sort", string(chf.sort))
	fixed := []combo{
		{caller: d.users[0].ID, params: url.Values{}, sort: query.DefaultSort, tz: time.UTC},
		{caller: d.users[1].ID, params: url.Values{}, sort: query.DefaultSort, tz: time.UTC},
		chf,
	}
	const combos = 220
	nonEmpty, whaleSummaries, beyondLimit, lifecycleFilters := 0, 0, 0, 0
	for i := range combos {
		var c combo
		if i < len(fixed) {
			c = fixed[i]
		} else {
			c = randomCombo(r, d, all)
		}
		want := c.expected(d, all)
		if len(want) > 0 {
			nonEmpty++
			if len(c.filter.FailureCodes) > 0 || c.filter.Refunded != nil {
				lifecycleFilters++
			}
		}
		if len(want) > totalLimit {
			beyondLimit++
		}
		// Page sizes: small ones where the walk stays short, sometimes the
		// default, never more than about 12 pages.
		limit := max(1+r.IntN(40), (len(want)+11)/12)
		if limit > query.MaxLimit {
			limit = query.MaxLimit
		}
		params := cloneValues(c.params)
		if limit != query.DefaultLimit || r.IntN(3) > 0 {
			params.Set("limit", strconv.Itoa(limit))
		} else {
			limit = query.DefaultLimit
		}
		name := fmt.Sprintf("%03d", i)
		t.Run(name, func(t *testing.T) {
			t.Logf("caller %s params %s: %d expected", c.caller, params.Encode(), len(want))
			tok := tokens[c.caller]
			// Search: every page, following next_cursor.
			var got []query.Payment
			for page := 0; ; page++ {
				// exact_total changes only the count: the cursor of a page
				// with it is valid for one without, and the other way round.
				exact := r.IntN(3)
				switch exact {
				case 0:
					params.Del("exact_total")
				case 1:
					params.Set("exact_total", "false")
				case 2:
					params.Set("exact_total", "true")
				}
				res := s.get(t, tok, "/v1/payments", params)
				if res.status != http.StatusOK {
					t.Fatalf("page %d: status %d: %s", page, res.status, res.body)
				}
				var p query.Page
				res.decode(t, &p)
				// Exact up to the limit (always with exact_total=true),
				// beyond it the limit as a lower bound.
				wantTotal, wantRelation := int64(len(want)), query.TotalEqual
				if exact != 2 && len(want) > totalLimit {
					wantTotal, wantRelation = totalLimit, query.TotalGreaterEqual
				}
				if p.Total != wantTotal || p.TotalRelation != wantRelation {
					t.Fatalf("page %d (exact_total %d): total %d %s, want %d %s (%d match)", page, exact, p.Total, p.TotalRelation, wantTotal, wantRelation, len(want))
				}
				if len(p.Data) > limit {
					t.Fatalf("page %d: %d rows, limit %d", page, len(p.Data), limit)
				}
				got = append(got, p.Data...)
				if p.HasMore != (len(got) < len(want)) || (p.NextCursor != nil) != p.HasMore {
					t.Fatalf("page %d: has_more %v next_cursor %v after %d of %d", page, p.HasMore, p.NextCursor, len(got), len(want))
				}
				if !p.HasMore {
					break
				}
				if page > 20 {
					t.Fatal("more than 20 pages")
				}
				params.Set("cursor", *p.NextCursor)
			}
			if !slices.Equal(paymentIDs(got), paymentIDs(want)) {
				t.Fatalf("ids (order matters)\n got %v\nwant %v", paymentIDs(got), paymentIDs(want))
			}
			for j := range got {
				w := want[j]
				w.Key = query.SortKey{}
				if !reflect.DeepEqual(normalize(got[j]), normalize(w)) {
					t.Fatalf("row %d:\n got %+v\nwant %+v", j, got[j], w)
				}
			}

			// Summary: same filters, a random zone.
			sp := cloneValues(c.params)
			sp.Del("sort")
			if c.tz != time.UTC || r.IntN(2) == 0 {
				sp.Set("tz", c.tz.String())
			}
			res := s.get(t, tok, "/v1/payments/summary", sp)
			if res.status != http.StatusOK {
				t.Fatalf("summary: status %d: %s", res.status, res.body)
			}
			var sum query.Summary
			res.decode(t, &sum)
			wantSum := querytest.Summarize(want, c.filter, c.tz)
			if !reflect.DeepEqual(sum, wantSum) {
				t.Fatalf("summary (tz %s)\n got %+v\nwant %+v", c.tz, sum, wantSum)
			}
			if wantSum.SumByCurrency["CHF"] >= 1<<53 {
				whaleSummaries++
			}

			// CSV export of every other combination.
			if i%2 == 0 {
				rows := s.exportCSV(t, tok, c.params)
				if len(rows) != len(want)+1 || !slices.Equal(rows[0], queryhttp.CSVColumns) {
					t.Fatalf("csv: %d rows (header %v), want %d + header", len(rows), rows[0], len(want))
				}
				for j, p := range want {
					if wantRow := queryhttp.CSVRecord(p); !slices.Equal(rows[j+1], wantRow) {
						t.Fatalf("csv row %d:\n got %q\nwant %q", j+1, rows[j+1], wantRow)
					}
				}
			}
		})
		if t.Failed() {
			break
		}
	}
	// The random draw must have exercised the interesting cases.
	if nonEmpty < combos/3 || whaleSummaries == 0 || beyondLimit == 0 || lifecycleFilters < 10 {
		t.Fatalf("%d non-empty combinations, %d summaries above 2^53, %d beyond the total limit, %d non-empty with failure_code or refunded: the generator is too narrow",
			nonEmpty, whaleSummaries, beyondLimit, lifecycleFilters)
	}
}

// normalize makes time values comparable with reflect.DeepEqual.
func normalize(p query.Payment) query.Payment {
	p.Key = query.SortKey{}
	p.Date, p.CreatedAt, p.UpdatedAt = p.Date.UTC(), p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	if p.ProcessedAt != nil {
		at := p.ProcessedAt.UTC()
		p.ProcessedAt = &at
	}
	return p
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// exportCSV downloads the CSV export and parses it.
func (s *stack) exportCSV(t testing.TB, token string, params url.Values) [][]string {
	t.Helper()
	res := s.get(t, token, "/v1/payments/export.csv", params)
	if res.status != http.StatusOK {
		t.Fatalf("export: status %d: %s", res.status, res.body)
	}
	if cd := res.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="payments-`) {
		t.Fatalf("Content-Disposition = %q", cd)
	}
	cr := csv.NewReader(bytes.NewReader(res.body))
	cr.FieldsPerRecord = len(queryhttp.CSVColumns)
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("export: %v\n%.2000s", err, res.body)
	}
	return rows
}
