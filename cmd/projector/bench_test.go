package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Benchmarks (not tests): `make bench` runs
//
//	go test -run '^$' -bench . -benchtime 1x ./cmd/projector/
//
// with TEST_DATABASE_URL and TEST_SEARCH_URL set. BENCH_BACKFILL_ROWS
// (default 200000), BENCH_RATE (payments/s, default 1000) and
// BENCH_SECONDS (default 20) size them.

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkBackfill measures the backfill of a large payments table:
// documents per second from slot creation to the alias swap.
func BenchmarkBackfill(b *testing.B) {
	rows := envInt("BENCH_BACKFILL_ROWS", 200_000)
	for range b.N {
		e := mustEnv(b)
		ctx := context.Background()
		w := e.seed(ctx, 50, 200, 0)
		for done := 0; done < rows; done += 50_000 {
			e.insertPayments(ctx, w, min(50_000, rows-done))
		}
		e.exec(ctx, "VACUUM ANALYZE payments")
		b.ResetTimer()
		start := time.Now()
		vars := e.vars("LOG_LEVEL", "warn")
		for _, k := range []string{"PROJECTOR_BACKFILL_BATCH", "PROJECTOR_BACKFILL_WORKERS"} {
			if v := os.Getenv(k); v != "" {
				vars[k] = v
			}
		}
		in := e.start(vars)
		waitRole(b, in.addr, "active", 10*time.Minute)
		elapsed := time.Since(start)
		b.StopTimer()
		rate := metric(b, in.addr, "projector_backfill_documents_per_second")
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "docs/s")
		b.ReportMetric(rate, "copy-docs/s")
		fmt.Printf("backfill: %d payments + %d customers in %s: %.0f docs/s end to end (copy phase %.0f docs/s)\n",
			rows, len(w.customers), elapsed.Round(time.Millisecond), float64(rows)/elapsed.Seconds(), rate)
		in.stop()
	}
}

// BenchmarkFreshness inserts payments at BENCH_RATE per second, each in its
// own transaction, for BENCH_SECONDS and measures commit → searchable: the
// time from a commit returning until the published applied position (which
// the projector advances only once the change is searchable) reaches the
// WAL position read right after the commit.
func BenchmarkFreshness(b *testing.B) {
	for _, mode := range []string{"explicit", "wait_for"} {
		b.Run("refresh="+mode, func(b *testing.B) {
			for range b.N {
				freshness(b, mode)
			}
		})
	}
}

