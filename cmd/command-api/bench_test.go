package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCreatePayment measures the hot path end to end: 64 concurrent
// clients POST /v1/payments (each with its own Idempotency-Key) to the real
// server on loopback. It reports payments/s and latency percentiles.
//
//	go test ./cmd/command-api -run '^$' -bench CreatePayment -benchtime 10000x
func BenchmarkCreatePayment(b *testing.B) {
	s := mustServer(b, map[string]string{"LOG_LEVEL": "warn"})
	u := s.signUp("Bench")
	c := s.createCustomer(u, "Bench shop")
	body := []byte(fmt.Sprintf(`{"customer_id":%q,"amount":1250,"currency":"DKK","third_party":"ACME A/S","description":"benchmark"}`, c.ID))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}

	const clients = 64
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		seq       atomic.Int64
		failures  atomic.Int64
	)
	b.SetParallelism((clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			req, _ := http.NewRequest("POST", s.base+"/v1/payments", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+u.Token)
			req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d", seq.Add(1)))
			t0 := time.Now()
			res, err := client.Do(req)
			if err != nil {
				failures.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			local = append(local, time.Since(t0))
			if res.StatusCode != http.StatusCreated {
				failures.Add(1)
			}
		}
		mu.Lock()
		latencies = append(latencies, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[int(float64(len(latencies)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "payments/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	if got := s.count("payments"); got != len(latencies) {
		b.Fatalf("payments table has %d rows, want %d", got, len(latencies))
	}
}
