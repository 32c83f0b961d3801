package queryhttp_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/query"
	"github.com/wildcat-payments/wildcat/internal/search"
)

// BenchmarkSearch measures scoped searches through the whole query API
// (HTTP, token, scope, engine, JSON) next to the identical engine request
// sent raw, at 16 concurrent clients, and reports p50/p99 latencies.
// QUERY_BENCH_DOCS sets the number of payments (default 20,000):
//
//	TEST_SEARCH_URL=… QUERY_BENCH_DOCS=1000000 go test -run '^$' -bench BenchmarkSearch -benchtime 2000x ./internal/httpapi/queryhttp/
func BenchmarkSearch(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("QUERY_BENCH_DOCS")); err == nil && v > 0 {
		n = v
	}
	s := mustStack(b, stackOptions{Options: query.Options{ScopeTTL: query.MaxScopeTTL}})
	r := rand.New(rand.NewPCG(1, 2))
	d := newDataset(r, n)
	s.putCustomers(d.customers...)
	s.putPayments(d.payments...)
	caller := d.users[0].ID
	tok := s.token(caller)
	mid := d.start.Add(45 * 24 * time.Hour).Format(time.RFC3339)
	queries := []url.Values{
		{},
		{"status": {"succeeded"}, "currency": {"DKK", "EUR"}},
		{"from": {d.start.Format(time.RFC3339)}, "to": {mid}, "sort": {"-amount"}, "currency": {"DKK"}},
		{"amount_min": {"1000"}, "amount_max": {"500000"}, "sort": {"amount"}, "currency": {"EUR"}, "limit": {"100"}},
		{"q": {"invoice"}, "customer_id": {d.customers[1].ID}},
	}
	// Both clients read uncompressed responses, as the query API does.
	hc := &http.Client{Transport: search.Transport(false)}

	// engineRequests are the raw engine requests of the same queries.
	var engineBodies [][]byte
	for _, q := range queries {
		req, err := query.ParseSearch(q, "")
		if err != nil {
			b.Fatal(err)
		}
		plan, ok, err := s.svc.PlanSearch(context.Background(), query.UserCaller(caller), req)
		if err != nil || !ok {
			b.Fatalf("plan: %v %v", ok, err)
		}
		body, err := search.SearchBody(plan)
		if err != nil {
			b.Fatal(err)
		}
		engineBodies = append(engineBodies, body)
	}

	run := func(b *testing.B, do func(i int) (*http.Response, error)) {
		var mu sync.Mutex
		var lat []time.Duration
		var next int64
		b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				mu.Lock()
				i := int(next)
				next++
				mu.Unlock()
				start := time.Now()
				res, err := do(i % len(queries))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Errorf("status %d", res.StatusCode)
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
		b.StopTimer()
		if len(lat) == 0 {
			return
		}
		slices.Sort(lat)
		pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
		b.ReportMetric(pct(0.5), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
	}
	b.Run("api", func(b *testing.B) {
		run(b, func(i int) (*http.Response, error) {
			req, _ := http.NewRequest(http.MethodGet, s.url+"/v1/payments?"+queries[i].Encode(), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			return hc.Do(req)
		})
	})
	b.Run("engine", func(b *testing.B) {
		run(b, func(i int) (*http.Response, error) {
			req, _ := http.NewRequest(http.MethodPost, s.searchURL+search.SearchPath(s.prefix), bytes.NewReader(engineBodies[i]))
			req.Header.Set("Content-Type", "application/json")
			return hc.Do(req)
		})
	})
}
