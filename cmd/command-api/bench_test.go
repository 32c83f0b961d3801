package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkCreatePayment measures the hot path end to end: 64 concurrent
// clients POST /v1/payments to the real server on loopback, each request
// with its own Idempotency-Key or without one. It reports payments/s,
// latency percentiles and the CPU time per payment of this process and of
// the PostgreSQL backends.
//
//	go test ./cmd/command-api -run '^$' -bench CreatePayment -benchtime 20000x
func BenchmarkCreatePayment(b *testing.B) {
	b.Run("IdempotencyKey", func(b *testing.B) { benchmarkCreatePayment(b, true) })
	b.Run("NoKey", func(b *testing.B) { benchmarkCreatePayment(b, false) })
}

func benchmarkCreatePayment(b *testing.B, withKey bool) {
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
	// Warm the pool's connections and prepared statements.
	for range 100 {
		s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: body}, http.StatusCreated)
	}
	goBefore, pgBefore := processCPU(), backendCPU(s.backendPIDs())
	warm := s.count("payments")
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			req, _ := http.NewRequest("POST", s.base+"/v1/payments", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+u.Token)
			if withKey {
				req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d", seq.Add(1)))
			}
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
	goCPU, pgAfter := processCPU()-goBefore, backendCPU(s.backendPIDs())
	var pgCPU time.Duration
	for pid, cpu := range pgAfter { // the pool may have opened connections meanwhile
		pgCPU += cpu - pgBefore[pid]
	}
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
	// CPU per payment does not depend on what else runs on the machine: with
	// two cores, 2e6 / (go + pg) µs bounds the throughput. The Go figure
	// includes this benchmark's own HTTP client.
	if n := float64(len(latencies)); n > 0 {
		b.ReportMetric(float64(goCPU.Microseconds())/n, "go_cpu_µs/op")
		b.ReportMetric(float64(pgCPU.Microseconds())/n, "pg_cpu_µs/op")
	}
	if got := s.count("payments") - warm; got != len(latencies) {
		b.Fatalf("payments table has %d rows, want %d", got, len(latencies))
	}
}

// backendPIDs lists the PostgreSQL backends of the server's pool.
func (s *server) backendPIDs() []int {
	rows, err := s.db.Query(context.Background(),
		"SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'wildcat-command-api'")
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			s.t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// backendCPU returns the user and system CPU time of each of pids from
// /proc (none where /proc is not readable, e.g. a server on another host).
func backendCPU(pids []int) map[int]time.Duration {
	out := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the parenthesized command: state is field 3, utime 14, stime 15.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
	}
	return out
}

// processCPU is this process's user and system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
