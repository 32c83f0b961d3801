// Command processor executes payments and refunds (SPEC §9,
// docs/processing.md): River workers take the jobs the command API enqueued
// with each payment, send them to the payment provider, retry transient
// failures with the same idempotency key, and record every outcome with its
// payment event. Several processors may run at once.
package main

import (
	"context"
	"fmt"
	"github.com/jackc/pgx/v5/pgxpool"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/wildcat-payments/wildcat/internal/config"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/processing"
	"github.com/wildcat-payments/wildcat/internal/queue"
	"github.com/wildcat-payments/wildcat/internal/webhook"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "processor:", err)
		os.Exit(1)
	}
}

// run is the whole program; tests call it with their own environment and
// port 0. ready, if not nil, receives the listening address.
// long: the composition root reads top to bottom in start-up order (pool,
// provider, workers, relay, HTTP, then the ordered shutdown); splitting it
// would scatter that order.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, ready func(addr string)) error {
	if len(args) > 0 {
		return fmt.Errorf("unknown arguments %q (usage: processor)", args)
	}
	var cfg Config
	if err := config.Load(&cfg, getenv); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "processor")

	pool, err := postgres.OpenPool(ctx, cfg.DatabaseURL, postgres.PoolOptions{MaxConns: cfg.DBMaxConns,
		ApplicationName: "wildcat-processor", AsyncCommit: cfg.AsyncCommit})
	if err != nil {
		return err
	}
	defer pool.Close()
	if cfg.MigrateOnStart {
		if err := postgres.Migrate(ctx, pool, logger); err != nil {
			return err
		}
	}

	reg := httpapi.NewRegistry()
	m := newMetrics(reg, pool)
	provider, err := newProvider(cfg, reg)
	if err != nil {
		return err
	}
	svc, err := processing.New(&postgres.ProcessingStore{Pool: pool}, provider, cfg.RetryPolicy(), m.hooks(), logger)
	if err != nil {
		return err
	}
	sender := webhook.NewSender(webhook.Options{AllowPrivate: cfg.WebhookAllowPrivate, Timeout: cfg.WebhookTimeout})
	defer sender.CloseIdleConnections()
	workers, err := queue.NewWorkerClient(pool, svc, cfg.workerConfigWith(pool, sender, m), logger)
	if err != nil {
		return err
	}
	defer runRelay(ctx, queue.NewRelay(pool, workers, cfg.WebhookRelayInterval, logger))()
	// The workers run on a context of their own: on SIGTERM they stop
	// taking jobs and get ShutdownGrace to finish the attempts in flight;
	// what is still running then is cancelled, and those jobs run again
	// (same idempotency key) in whichever processor takes them next.
	if err := workers.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("processor: start workers: %w", err)
	}
	logger.Info("processor started", "payment_workers", cfg.PaymentWorkers, "retry_strategy", cfg.RetryStrategy)

	r := httpapi.NewEngine(logger, reg, httpapi.EngineOptions{Service: "processor"})
	httpapi.RegisterHealth(r, reg, httpapi.Check{Name: "postgres", Check: pool.Ping})
	serveErr := httpapi.Serve(ctx, logger, cfg.Addr, r, cfg.ShutdownGrace, ready)

	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := workers.Stop(stopCtx); err != nil {
		logger.Warn("attempts still running at the end of the grace period; cancelling them", "error", err.Error())
		hard, cancelHard := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		defer cancelHard()
		_ = workers.StopAndCancel(hard)
	}
	logger.Info("processor stopped")
	return serveErr
}

// webhookSender adapts webhook.Sender to processing.WebhookSender.
type webhookSender struct{ s *webhook.Sender }

func (w webhookSender) Send(ctx context.Context, url, secret, eventID string, body []byte) processing.WebhookResult {
	r := w.s.Send(ctx, url, secret, eventID, body)
	return processing.WebhookResult{StatusCode: r.StatusCode, Duration: r.Duration, ResponseBody: r.ResponseBody, Err: r.Err}
}

// workerConfigWith is workerConfig with the webhook deliveries.
func (c *Config) workerConfigWith(pool *pgxpool.Pool, sender *webhook.Sender, m *metrics) queue.WorkerConfig {
	wcfg := c.workerConfig()
	wcfg.WebhookJobTimeout = c.WebhookTimeout + webhookJobMargin
	wcfg.Webhooks = processing.NewWebhooks(postgres.NewWebhookStore(pool), webhookSender{sender}, c.WebhookRetryPolicy(),
		c.WebhookDisableAfter, m.webhookHooks())
	return wcfg
}

// runRelay runs the webhook outbox relay until the returned stop is called.
func runRelay(ctx context.Context, r *queue.Relay) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	return func() { cancel(); <-done }
}
