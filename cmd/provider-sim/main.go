// Command provider-sim is a payment provider for local runs and fault
// tests (SPEC §9, docs/provider-sim.md): an HTTP acquirer that honours
// idempotency keys, keeps a ledger (optionally in an append-only file that
// survives restarts), and injects latency, declines, transient failures and
// unknown outcomes at configured rates or on request.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wildcat-payments/wildcat/internal/config"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
	"github.com/wildcat-payments/wildcat/internal/provider/simulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "provider-sim:", err)
		os.Exit(1)
	}
}

// run is the whole program; tests call it with their own environment and
// port 0. ready, if not nil, receives the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, ready func(addr string)) error {
	if len(args) > 0 {
		return fmt.Errorf("unknown arguments %q (usage: provider-sim)", args)
	}
	var cfg Config
	if err := config.Load(&cfg, getenv); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "provider-sim")

	var opts []simulator.Option
	if !cfg.Fsync {
		opts = append(opts, simulator.WithoutFsync())
	}
	sim, err := simulator.Open(cfg.LedgerFile, opts...)
	if err != nil {
		return err
	}
	defer sim.Close()
	entries, burnt := sim.Ledger()
	b := cfg.Behaviour()
	logger.Info("ledger loaded", "file", cfg.LedgerFile, "entries", len(entries), "burnt_keys", len(burnt),
		"latency_ms", b.Latency.Milliseconds(), "transient_rate", b.TransientRate, "unknown_rate", b.UnknownRate,
		"decline_rate", b.DeclineRate, "seeded", b.HasSeed)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	api := simulator.NewHandler(sim, simulator.NewDecider(b), logger, reg, ctx.Done())
	if err := httpapi.Serve(ctx, logger, cfg.Addr, routes(ctx, api, reg), cfg.ShutdownGrace, ready); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

// routes adds health and metrics to the API. /readyz turns 503 once
// shutdown begins.
func routes(ctx context.Context, api http.Handler, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	}
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ctx.Err() != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"status":"unavailable"}`+"\n")
			return
		}
		ok(w, r)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/v1/", api)
	return mux
}
