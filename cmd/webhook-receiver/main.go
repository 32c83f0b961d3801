// Command webhook-receiver is a webhook endpoint for integration tests and
// benchmarks: it verifies every delivery's signature with client/webhook,
// records it, and answers as told — failing, dropping the connection or
// answering slowly for the first deliveries of each event — so tests can
// check that Wildcat retries until delivery, and benchmarks can read how
// long events took to arrive.
//
// Routes:
//
//	POST /hooks/{name}        a delivery (any name: one per endpoint under test)
//	POST /_admin/secrets      {"secret": "whsec_…"} adds a secret it accepts
//	GET  /_admin/behaviour    the current behaviour
//	POST /_admin/behaviour    {"fail_first": N, "drop_first": K, "status": 503, "delay_ms": M} replaces it
//	GET  /_admin/received     what was received (?records=true adds every delivery)
//	POST /_admin/reset        forgets what was received (secrets and behaviour stay)
//	GET  /healthz, /readyz
//
// It listens on loopback only unless RECEIVER_ALLOW_REMOTE=true: the admin
// routes have no authentication.
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "webhook-receiver:", err)
		os.Exit(1)
	}
}

// run is the whole program; tests call it with their own environment and
// port 0. ready, if not nil, receives the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, ready func(addr string)) error {
	if len(args) > 0 {
		return fmt.Errorf("unknown arguments %q (usage: webhook-receiver)", args)
	}
	var cfg Config
	if err := config.Load(&cfg, getenv); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "webhook-receiver")
	rcv := newReceiver(cfg.Secrets, cfg.Tolerance, cfg.Behaviour(), cfg.MaxRecords, logger)
	logger.Info("starting", "secrets", len(cfg.Secrets), "fail_first", cfg.FailFirst, "drop_first", cfg.DropFirst,
		"fail_status", cfg.Status, "delay_ms", cfg.Delay.Milliseconds())
	if err := httpapi.Serve(ctx, logger, cfg.Addr, rcv.routes(), cfg.ShutdownGrace, ready); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}
