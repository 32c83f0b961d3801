// Command projector tails PostgreSQL logical replication and keeps the
// denormalized payment documents in the search engine (docs/projector.md).
// It is the projector's composition root: it opens the pool and the
// clients and hands them to internal/projection.
//
//	projector            run the daemon (active or hot standby)
//	projector redrive    re-index the documents in projector_dead_letters
//	projector verify     compare the read model with the write model once (-repair: re-project what differs)
//	projector rebuild    rebuild the read model beside the stream (the current one keeps serving until the swap)
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
	"github.com/wildcat-payments/wildcat/internal/postgres/pgoutput"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/search"
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
	case os.Args[1] == "verify":
		err = verify(ctx, os.Getenv, os.Stdout, os.Args[2:])
	case os.Args[1] == "rebuild":
		err = rebuild(ctx, os.Getenv, os.Stdout)
	default:
		err = fmt.Errorf("unknown command %q (usage: projector [redrive | verify [-repair] | rebuild])", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "projector:", err)
		os.Exit(1)
	}
}

func load(getenv func(string) string, stdout io.Writer) (Config, *slog.Logger, error) {
	cfg := defaultConfig()
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
	// The readers' pool: consistent reads of dirty documents, the
	// projector's tables and catalog queries. The replication connection,
	// the leader lock and a backfill's snapshot are sessions of their own.
	pool, err := postgres.OpenPool(ctx, cfg.DatabaseURL, postgres.PoolOptions{MaxConns: 6, ApplicationName: "wildcat-projector-reader", Lazy: true})
	if err != nil {
		return err
	}
	defer pool.Close()
	reg := httpapi.NewRegistry()
	pcfg := cfg.Config
	pcfg.RefreshWaitFor = cfg.RefreshMode == "wait_for"
	p := projection.New(pcfg, projection.Deps{
		Replication: pgoutput.Dialer{URL: cfg.DatabaseURL},
		State:       &postgres.ProjectorStore{Pool: pool, URL: cfg.DatabaseURL},
		Source:      &postgres.ProjectorSource{Pool: pool},
		Engine: &search.ProjectorEngine{URL: cfg.SearchURL, APIKey: cfg.SearchAPIKey, Prefix: cfg.IndexPrefix,
			OnOpen: func(e search.Engine) { logger.Info("search engine", "engine", e.String()) }},
	}, logger, reg)

	r := httpapi.NewEngine(logger, reg, httpapi.EngineOptions{Service: "projector"})
	routes(r, p, reg)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	serr := httpapi.Serve(ctx, logger, cfg.Addr, r, cfg.ShutdownGrace, ready)
	cancel()
	return errors.Join(serr, <-done)
}

// openTool loads the configuration and opens a pool for a one-shot
// command (rebuild, redrive, verify).
func openTool(ctx context.Context, getenv func(string) string) (Config, *pgxpool.Pool, error) {
	cfg, _, err := load(getenv, io.Discard)
	if err != nil {
		return cfg, nil, err
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return cfg, nil, fmt.Errorf("projector: database: %w", err)
	}
	return cfg, pool, nil
}

// rebuild asks the active projector of this INDEX_PREFIX to rebuild the
// read model beside the stream (docs/projector.md, *Rebuilds beside the
// stream*).
func rebuild(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, pool, err := openTool(ctx, getenv)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := &postgres.ProjectorStore{Pool: pool}
	if err := store.RequestRebuild(ctx, cfg.IndexPrefix, "projector rebuild"); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "rebuild requested; the active projector builds a new generation beside the stream and swaps the aliases when it is complete (see its /readyz: \"rebuild\")")
	return nil
}

// redrive asks the active projector to re-index every pending dead letter
// of this INDEX_PREFIX (see ProjectorStore.Redrive) and prints how many.
func redrive(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, pool, err := openTool(ctx, getenv)
	if err != nil {
		return err
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
