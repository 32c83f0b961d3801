package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/wildcat-payments/wildcat/client"
)

// processing measures payment processing end to end (issue 15): payments
// written through the command API, executed by a real processor against a
// real simulator, and searchable as succeeded through the query API. The
// baseline is River's own ceiling on this machine: jobs/s through a no-op
// worker. The harness runs its own simulator (with the latency of each
// phase, and without fsync: the bench measures the platform, not this
// disk's fsync latency, which the simulator would otherwise add to every
// answer) and processor from .run/bin; bench.sh stops the stack's processor
// and simulator first and brings them back afterwards.
func (b *bench) processing(ctx context.Context) error {
	if err := b.dropLoad(ctx); err != nil {
		return err
	}
	ceiling, err := b.riverNoop(ctx, 20_000)
	if err != nil {
		return fmt.Errorf("river no-op ceiling: %w", err)
	}
	fmt.Fprintf(b.out, "  River no-op worker: %s\n", ceiling)
	for _, ph := range []struct {
		latency  time.Duration
		payments int
	}{{0, 20_000}, {50 * time.Millisecond, 15_000}} {
		st, err := b.withProcessing(ctx, ph.latency, func() (Stats, error) { return b.settleBurst(ctx, ph.payments) })
		if err != nil {
			return err
		}
		b.add(Result{Scenario: fmt.Sprintf("processing %dk burst, provider %s", ph.payments/1000, ph.latency), Product: st,
			Baseline: &ceiling, Ratio: st.PerSec / ceiling.PerSec,
			Note: "created → succeeded and searchable, per s (p50/p99: created → succeeded); baseline: River no-op jobs/s"})
	}
	st, err := b.withProcessing(ctx, 20*time.Millisecond, func() (Stats, error) { return b.settleSteady(ctx, 200, b.cfg.Duration) })
	if err != nil {
		return err
	}
	b.add(Result{Scenario: "processing 200/s, provider 20ms", Product: st,
		Note: "open loop single creates; p50/p99: created → succeeded (processed_at − created_at)"})
	return nil
}

// withProcessing runs fn with a simulator answering after latency and one
// processor (default configuration) in front of it.
func (b *bench) withProcessing(ctx context.Context, latency time.Duration, fn func() (Stats, error)) (Stats, error) {
	simAddr, procAddr := freeAddr(), freeAddr()
	sim, err := b.startBinary(ctx, "provider-sim", "http://"+simAddr+"/readyz", "SIM_ADDR="+simAddr,
		"SIM_LATENCY="+latency.String(), "SIM_FSYNC=false", "SIM_LEDGER_FILE="+filepath.Join(os.TempDir(), "bench-ledger-"+randHex(4)+".jsonl"))
	if err != nil {
		return Stats{}, err
	}
	defer sim.stop()
	proc, err := b.startBinary(ctx, "processor", "http://"+procAddr+"/readyz", "PROCESSOR_ADDR="+procAddr,
		"PROVIDER_URL=http://"+simAddr, "DATABASE_URL="+b.cfg.DatabaseURL)
	if err != nil {
		return Stats{}, err
	}
	defer proc.stop()
	return fn()
}

// settleBurst writes n payments to a fresh customer through the batch
// endpoint as fast as it takes them, and waits until every one is
// searchable as succeeded.
func (b *bench) settleBurst(ctx context.Context, n int) (Stats, error) {
	customer, err := b.api.customers(ctx, 900, 1)
	if err != nil {
		return Stats{}, err
	}
	start := time.Now()
	const size = 100
	var wg sync.WaitGroup
	errs := make(chan error, n/size+1)
	sem := make(chan struct{}, 4)
	for done := 0; done < n; done += size {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			items := samples(min(size, n-done), customer)
			if _, err := b.api.cl.CreatePayments(ctx, items); err != nil {
				errs <- fmt.Errorf("batch: %w", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return Stats{}, err
	}
	if err := b.waitSucceeded(ctx, customer[0], n, 5*time.Minute); err != nil {
		return Stats{}, err
	}
	st, err := b.settleLatencies(ctx, customer[0])
	st.Elapsed = time.Since(start).Seconds()
	st.PerSec = float64(n) / st.Elapsed
	return st, err
}

// settleSteady writes single payments at rate for d (open loop) and
// reports created → succeeded.
func (b *bench) settleSteady(ctx context.Context, rate int, d time.Duration) (Stats, error) {
	customer, err := b.api.customers(ctx, 901, 1)
	if err != nil {
		return Stats{}, err
	}
	loads := samples(1024, customer)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	var mu sync.Mutex
	written, failed := 0, 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		<-tick.C
		wg.Go(func() {
			_, err := b.api.cl.CreatePayment(ctx, loads[rand.IntN(len(loads))])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				return
			}
			written++
		})
	}
	wg.Wait()
	if err := b.waitSucceeded(ctx, customer[0], written, 2*time.Minute); err != nil {
		return Stats{}, err
	}
	st, err := b.settleLatencies(ctx, customer[0])
	st.PerSec, st.Elapsed = float64(written)/d.Seconds(), d.Seconds()
	if failed > 0 {
		st.Errors = map[string]int{"create": failed}
	}
	return st, err
}

