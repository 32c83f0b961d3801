// Command projector tails PostgreSQL logical replication and keeps the
// denormalized payment documents in the search engine (SPEC §1, §7).
//
//	projector            run the daemon (active or hot standby)
//	projector redrive    re-index the documents in projector_dead_letters
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/config"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/projector"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case len(os.Args) < 2:
		err = run(ctx, os.Getenv, os.Stdout, nil)
	case os.Args[1] == "redrive":
		err = redrive(ctx, os.Getenv, os.Stdout)
	default:
		err = fmt.Errorf("unknown command %q (usage: projector [redrive])", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "projector:", err)
		os.Exit(1)
	}
}

func load(getenv func(string) string, stdout io.Writer) (Config, *slog.Logger, error) {
	var cfg Config
	if err := config.Load(&cfg, getenv); err != nil {
		return cfg, nil, err
	}
	config.TuneGC(getenv, 0)
	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "projector")
	return cfg, logger, nil
}

// run serves health and metrics and runs the projector until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer, ready func(addr string)) error {
	cfg, logger, err := load(getenv, stdout)
	if err != nil {
		return err
	}
	if cfg.MemoryLimit > 0 {
		// A soft limit: the GC works harder as the heap approaches it
		// instead of letting it double (GOGC=100) after a burst. Restored
		// on return (tests run several instances in one process).
		prev := debug.SetMemoryLimit(int64(cfg.MemoryLimit))
		defer debug.SetMemoryLimit(prev)
	}
	reg := httpapi.NewRegistry()
	p, err := projector.New(projector.Config{
		DatabaseURL: cfg.DatabaseURL, SearchURL: cfg.SearchURL, IndexPrefix: cfg.IndexPrefix,
		Slot: cfg.Slot, Publication: cfg.Publication,
		BulkDocs: cfg.BulkDocs, FlushInterval: cfg.FlushInterval, RefreshWaitFor: cfg.RefreshMode == "wait_for",
		BackfillBatch: cfg.BackfillBatch, BackfillWorkers: cfg.BackfillWorkers, ReprojectBatch: cfg.ReprojectBatch,
		ItemAttempts: cfg.ItemAttempts, MinBackoff: cfg.MinBackoff, MaxBackoff: cfg.MaxBackoff, RequestTimeout: cfg.RequestTimeout,
		StandbyPoll: cfg.StandbyPoll, StatusInterval: cfg.StatusInterval, QueueTxs: cfg.QueueTxs, QueueChanges: cfg.QueueChanges,
		CompactAfter: cfg.CompactAfter, CompactSegments: cfg.CompactSegments,
	}, logger, reg)
	if err != nil {
		return err
	}
	defer p.Close()

	r := httpapi.NewEngine(logger, reg, httpapi.EngineOptions{Service: "projector"})
	p.Register(r, reg)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	serr := httpapi.Serve(ctx, logger, cfg.Addr, r, cfg.ShutdownGrace, ready)
	cancel()
	return errors.Join(serr, <-done)
}

// redrive asks the active projector to re-index every pending dead letter
// of this INDEX_PREFIX (see ProjectorStore.Redrive) and prints how many.
func redrive(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, _, err := load(getenv, io.Discard)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("projector: database: %w", err)
	}
	defer pool.Close()
	store := &postgres.ProjectorStore{Pool: pool}
	indices := []string{projection.PaymentsAlias(cfg.IndexPrefix), projection.CustomersAlias(cfg.IndexPrefix)}
	total := 0
	for {
		n, err := store.Redrive(ctx, indices, 1000)
		if err != nil {
			return err
		}
		total += n
		if n == 0 {
			break
		}
	}
	fmt.Fprintf(stdout, "re-driven %d document(s); the active projector re-indexes them in commit order\n", total)
	return nil
}
