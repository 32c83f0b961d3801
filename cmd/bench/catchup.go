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
	base, st, err := b.backfillThenCatchUp(ctx, b.cfg.CatchupPayments)
	if err != nil {
		return err
	}
	b.add(Result{Scenario: fmt.Sprintf("catch-up of a %d-payment backlog", st.Count), Product: st, Baseline: &base,
		Ratio: st.PerSec / base.PerSec,
		Note:  fmt.Sprintf("product: a stopped projector started again behind %d payments (1,000 per transaction), process start included; baseline: the same projector's backfill of %d documents in this run", st.Count, base.Count)})
	return nil
}

// backfillThenCatchUp runs a projector of its own (own slot and index
// prefix) through a backfill of the whole database, stops it, writes a
// backlog of n payments through the batch endpoint and starts it again. It
// returns the backfill's figures (documents in the index over the time from
// start to first published position, process start included) and the
// catch-up's (the backlog over the time from the restart until the last
// write's position is published). The projector's slot and indices are
// dropped before it returns.
func (b *bench) backfillThenCatchUp(ctx context.Context, n int) (backfill, catchup Stats, err error) {
	bin := filepath.Join(b.cfg.RunDir, "bin", "projector")
	if _, err := os.Stat(bin); err != nil {
		return Stats{}, Stats{}, fmt.Errorf("projector binary %s: %w (run make up)", bin, err)
	}
	logf, err := os.Create(filepath.Join(b.cfg.RunDir, "logs", "bench-catchup-projector.log"))
	if err != nil {
		return Stats{}, Stats{}, err
	}
	defer logf.Close()
	p := benchProjector{b: b, bin: bin, log: logf, prefix: "bench_cu_" + randHex(3) + "_", slot: "bench_catchup_" + randHex(3)}

	// 1. Backfill: the baseline.
	first, backfillElapsed, err := p.startUntil(ctx, 1)
	if err != nil {
		return Stats{}, Stats{}, err
	}
	var count struct {
		Count int `json:"count"`
	}
	if _, err := b.getJSON(ctx, b.cfg.SearchURL+"/"+projection.PaymentsAlias(p.prefix)+"/_count", &count); err != nil {
		b.cleanupBackfill(p.prefix, p.slot, first)
		return Stats{}, Stats{}, err
	}
	backfill = Stats{Count: count.Count, Elapsed: backfillElapsed.Seconds(), PerSec: float64(count.Count) / backfillElapsed.Seconds()}
	// Let it stream what others wrote during the backfill before stopping
	// it: on a busy database a long backfill leaves minutes of other
	// changes behind its consistent point, which the catch-up would
	// otherwise replay and count as the backlog's time.
	if err := p.waitCurrent(ctx, first); err != nil {
		return Stats{}, Stats{}, err
	}
	b.cleanupProcess(first) // stopped; its slot keeps the WAL from here on

	// 2. The backlog.
	target, written, err := b.writeBacklog(ctx, n)
	if err != nil {
		b.dropProjection(p.prefix, p.slot)
		return Stats{}, Stats{}, err
	}

	// 3. Catch up.
	second, elapsed, err := p.startUntil(ctx, target)
	if err != nil {
		return Stats{}, Stats{}, err
	}
	b.cleanupBackfill(p.prefix, p.slot, second)
	catchup = Stats{Count: written, Elapsed: elapsed.Seconds(), PerSec: float64(written) / elapsed.Seconds()}
	return backfill, catchup, nil
}

// benchProjector is a projector of the bench's own (slot, index prefix).
type benchProjector struct {
	b            *bench
	bin          string
	log          *os.File
	prefix, slot string
}

// startUntil starts the projector and waits until it has published target
// (1: its first position, the end of its backfill). On an error the
// projector is stopped and its slot and indices dropped.
func (p benchProjector) startUntil(ctx context.Context, target uint64) (*exec.Cmd, time.Duration, error) {
	b := p.b
	cmd := exec.CommandContext(ctx, p.bin)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+b.cfg.DatabaseURL, "SEARCH_URL="+b.cfg.SearchURL,
		"INDEX_PREFIX="+p.prefix, "REPLICATION_SLOT="+p.slot, "PROJECTOR_ADDR=127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = p.log, p.log
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.dropProjection(p.prefix, p.slot)
		return nil, 0, err
	}
	if err := p.waitPublished(ctx, start, target); err != nil {
		b.cleanupBackfill(p.prefix, p.slot, cmd)
		return nil, 0, err
	}
	return cmd, time.Since(start), nil
}

// waitCurrent waits until the running projector cmd has published the
// WAL position current now. On an error it is stopped and its slot and
// indices dropped.
func (p benchProjector) waitCurrent(ctx context.Context, cmd *exec.Cmd) error {
	b := p.b
	pool, err := b.pool(ctx, 1)
	if err == nil {
		defer pool.Close()
		var lsn uint64
		if err = pool.QueryRow(ctx, "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint").Scan(&lsn); err == nil {
			err = p.waitPublished(ctx, time.Now(), lsn)
		}
	}
	if err != nil {
		b.cleanupBackfill(p.prefix, p.slot, cmd)
	}
	return err
}

// waitPublished waits (at most 20 minutes from start) until the projector
// has published target.
func (p benchProjector) waitPublished(ctx context.Context, start time.Time, target uint64) error {
	stateURL := p.b.cfg.SearchURL + "/" + projection.StateIndex(p.prefix) + "/_doc/" + projection.StateDocID
	for {
		var doc struct {
			Source projection.StateDoc `json:"_source"`
		}
		if _, err := p.b.getJSON(ctx, stateURL, &doc); err == nil && doc.Source.AppliedLSN >= target {
			return nil
		}
		if err := waitStep(ctx, start, 20*time.Minute, p.log.Name()); err != nil {
			return err
		}
	}
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
