// Command command-api is Wildcat's write side: users, tokens, customers,
// links and payments into PostgreSQL (SPEC §2–4). `command-api migrate`
// applies the migrations and exits; without arguments it migrates (unless
// MIGRATE_ON_START=false) and serves.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/wildcat-payments/wildcat/internal/auth"
	"github.com/wildcat-payments/wildcat/internal/config"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
	"github.com/wildcat-payments/wildcat/internal/postgres"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "command-api:", err)
		os.Exit(1)
	}
}

// run is the whole program; tests call it with their own environment and
// port 0. ready, if not nil, receives the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, ready func(addr string)) error {
	var cfg Config
	if err := config.Load(&cfg, getenv); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "command-api")

	pool, err := postgres.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return err
	}
	defer pool.Close()

	switch {
	case len(args) == 1 && args[0] == "migrate":
		return postgres.Migrate(ctx, pool, logger)
	case len(args) > 0:
		return fmt.Errorf("unknown arguments %q (usage: command-api [migrate])", args)
	}
	if cfg.MigrateOnStart {
		if err := postgres.Migrate(ctx, pool, logger); err != nil {
			return err
		}
	}

	key, err := auth.LoadPrivateKey(cfg.JWTPrivateKeyFile)
	if err != nil {
		return err
	}
	issuer := auth.NewIssuer(key, cfg.JWTIssuer, cfg.JWTAudience, cfg.TokenTTL)
	_ = issuer

	reg := httpapi.NewRegistry()
	r := httpapi.NewEngine(logger, reg, httpapi.EngineOptions{Service: "command-api", RequestTimeout: cfg.RequestTimeout})
	httpapi.RegisterHealth(r, reg, httpapi.Check{Name: "postgres", Check: pool.Ping})
	return httpapi.Serve(ctx, logger, cfg.Addr, r, cfg.ShutdownGrace, ready)
}