// waitSucceeded polls the query API until n payments of customer are
// searchable as succeeded.
func (b *bench) waitSucceeded(ctx context.Context, customer string, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		s, err := b.api.reads.Summarize(ctx, &client.SummaryParams{CustomerId: &[]string{customer}})
		if err == nil && s.CountByStatus.Succeeded >= int64(n) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d payments not all searchable as succeeded after %s (summary: %+v, %v)", n, limit, s, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// settleLatencies reads created → succeeded of a customer's payments from
// PostgreSQL.
func (b *bench) settleLatencies(ctx context.Context, customer string) (Stats, error) {
	pool, err := b.pool(ctx, 1)
	if err != nil {
		return Stats{}, err
	}
	defer pool.Close()
	var st Stats
	err = pool.QueryRow(ctx, `SELECT count(*),
       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - created_at)), 0) * 1000,
       coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - created_at)), 0) * 1000,
       coalesce(max(extract(epoch FROM processed_at - created_at)), 0) * 1000
FROM payments WHERE customer_id = $1 AND status = 'succeeded'`, customer).Scan(&st.Count, &st.P50Ms, &st.P99Ms, &st.MaxMs)
	return st, err
}

type noopArgs struct{}

func (noopArgs) Kind() string { return "bench_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	done chan struct{}
}

func (w *noopWorker) Work(context.Context, *river.Job[noopArgs]) error {
	w.done <- struct{}{}
	return nil
}

// riverNoop is River's ceiling here: n jobs inserted at once and worked by
// a no-op worker with the processor's default concurrency (50), in a queue
// of their own.
func (b *bench) riverNoop(ctx context.Context, n int) (Stats, error) {
	pool, err := pgxpool.New(ctx, b.cfg.DatabaseURL)
	if err != nil {
		return Stats{}, err
	}
	defer pool.Close()
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: noopArgs{}, InsertOpts: &river.InsertOpts{Queue: "bench_noop"}}
	}
	inserter, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		return Stats{}, err
	}
	if _, err := inserter.InsertManyFast(ctx, params); err != nil {
		return Stats{}, err
	}
	w := &noopWorker{done: make(chan struct{}, n)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	c, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues: map[string]river.QueueConfig{"bench_noop": {MaxWorkers: 50}}, Workers: workers,
		FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond})
	if err != nil {
		return Stats{}, err
	}
	start := time.Now()
	if err := c.Start(ctx); err != nil {
		return Stats{}, err
	}
	for range n {
		<-w.done
	}
	elapsed := time.Since(start)
	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_ = c.Stop(stopCtx)
	_, _ = pool.Exec(ctx, `DELETE FROM river_job WHERE queue = 'bench_noop'`)
	return Stats{Count: n, PerSec: float64(n) / elapsed.Seconds(), Elapsed: elapsed.Seconds()}, nil
}

// child is a process the harness started.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// startBinary starts .run/bin/NAME with env and waits until ready answers.
func (b *bench) startBinary(ctx context.Context, name, ready string, env ...string) (*child, error) {
	cmd := exec.Command(filepath.Join(b.cfg.RunDir, "bin", name))
	cmd.Env = append(os.Environ(), env...)
	logf, err := os.Create(filepath.Join(b.cfg.RunDir, "logs", "bench-"+name+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(c.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, _ := b.getJSON(ctx, ready, nil); st == http.StatusOK {
			return c, nil
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("%s exited during start-up (see .run/logs/bench-%s.log)", name, name)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, errors.New(name + " not ready after 60s")
		}
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer l.Close()
	return l.Addr().String()
}
