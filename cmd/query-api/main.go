// Command query-api is Wildcat's read side: permission-scoped payment
// searches served from the search engine only (SPEC §5). It verifies the
// command API's tokens with the public key and cannot mint them.
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
	"github.com/wildcat-payments/wildcat/internal/search"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "query-api:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer, ready func(addr string)) error {
	var cfg Config
	if err := config.Load(&cfg, getenv); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "query-api")

	sc, err := search.Open(ctx, cfg.SearchURL, search.Options{})
	if err != nil {
		return err
	}
	logger.Info("search engine", "engine", sc.Engine.String())

	pub, err := auth.LoadPublicKey(cfg.JWTPublicKeyFile)
	if err != nil {
		return err
	}
	verifier := auth.NewVerifier(pub, cfg.JWTIssuer, cfg.JWTAudience)
	_ = verifier

	reg := httpapi.NewRegistry()
	r := httpapi.NewEngine(logger, reg, httpapi.EngineOptions{Service: "query-api", RequestTimeout: cfg.RequestTimeout})
	httpapi.RegisterHealth(r, reg, httpapi.Check{Name: "search", Check: sc.Ping})
	return httpapi.Serve(ctx, logger, cfg.Addr, r, cfg.ShutdownGrace, ready)
}
