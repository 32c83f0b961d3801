package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

// backfill: start a second projector (its own slot and index prefix) on the
// seeded database and time how long it takes until its first applied
// position is published, which happens when the snapshot copy is indexed.
func (b *bench) backfill(ctx context.Context) error {
	bin := filepath.Join(b.cfg.RunDir, "bin", "projector")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("projector binary %s: %w (run make up)", bin, err)
	}
	prefix := "bench_bf_" + randHex(3) + "_"
	slot := "bench_backfill_" + randHex(3)
	logf, err := os.Create(filepath.Join(b.cfg.RunDir, "logs", "bench-backfill-projector.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+b.cfg.DatabaseURL, "SEARCH_URL="+b.cfg.SearchURL,
		"INDEX_PREFIX="+prefix, "REPLICATION_SLOT="+slot, "PROJECTOR_ADDR=127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer b.cleanupBackfill(prefix, slot, cmd)

	stateURL := b.cfg.SearchURL + "/" + projection.StateIndex(prefix) + "/_doc/" + projection.StateDocID
	var elapsed time.Duration
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(start) > 20*time.Minute {
			return fmt.Errorf("backfill did not finish in 20 minutes; see %s", logf.Name())
		}
		if found, _ := b.getOK(ctx, stateURL); found {
			elapsed = time.Since(start)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var count struct {
		Count int `json:"count"`
	}
	if _, err := b.getJSON(ctx, b.cfg.SearchURL+"/"+projection.PaymentsAlias(prefix)+"/_count", &count); err != nil {
		return err
	}
	st := Stats{Count: count.Count, Elapsed: elapsed.Seconds(), PerSec: float64(count.Count) / elapsed.Seconds()}
	b.add(Result{Scenario: "backfill from an empty index", Product: st,
		Note: fmt.Sprintf("%d documents in %.1f s, process start included", count.Count, elapsed.Seconds())})
	return nil
}

func (b *bench) cleanupBackfill(prefix, slot string, cmd *exec.Cmd) {
	b.cleanupProcess(cmd)
	b.dropProjection(prefix, slot)
}

// cleanupProcess stops a started process: SIGTERM, then SIGKILL after 15 s.
func (b *bench) cleanupProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// dropProjection drops a bench projector's slot and indices.
func (b *bench) dropProjection(prefix, slot string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if pool, err := b.pool(ctx, 1); err == nil {
		// The walsender may hold the slot a moment after its process ended:
		// try again until the slot is gone (or the 30 s are up), so no
		// inactive slot is left to retain WAL.
		for ctx.Err() == nil {
			var exists bool
			if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)", slot).Scan(&exists); err != nil || !exists {
				break
			}
			_, _ = pool.Exec(ctx, "SELECT pg_drop_replication_slot($1)", slot)
			time.Sleep(200 * time.Millisecond)
		}
		pool.Close()
	}
	req, _ := http.NewRequestWithContext(ctx, "DELETE", b.cfg.SearchURL+"/"+prefix+"*", nil)
	if res, err := b.api.hc.Do(req); err == nil {
		res.Body.Close()
	}
}

func (b *bench) getOK(ctx context.Context, url string) (bool, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := b.api.hc.Do(req)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode == 200, nil
}

func (b *bench) getJSON(ctx context.Context, url string, out any) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := b.api.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return res.StatusCode, fmt.Errorf("GET %s: %d", url, res.StatusCode)
	}
	return res.StatusCode, json.NewDecoder(res.Body).Decode(out)
}

// memory: peak resident set (VmHWM) of every service the stack started.
func (b *bench) memory(ctx context.Context) error {
	b.report.PeakRSSMB = map[string]float64{}
	for _, name := range []string{"command-api", "query-api", "projector", "web"} {
		if mb, ok := peakRSS(filepath.Join(b.cfg.RunDir, name+".pid")); ok {
			b.report.PeakRSSMB[name] = mb
			fmt.Fprintf(b.out, "  %-12s peak RSS %.1f MB\n", name, mb)
		}
	}
	return nil
}
