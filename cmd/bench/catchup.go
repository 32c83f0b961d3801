package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/wildcat-payments/wildcat/client"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
)

// catchup measures how fast a projector works through a backlog (issue 17):
// a projector of its own (own slot and index prefix) backfills the database
// (the baseline: the backfill rate of this run), is stopped, BENCH_CATCHUP_PAYMENTS
// payments are written through the batch endpoint (1,000 per transaction,
// four clients), and it is started again: the rate is the payments over the
// time from its start until it has published the last write's position.
// The stack's own projector indexes the same writes meanwhile, as it would.
func (b *bench) catchup(ctx context.Context) error {
	bin := filepath.Join(b.cfg.RunDir, "bin", "projector")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("projector binary %s: %w (run make up)", bin, err)
	}
	prefix, slot := "bench_cu_"+randHex(3)+"_", "bench_catchup_"+randHex(3)
	logf, err := os.Create(filepath.Join(b.cfg.RunDir, "logs", "bench-catchup-projector.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	run := func() *exec.Cmd {
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+b.cfg.DatabaseURL, "SEARCH_URL="+b.cfg.SearchURL,
			"INDEX_PREFIX="+prefix, "REPLICATION_SLOT="+slot, "PROJECTOR_ADDR=127.0.0.1:0")
		cmd.Stdout, cmd.Stderr = logf, logf
		return cmd
	}
	stateURL := b.cfg.SearchURL + "/" + projection.StateIndex(prefix) + "/_doc/" + projection.StateDocID
	applied := func() uint64 {
		var doc struct {
			Source projection.StateDoc `json:"_source"`
		}
		if _, err := b.getJSON(ctx, stateURL, &doc); err != nil {
			return 0
		}
		return doc.Source.AppliedLSN
	}

	// 1. Backfill: the baseline.
	first := run()
	start := time.Now()
	if err := first.Start(); err != nil {
		return err
	}
	for applied() == 0 {
		if err := waitStep(ctx, start, 20*time.Minute, logf.Name()); err != nil {
			b.cleanupBackfill(prefix, slot, first)
			return err
		}
	}
	backfillElapsed := time.Since(start)
	var count struct {
		Count int `json:"count"`
	}
	if _, err := b.getJSON(ctx, b.cfg.SearchURL+"/"+projection.PaymentsAlias(prefix)+"/_count", &count); err != nil {
		b.cleanupBackfill(prefix, slot, first)
		return err
	}
	base := Stats{Count: count.Count, Elapsed: backfillElapsed.Seconds(), PerSec: float64(count.Count) / backfillElapsed.Seconds()}
	b.cleanupProcess(first) // stopped; its slot keeps the WAL from here on

	// 2. The backlog.
	target, written, err := b.writeBacklog(ctx, b.cfg.CatchupPayments)
	if err != nil {
		b.dropProjection(prefix, slot)
		return err
	}

	// 3. Catch up.
	second := run()
	start = time.Now()
	if err := second.Start(); err != nil {
		return err
	}
	defer b.cleanupBackfill(prefix, slot, second)
	for applied() < target {
		if err := waitStep(ctx, start, 20*time.Minute, logf.Name()); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	st := Stats{Count: written, Elapsed: elapsed.Seconds(), PerSec: float64(written) / elapsed.Seconds()}
	b.add(Result{Scenario: fmt.Sprintf("catch-up of a %d-payment backlog", written), Product: st, Baseline: &base,
		Ratio: st.PerSec / base.PerSec,
		Note:  fmt.Sprintf("product: a stopped projector started again behind %d payments (1,000 per transaction), process start included; baseline: the same projector's backfill of %d documents in this run", written, base.Count)})
	return nil
}

// writeBacklog writes n payments through the batch endpoint, 1,000 per
// request from four clients, and returns the position of the last commit.
func (b *bench) writeBacklog(ctx context.Context, n int) (uint64, int, error) {
	loads := samples(1000, b.loadCustomers)
	var mu sync.Mutex
	var last uint64
	var firstErr error
	written := 0
	var wg sync.WaitGroup
	batches := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			c, err := b.api.newClient(client.Options{TokenSource: b.api.login})
			for range batches {
				if err == nil {
					_, err = c.CreatePayments(ctx, loads)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					written += len(loads)
					if lsn, derr := domain.DecodeConsistencyToken(c.ConsistencyToken()); derr == nil && lsn > last {
						last = lsn
					}
				}
				mu.Unlock()
			}
		})
	}
	for i := 0; i < n; i += len(loads) {
		batches <- struct{}{}
	}
	close(batches)
	wg.Wait()
	return last, written, firstErr
}

func waitStep(ctx context.Context, start time.Time, limit time.Duration, log string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if time.Since(start) > limit {
		return fmt.Errorf("no progress after %s; see %s", limit, log)
	}
	time.Sleep(100 * time.Millisecond)
	return nil
}