func freshness(b *testing.B, mode string) {
	rate := envInt("BENCH_RATE", 1000)
	seconds := envInt("BENCH_SECONDS", 20)
	e := mustEnv(b)
	ctx := context.Background()
	w := e.seed(ctx, 10, 20, 1000)
	in := e.start(e.vars("LOG_LEVEL", "warn", "PROJECTOR_REFRESH", mode))
	waitRole(b, in.addr, "active", time.Minute)

	type sample struct {
		lsn    uint64
		commit time.Time
	}
	var mu sync.Mutex
	var pending []sample
	var latencies []time.Duration
	writesDone := false
	done := make(chan struct{})
	go func() { // poll the published position
		defer close(done)
		for {
			st, ok := e.state(ctx)
			now := time.Now()
			mu.Lock()
			if ok {
				keep := pending[:0]
				for _, s := range pending {
					if s.lsn <= st.AppliedLSN {
						latencies = append(latencies, now.Sub(s.commit))
					} else {
						keep = append(keep, s)
					}
				}
				pending = keep
			}
			finished := writesDone && len(pending) == 0
			mu.Unlock()
			if finished {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()

	const writers = 8
	per := time.Duration(writers) * time.Second / time.Duration(rate)
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	b.ResetTimer()
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := time.Now().Add(time.Duration(i) * per / writers)
			for k := 0; time.Now().Before(deadline); k++ {
				time.Sleep(time.Until(next))
				next = next.Add(per)
				if _, err := e.pool.Exec(ctx, `INSERT INTO payments (customer_id, user_id, amount, currency, third_party)
					VALUES ($1, $2, 100, 'DKK', 'bench')`, w.customers[(i+k)%len(w.customers)], w.users[k%len(w.users)]); err != nil {
					b.Error(err)
					return
				}
				committed := time.Now()
				var lsnText string
				if err := e.pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsnText); err != nil {
					b.Error(err)
					return
				}
				var hi, lo uint64
				fmt.Sscanf(lsnText, "%X/%X", &hi, &lo)
				mu.Lock()
				pending = append(pending, sample{lsn: hi<<32 | lo, commit: committed})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	writesDone = true
	mu.Unlock()
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatal("writes not searchable a minute after the load ended")
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	if len(latencies) == 0 {
		b.Fatal("no commit became searchable")
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	q := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	achieved := float64(len(latencies)) / float64(seconds)
	b.ReportMetric(float64(q(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(achieved, "payments/s")
	fmt.Printf("freshness (refresh=%s): %d payments at %.0f/s: commit→searchable p50 %s p95 %s p99 %s max %s\n",
		mode, len(latencies), achieved, q(0.50).Round(time.Millisecond), q(0.95).Round(time.Millisecond),
		q(0.99).Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond))
	bulks := metric(b, in.addr, `projector_bulk_duration_seconds_count{phase="stream"}`)
	bulkSum := metric(b, in.addr, `projector_bulk_duration_seconds_sum{phase="stream"}`)
	txs := metric(b, in.addr, "projector_transactions_applied_total")
	fmt.Printf("  %.0f bulk requests, mean %.1f ms, %.1f transactions per bulk\n", bulks, 1000*bulkSum/max(bulks, 1), txs/max(bulks, 1))
	e.waitConsistent(ctx, time.Minute)
	in.stop()
}

// BenchmarkCatchup measures how fast a stopped projector works through a
// backlog of BENCH_CATCHUP_ROWS payments (default 300000) written in
// 1,000-payment transactions while it was down, beside the backfill of the
// same rows by a second projector (own slot and indices) in the same run:
// the catch-up rate should reach the backfill rate (issue 17).
func BenchmarkCatchup(b *testing.B) {
	rows := envInt("BENCH_CATCHUP_ROWS", 300_000)
	for range b.N {
		e := mustEnv(b)
		ctx := context.Background()
		w := e.seed(ctx, 50, 200, 0)
		vars := e.vars("LOG_LEVEL", "warn")
		for _, k := range []string{"PROJECTOR_BULK_DOCS", "PROJECTOR_BACKLOG_REFRESH", "PROJECTOR_INFLIGHT_BULKS"} {
			if v := os.Getenv(k); v != "" {
				vars[k] = v
			}
		}
		in := e.start(vars)
		waitRole(b, in.addr, "active", time.Minute)
		in.stop()
		for done := 0; done < rows; done += 1000 {
			e.insertPayments(ctx, w, min(1000, rows-done))
		}
		target := e.walLSN(ctx)
		b.ResetTimer()
		start := time.Now()
		in = e.start(vars)
		e.waitApplied(ctx, target, 10*time.Minute)
		catchup := time.Since(start)
		b.StopTimer()
		bulkSeconds := metric(b, in.addr, `projector_bulk_duration_seconds_sum{phase="stream"}`)
		in.stop()

		// The baseline: a backfill of the same rows into other indices.
		other := *e
		other.prefix, other.slot = e.prefix+"bf_", e.slot+"_bf"
		bvars := other.vars("LOG_LEVEL", "warn")
		start = time.Now()
		bf := other.start(bvars)
		waitRole(b, bf.addr, "active", 10*time.Minute)
		backfill := time.Since(start)
		bf.stop()
		cr, br := float64(rows)/catchup.Seconds(), float64(rows)/backfill.Seconds()
		b.ReportMetric(cr, "catchup-docs/s")
		b.ReportMetric(br, "backfill-docs/s")
		fmt.Printf("catch-up: %d payments in %s: %.0f docs/s (bulks in flight %.1f on average); backfill of the same rows: %s, %.0f docs/s; ratio %.2f\n",
			rows, catchup.Round(time.Millisecond), cr, bulkSeconds/catchup.Seconds(), backfill.Round(time.Millisecond), br, cr/br)
		// The walsender may hold the slot a moment after the projector stopped.
		for i := 0; ; i++ {
			_, err := e.pool.Exec(ctx, `SELECT pg_drop_replication_slot($1)`, other.slot)
			if err == nil || i == 100 {
				e.must(err)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
