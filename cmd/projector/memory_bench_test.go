package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkStreamMemory measures the projector binary's peak resident set
// (VmHWM) while it streams a large batch write: BENCH_MEMORY_ROWS (default
// 200,000) payments inserted in transactions of 1,000 rows by two writers
// as fast as PostgreSQL takes them, so the stream runs far ahead of the
// indexer. It reports the peak in MB and the streaming throughput; the
// limit is the operator's to judge (docs/projector.md, "Memory").
func BenchmarkStreamMemory(b *testing.B) {
	rows := envInt("BENCH_MEMORY_ROWS", 200_000)
	const perTx = 1000
	for range b.N {
		e := mustEnv(b)
		ctx := context.Background()
		w := e.seed(ctx, 50, 200, 0)
		addr := freeAddr(b)
		vars := e.vars("LOG_LEVEL", "warn", "PROJECTOR_ADDR", addr)
		for _, k := range []string{"PROJECTOR_QUEUE_CHANGES", "PROJECTOR_MEMORY_LIMIT", "PROJECTOR_QUEUE_TXS", "GOGC"} {
			if v := os.Getenv(k); v != "" {
				vars[k] = v
			}
		}
		p := e.spawn(vars)
		waitRole(b, addr, "active", time.Minute)
		pid := p.cmd.Process.Pid
		base := vmKB(b, pid, "VmRSS")

		b.ResetTimer()
		start := time.Now()
		const writers = 2
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for done := i * perTx; done < rows; done += writers * perTx {
					e.insertPayments(ctx, w, min(perTx, rows-done))
				}
			}()
		}
		stop := make(chan struct{})
		var sampler sync.WaitGroup
		var peakRSS int
		sampler.Add(1)
		go func() { // VmHWM is the kernel's own peak; sample RSS too for the log
			defer sampler.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if kb, ok := readVm(pid, "VmRSS"); ok && kb > peakRSS {
					peakRSS = kb
				}
			}
		}()
		wg.Wait()
		written := time.Since(start)
		lsn := e.walLSN(ctx)
		e.waitApplied(ctx, lsn, 10*time.Minute)
		elapsed := time.Since(start)
		b.StopTimer()
		close(stop)
		sampler.Wait()
		hwm := vmKB(b, pid, "VmHWM")
		b.ReportMetric(float64(hwm)/1024, "peak-RSS-MB")
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "docs/s")
		fmt.Printf("stream memory: %d payments in %d-row transactions written in %s (%.0f/s), searchable after %s (%.0f docs/s); projector RSS before %.0f MB, peak sampled %.0f MB, peak (VmHWM) %.0f MB\n",
			rows, perTx, written.Round(time.Millisecond), float64(rows)/written.Seconds(), elapsed.Round(time.Millisecond),
			float64(rows)/elapsed.Seconds(), float64(base)/1024, float64(peakRSS)/1024, float64(hwm)/1024)
		p.kill9(b)
	}
}

func vmKB(t testing.TB, pid int, field string) int {
	t.Helper()
	kb, ok := readVm(pid, field)
	if !ok {
		t.Fatalf("no %s in /proc/%d/status", field, pid)
	}
	return kb
}

// readVm reads a "VmXxx: N kB" line of /proc/<pid>/status (Linux).
func readVm(pid int, field string) (int, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n, err == nil
		}
	}
	return 0, false
}
