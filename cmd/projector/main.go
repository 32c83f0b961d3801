// Command projector tails PostgreSQL logical replication and keeps the
// denormalized payment documents in the search engine (SPEC §1, §7).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/wildcat-payments/wildcat/internal/config"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/search"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "projector:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer, ready func(addr string)) error {
	var cfg Config
	if err := config.Load(&cfg, getenv); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "projector")

	pool, err := postgres.Open(ctx, cfg.DatabaseURL, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	sc, err := search.Open(ctx, cfg.SearchURL, search.Options{})
	if err != nil {
		return err
	}
	logger.Info("search engine", "engine", sc.Engine.String())

	reg := httpapi.NewRegistry()
	r := httpapi.NewEngine(logger, reg, httpapi.EngineOptions{Service: "projector"})
	httpapi.RegisterHealth(r, reg,
		httpapi.Check{Name: "postgres", Check: pool.Ping},
		httpapi.Check{Name: "search", Check: sc.Ping})
	return httpapi.Serve(ctx, logger, cfg.Addr, r, cfg.ShutdownGrace, ready)
}
