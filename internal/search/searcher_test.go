package search_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/query"
	"github.com/wildcat-payments/wildcat/internal/query/querytest"
	"github.com/wildcat-payments/wildcat/internal/search"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// TestSearchBody pins the exact engine query (the benchmark sends it raw).
func TestSearchBody(t *testing.T) {
	from := time.Date(2024, 5, 1, 0, 0, 0, 999_999, time.UTC)
	to := time.Date(2024, 6, 1, 0, 0, 0, 0, time.FixedZone("", 7200))
	lo, hi := int64(100), int64(5000)
	refunded, notRefunded := true, false
	for _, tc := range []struct {
		name string
		q    query.SearchQuery
	}{
		{"scope_only", query.SearchQuery{Filter: query.Filter{CustomerIDs: []string{"c1", "c2"}}, Sort: query.SortDateDesc, Size: 51, TotalLimit: 10000}},
		{"every_filter", query.SearchQuery{
			Filter: query.Filter{
				From: &from, To: &to, CustomerIDs: []string{"c1"}, UserIDs: []string{"u1", "u2"},
				Statuses: []domain.Status{domain.StatusFailed}, Currencies: []string{"DKK", "EUR"}, PaymentRefID: "r1",
				AmountMin: &lo, AmountMax: &hi, Text: `acme "AND" (x`,
				FailureCodes: []string{"do_not_honor", "insufficient_funds"}, Refunded: &refunded,
			},
			Sort: query.SortAmount, Size: 11, After: &query.SortKey{Value: 4200, ID: "80000000-0000-4000-8000-000000000009"}, TotalLimit: 10000,
		}},
		{"not_refunded", query.SearchQuery{Filter: query.Filter{CustomerIDs: []string{"c1"}, Refunded: &notRefunded}, Sort: query.SortDateDesc, Size: 51, TotalLimit: 10000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := search.SearchBody(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, body, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			golden := filepath.Join("testdata", tc.name+".json")
			if *update {
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Fatalf("body differs from %s:\n%s", golden, pretty.Bytes())
			}
		})
	}
	t.Run("InvalidSort", func(t *testing.T) {
		if _, err := search.SearchBody(query.SearchQuery{Sort: "name"}); err == nil {
			t.Fatal("want an error")
		}
	})
}

// engine is a real Searcher with fresh indices and an in-memory twin
// holding the same data.
type engine struct {
	t      *testing.T
	sc     *search.Client
	prefix string
	real   *search.Searcher
	memory *querytest.Memory
}

func mustEngine(t *testing.T) *engine {
	t.Helper()
	url, prefix := testenv.MustSearch(t)
	sc, err := search.Open(context.Background(), url, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{t: t, sc: sc, prefix: prefix, real: search.New(sc, prefix, nil), memory: querytest.NewMemory()}
	for _, ix := range []struct{ name, mapping, alias string }{
		{projection.PaymentsAlias(prefix) + "_v1", projection.PaymentsMapping, projection.PaymentsAlias(prefix)},
		{projection.CustomersAlias(prefix) + "_v1", projection.CustomersMapping, projection.CustomersAlias(prefix)},
		{projection.StateIndex(prefix), projection.StateMapping, ""},
	} {
		var body map[string]any
		_ = json.Unmarshal([]byte(ix.mapping), &body)
		if ix.alias != "" {
			body["aliases"] = map[string]any{ix.alias: map[string]any{}}
		}
		e.do(http.MethodPut, "/"+ix.name, body)
	}
	return e
}

func (e *engine) do(method, path string, body any) []byte {
	e.t.Helper()
	status, out, err := e.sc.Do(context.Background(), method, path, body)
	if err != nil || status/100 != 2 {
		e.t.Fatalf("%s %s: %d %v %s", method, path, status, err, out)
	}
	return out
}

func (e *engine) put(docs ...any) {
	e.t.Helper()
	var buf bytes.Buffer
	for _, d := range docs {
		switch d := d.(type) {
		case projection.PaymentDoc:
			fmt.Fprintf(&buf, `{"index":{"_index":%q,"_id":%q}}`+"\n", projection.PaymentsAlias(e.prefix), d.ID)
			e.memory.PutPayment(query.Payment{PaymentView: d.PaymentView})
			evs := make([]domain.PaymentEvent, len(d.Events))
			for i, ev := range d.Events {
				evs[i] = ev.PaymentEvent(d.ID)
			}
			e.memory.PutEvents(d.ID, evs)
		case projection.CustomerDoc:
			fmt.Fprintf(&buf, `{"index":{"_index":%q,"_id":%q}}`+"\n", projection.CustomersAlias(e.prefix), d.ID)
			c := query.Customer{ID: d.ID, Name: d.Name, Email: d.Email}
			for _, u := range d.Users {
				c.Users = append(c.Users, query.User{ID: u.ID, Name: u.Name, Email: u.Email})
			}
			e.memory.PutCustomer(c)
		}
		b, _ := json.Marshal(d)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	out := e.do(http.MethodPost, "/_bulk?refresh=true", buf.Bytes())
	if bytes.Contains(out, []byte(`"errors":true`)) {
		e.t.Fatalf("bulk: %.1000s", out)
	}
}

func id(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// lifecycle gives the i-th contract payment, whose status is already set,
// the processing fields and timeline that status implies: failed ones
// alternate between two decline codes, every other succeeded one is
// partly refunded.
func lifecycle(d *projection.PaymentDoc, i int) {
	at := d.Date.Add(time.Second)
	ev := func(n int, typ domain.EventType, data string) projection.EventDoc {
		return projection.EventDoc{ID: int64(1000*i + n), Type: typ, Data: json.RawMessage(data), CreatedAt: at.Add(time.Duration(n) * time.Millisecond)}
	}
	d.Events = []projection.EventDoc{ev(1, domain.EventPaymentCreated, `{}`)}
	switch d.Status {
	case domain.StatusProcessing:
		d.Events = append(d.Events, ev(2, domain.EventPaymentProcessing, `{"attempt":1}`))
		d.Attempts = 1
	case domain.StatusSucceeded:
		d.Attempts, d.ProcessedAt = 1, &at
		d.Events = append(d.Events, ev(2, domain.EventPaymentProcessing, `{"attempt":1}`),
			ev(3, domain.EventPaymentSucceeded, `{"attempt":1,"provider_reference":"ref <&>"}`))
		if i%2 == 0 {
			d.AmountRefunded = d.Amount / 2
			d.Events = append(d.Events, ev(4, domain.EventRefundCreated, `{"amount":1}`))
		}
	case domain.StatusFailed:
		code := []string{"do_not_honor", "insufficient_funds"}[i%2]
		msg := "declined: " + code
		d.Attempts, d.ProcessedAt, d.FailureCode, d.FailureMessage = 2, &at, &code, &msg
		d.Events = append(d.Events, ev(2, domain.EventPaymentProcessing, `{"attempt":1}`),
			ev(3, domain.EventPaymentFailed, `{"attempt":2,"code":"`+code+`"}`))
	case domain.StatusCanceled:
		d.Events = append(d.Events, ev(2, domain.EventPaymentCanceled, `{}`))
	}
}

// utc normalizes p's times to UTC, as the engine's decoding gives them.
func utc(p *query.Payment) {
	p.Date, p.CreatedAt, p.UpdatedAt = p.Date.UTC(), p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	if p.ProcessedAt != nil {
		at := p.ProcessedAt.UTC()
		p.ProcessedAt = &at
	}
}

// TestContract runs the same calls against the engine adapter and the
// in-memory searcher over the same data; they must agree exactly.
func TestContract(t *testing.T) {
	t.Parallel()
	e := mustEngine(t)
	ctx := context.Background()
	user, other := id(900), id(901)
	e.put(
		projection.CustomerDoc{ID: id(1), Name: "Acme", UserIDs: []string{user}, Users: []projection.CustomerUser{{ID: user, Name: "U", Email: "u@example.com"}}},
		projection.CustomerDoc{ID: id(2), Name: "Beta", UserIDs: []string{user, other}, Users: []projection.CustomerUser{{ID: user, Name: "U", Email: "u@example.com"}, {ID: other, Name: "O", Email: "o@example.com"}}},
		projection.CustomerDoc{ID: id(3), Name: "Gamma", UserIDs: []string{other}, Users: []projection.CustomerUser{{ID: other, Name: "O", Email: "o@example.com"}}},
	)
	base := time.Date(2024, 3, 30, 22, 0, 0, 0, time.UTC)
	var docs []any
	for i := range 60 {
		d := base.Add(time.Duration(i*47) * time.Minute).Add(time.Duration(i) * time.Microsecond)
		doc := projection.PaymentDoc{PaymentView: domain.PaymentView{Payment: domain.Payment{
			ID: id(100 + i), PaymentRefID: id(500 + i), CustomerID: id(1 + i%3), UserID: []string{user, other}[i%2],
			Amount: int64(1 + (i*7919)%500), Currency: []string{"DKK", "EUR", "JPY"}[i%3], ThirdParty: "Shop " + strconv.Itoa(i%4),
			Description: []string{"coffee beans", "rent", ""}[i%3], Status: domain.Statuses[i%5],
			Date: d, CreatedAt: d, UpdatedAt: d,
		}, CustomerName: []string{"Acme", "Beta", "Gamma"}[i%3]}}
		lifecycle(&doc, i)
		docs = append(docs, doc)
	}
	e.put(docs...)
	e.do(http.MethodPut, "/"+projection.StateIndex(e.prefix)+"/_doc/"+projection.StateDocID, map[string]any{"applied_lsn": 12345})
	e.memory.SetApplied(12345)

	impls := []query.Searcher{e.real, e.memory}
	both := func(t *testing.T, call func(s query.Searcher) (any, error)) {
		t.Helper()
		var got [2]any
		for i, s := range impls {
			v, err := call(s)
			if err != nil {
				t.Fatalf("%T: %v", s, err)
			}
			got[i] = v
		}
		if !reflect.DeepEqual(got[0], got[1]) {
			t.Fatalf("engine and memory differ:\nengine %+v\nmemory %+v", got[0], got[1])
		}
	}
	t.Run("LinkedCustomerIDs", func(t *testing.T) {
		both(t, func(s query.Searcher) (any, error) {
			ids, err := s.LinkedCustomerIDs(ctx, user)
			slices.Sort(ids)
			return ids, err
		})
	})
	t.Run("LinkedCustomers", func(t *testing.T) {
		both(t, func(s query.Searcher) (any, error) {
			cs, err := s.LinkedCustomers(ctx, other)
			slices.SortFunc(cs, func(a, b query.Customer) int { return cmp.Compare(a.ID, b.ID) })
			return cs, err
		})
	})
	from := base.Add(10 * time.Hour)
	yes, no := true, false
	for _, tc := range []struct {
		name string
		q    query.SearchQuery
	}{
		{"DateDesc", query.SearchQuery{Filter: query.Filter{CustomerIDs: []string{id(1), id(2)}}, Sort: query.SortDateDesc, Size: 100, TotalLimit: 10000}},
		{"AmountAfter", query.SearchQuery{Filter: query.Filter{CustomerIDs: []string{id(1), id(2), id(3)}}, Sort: query.SortAmount, Size: 5, After: &query.SortKey{Value: 200, ID: id(150)}, TotalLimit: 10000}},
		{"Filters", query.SearchQuery{Filter: query.Filter{CustomerIDs: []string{id(2), id(3)}, From: &from, Statuses: []domain.Status{"succeeded", "failed"}, Text: "shop 1"}, Sort: query.SortDate, Size: 100, TotalLimit: 10000}},
		{"FailureCode", query.SearchQuery{Filter: query.Filter{CustomerIDs: []string{id(1), id(2), id(3)}, FailureCodes: []string{"do_not_honor"}}, Sort: query.SortDate, Size: 100, TotalLimit: 10000}},
		{"Refunded", query.SearchQuery{Filter: query.Filter{CustomerIDs: []string{id(1), id(2), id(3)}, Refunded: &yes}, Sort: query.SortAmountDesc, Size: 100, TotalLimit: 10000}},
		{"NotRefundedSucceeded", query.SearchQuery{Filter: query.Filter{CustomerIDs: []string{id(1), id(2)}, Refunded: &no, Statuses: []domain.Status{"succeeded"}}, Sort: query.SortDate, Size: 100, TotalLimit: 10000}},
	} {
		t.Run("Search"+tc.name, func(t *testing.T) {
			both(t, func(s query.Searcher) (any, error) {
				res, err := s.Search(ctx, tc.q)
				if err == nil && len(res.Payments) == 0 {
					t.Errorf("%T: no payments match; the case tests nothing", s)
				}
				for i := range res.Payments {
					utc(&res.Payments[i])
				}
				return res, err
			})
		})
	}
	// Customers 1 and 2 have 40 payments: counted exactly up to the limit,
	// a lower bound beyond it, exact with no limit.
	for _, tc := range []struct {
		limit int
		total int64
		exact bool
	}{{0, 40, true}, {1, 1, false}, {39, 39, false}, {40, 40, true}, {41, 40, true}, {10000, 40, true}} {
		t.Run(fmt.Sprintf("TotalLimit%d", tc.limit), func(t *testing.T) {
			q := query.SearchQuery{Filter: query.Filter{CustomerIDs: []string{id(1), id(2)}}, Sort: query.SortDateDesc, Size: 3, TotalLimit: tc.limit}
			both(t, func(s query.Searcher) (any, error) {
				res, err := s.Search(ctx, q)
				if err == nil && (res.Total != tc.total || res.TotalExact != tc.exact || len(res.Payments) != 3) {
					t.Errorf("%T: total %d exact %v, %d rows; want %d exact %v, 3 rows", s, res.Total, res.TotalExact, len(res.Payments), tc.total, tc.exact)
				}
				return []any{res.Total, res.TotalExact, len(res.Payments)}, err
			})
		})
	}
	t.Run("Payment", func(t *testing.T) {
		for _, scope := range [][]string{{id(1)}, {id(2)}} {
			both(t, func(s query.Searcher) (any, error) {
				p, found, err := s.Payment(ctx, id(103), scope)
				utc(&p)
				return []any{p, found}, err
			})
		}
	})
	t.Run("Events", func(t *testing.T) {
		// id(102) succeeded (refunded), id(103) failed; id(103) is
		// customer 1's, so customer 2's scope does not see it.
		for _, tc := range []struct {
			id     string
			scope  []string
			found  bool
			events int
		}{{id(102), []string{id(3)}, true, 4}, {id(103), []string{id(1)}, true, 3}, {id(103), []string{id(2)}, false, 0}, {id(100), []string{id(1)}, true, 1}} {
			both(t, func(s query.Searcher) (any, error) {
				evs, found, err := s.Events(ctx, tc.id, tc.scope)
				if err == nil && (found != tc.found || len(evs) != tc.events) {
					t.Errorf("%T: Events(%s, %v) = %d events, found %v; want %d, %v", s, tc.id, tc.scope, len(evs), found, tc.events, tc.found)
				}
				for i := range evs {
					evs[i].CreatedAt = evs[i].CreatedAt.UTC()
					// Key order is not kept (the engine's source filter
					// re-serializes objects): compare the values.
					var v map[string]any
					if err := json.Unmarshal(evs[i].Data, &v); err != nil {
						t.Fatalf("%T: event data %s: %v", s, evs[i].Data, err)
					}
					evs[i].Data, _ = json.Marshal(v)
				}
				return []any{evs, found}, err
			})
		}
	})
	t.Run("Summarize", func(t *testing.T) {
		for _, zone := range []string{"UTC", "Europe/Copenhagen", "America/Los_Angeles"} {
			loc, _ := time.LoadLocation(zone)
			both(t, func(s query.Searcher) (any, error) {
				sum, err := s.Summarize(ctx, query.Filter{CustomerIDs: []string{id(1), id(2), id(3)}}, loc)
				if err == nil && (len(sum.CountByFailureCode) != 2 || sum.SuccessRate == nil || *sum.SuccessRate != 0.5) {
					t.Errorf("%T: count_by_failure_code %v, success rate %v; want two codes and 0.5", s, sum.CountByFailureCode, sum.SuccessRate)
				}
				return sum, err
			})
		}
		both(t, func(s query.Searcher) (any, error) {
			return s.Summarize(ctx, query.Filter{CustomerIDs: []string{id(1)}, Statuses: []domain.Status{"pending", "canceled"}}, time.UTC)
		})
	})
	t.Run("ZoneUnknownToTheEngine", func(t *testing.T) {
		_, err := e.real.Summarize(ctx, query.Filter{CustomerIDs: []string{id(1)}}, time.FixedZone("Nowhere/Land", 0))
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.EINVALID || len(de.Fields) != 1 || de.Fields[0].Field != "tz" {
			t.Fatalf("err = %v, want invalid naming tz", err)
		}
	})
	t.Run("AppliedLSN", func(t *testing.T) {
		both(t, func(s query.Searcher) (any, error) { return s.AppliedLSN(ctx) })
	})
}

// TestExactSums shows that the engine's own sum is not exact above 2^53
// and that Summarize still is.
func TestExactSums(t *testing.T) {
	t.Parallel()
	e := mustEngine(t)
	ctx := context.Background()
	var docs []any
	var exact int64
	day := time.Date(2024, 4, 10, 23, 30, 0, 0, time.UTC) // 11 April in Copenhagen
	for i := range 40 {
		amount := domain.MaxAmount - int64(2*i+1)
		exact += amount
		d := day.Add(time.Duration(i) * time.Second)
		docs = append(docs, projection.PaymentDoc{PaymentView: domain.PaymentView{Payment: domain.Payment{ID: id(i), PaymentRefID: id(1000 + i), CustomerID: id(7), UserID: id(8),
			Amount: amount, Currency: "IDR", ThirdParty: "x", Status: domain.StatusSucceeded, Date: d, CreatedAt: d, UpdatedAt: d}}})
	}
	if exact%2 == 0 { // an odd sum above 2^53 is no float64 at all
		docs = append(docs, projection.PaymentDoc{PaymentView: domain.PaymentView{Payment: domain.Payment{ID: id(98), PaymentRefID: id(1098), CustomerID: id(7), UserID: id(8),
			Amount: 1, Currency: "IDR", ThirdParty: "x", Status: domain.StatusSucceeded, Date: day, CreatedAt: day, UpdatedAt: day}}})
		exact++
	}
	docs = append(docs, projection.PaymentDoc{PaymentView: domain.PaymentView{Payment: domain.Payment{ID: id(99), PaymentRefID: id(1099), CustomerID: id(7), UserID: id(8),
		Amount: 12345, Currency: "DKK", ThirdParty: "x", Status: domain.StatusPending, Date: day, CreatedAt: day, UpdatedAt: day}}})
	e.put(docs...)
	if exact < 1<<53 || exact%2 == 0 {
		t.Fatalf("the data does not defeat float64 (%d)", exact)
	}
	out := e.do(http.MethodPost, "/"+projection.PaymentsAlias(e.prefix)+"/_search",
		map[string]any{"size": 0, "query": map[string]any{"term": map[string]any{"currency": "IDR"}}, "aggs": map[string]any{"s": map[string]any{"sum": map[string]any{"field": "amount"}}}})
	var raw struct {
		Aggregations struct {
			S struct {
				Value float64 `json:"value"`
			} `json:"s"`
		} `json:"aggregations"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatal(err)
	}
	if v := raw.Aggregations.S.Value; v < 1<<53 || int64(v) == exact {
		t.Fatalf("engine sum %v: expected an inexact double at or above 2^53 (exact %d)", v, exact)
	}
	loc, _ := time.LoadLocation("Europe/Copenhagen")
	sum, err := e.real.Summarize(ctx, query.Filter{CustomerIDs: []string{id(7)}}, loc)
	if err != nil {
		t.Fatal(err)
	}
	if sum.SumByCurrency["IDR"] != exact || sum.SumByCurrency["DKK"] != 12345 || sum.Count != int64(len(docs)) {
		t.Fatalf("sums %v count %d, want IDR %d, DKK 12345, %d", sum.SumByCurrency, sum.Count, exact, len(docs))
	}
	if len(sum.Histogram) != 1 || sum.Histogram[0].Date != "2024-04-11" || sum.Histogram[0].SumByCurrency["IDR"] != exact {
		t.Fatalf("histogram %+v, want one day 2024-04-11 with IDR %d", sum.Histogram, exact)
	}
	t.Run("Overflow", func(t *testing.T) {
		var more []any
		for i := range 9300 { // 9300 × 10^15 > MaxInt64
			d := day.Add(time.Duration(i) * time.Millisecond)
			more = append(more, projection.PaymentDoc{PaymentView: domain.PaymentView{Payment: domain.Payment{ID: id(100_000 + i), PaymentRefID: id(200_000 + i), CustomerID: id(5), UserID: id(8),
				Amount: domain.MaxAmount, Currency: "VND", ThirdParty: "x", Status: domain.StatusSucceeded, Date: d, CreatedAt: d, UpdatedAt: d}}})
		}
		e.put(more...)
		_, err := e.real.Summarize(ctx, query.Filter{CustomerIDs: []string{id(5)}}, time.UTC)
		if domain.ErrorCode(err) != domain.EUNPROCESSABLE {
			t.Fatalf("err = %v, want unprocessable (sum beyond int64)", err)
		}
	})
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	e := mustEngine(t)
	ctx := context.Background()
	e.do(http.MethodDelete, "/"+projection.PaymentsAlias(e.prefix)+"_v1", nil)
	_, err := e.real.Search(ctx, query.SearchQuery{Filter: query.Filter{CustomerIDs: []string{id(1)}}, Sort: query.SortDate, Size: 1})
	if domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Fatalf("missing index: err = %v, want unavailable", err)
	}
	e.do(http.MethodDelete, "/"+projection.StateIndex(e.prefix), nil)
	if lsn, err := e.real.AppliedLSN(ctx); err != nil || lsn != 0 {
		t.Fatalf("missing state index: %d, %v; want 0, nil", lsn, err)
	}
	t.Run("EngineDown", func(t *testing.T) {
		es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{"http://127.0.0.1:1"}, MaxRetries: 1})
		if err != nil {
			t.Fatal(err)
		}
		down := search.New(&search.Client{ES: es}, e.prefix, nil)
		_, err = down.Search(ctx, query.SearchQuery{Filter: query.Filter{CustomerIDs: []string{id(1)}}, Sort: query.SortDate, Size: 1})
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.EUNAVAILABLE || de.RetryAfter == 0 {
			t.Fatalf("err = %v, want unavailable with Retry-After", err)
		}
	})
}
