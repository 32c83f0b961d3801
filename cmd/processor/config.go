package main

import (
	"log/slog"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/internal/config"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/processing"
	"github.com/wildcat-payments/wildcat/internal/queue"
)

// Config is everything the processor reads from its environment.
type Config struct {
	Addr           string `env:"PROCESSOR_ADDR" envDefault:"127.0.0.1:8084"`
	DatabaseURL    string `env:"DATABASE_URL" envDefault:"postgres://wildcat:wildcat@127.0.0.1:55432/wildcat?sslmode=disable"`
	DBMaxConns     int32  `env:"DB_MAX_CONNS" envDefault:"32"`
	MigrateOnStart bool   `env:"MIGRATE_ON_START" envDefault:"true"`
	// AsyncCommit: the processor's commits do not wait for the WAL flush
	// (docs/processing.md, Commits).
	AsyncCommit   bool          `env:"PROCESSOR_ASYNC_COMMIT" envDefault:"true"`
	ShutdownGrace time.Duration `env:"SHUTDOWN_GRACE" envDefault:"15s"`
	LogLevel      slog.Level    `env:"LOG_LEVEL" envDefault:"info"`

	// ProviderURL is the default provider (the simulator locally);
	// ProviderRoutes sends currencies elsewhere: "JPY=http://…,SEK=http://…".
	ProviderURL     string        `env:"PROVIDER_URL" envDefault:"http://127.0.0.1:8090"`
	ProviderRoutes  []string      `env:"PROVIDER_ROUTES" envSeparator:","`
	ProviderTimeout time.Duration `env:"PROVIDER_TIMEOUT" envDefault:"10s"`

	PaymentWorkers int           `env:"PROCESSOR_PAYMENT_WORKERS" envDefault:"100"`
	RefundWorkers  int           `env:"PROCESSOR_REFUND_WORKERS" envDefault:"10"`
	JobTimeout     time.Duration `env:"PROCESSOR_JOB_TIMEOUT" envDefault:"30s"`
	RescueAfter    time.Duration `env:"PROCESSOR_RESCUE_AFTER" envDefault:"1m"`
	PollInterval   time.Duration `env:"PROCESSOR_POLL_INTERVAL" envDefault:"50ms"`

	RetryStrategy    string        `env:"RETRY_STRATEGY" envDefault:"exponential"`
	RetryBase        time.Duration `env:"RETRY_BASE" envDefault:"1s"`
	RetryCap         time.Duration `env:"RETRY_CAP" envDefault:"5m"`
	RetryMaxAttempts int           `env:"RETRY_MAX_ATTEMPTS" envDefault:"10"`
	RetryMaxAge      time.Duration `env:"RETRY_MAX_AGE" envDefault:"24h"`

	// Webhook deliveries (docs/integrations.md): exponential backoff with
	// jitter from WEBHOOK_RETRY_BASE to WEBHOOK_RETRY_CAP for up to
	// WEBHOOK_RETRY_MAX_AGE after the event; an endpoint is disabled after
	// WEBHOOK_DISABLE_AFTER consecutive failed attempts.
	WebhookWorkers       int           `env:"WEBHOOK_WORKERS" envDefault:"50"`
	WebhookTimeout       time.Duration `env:"WEBHOOK_TIMEOUT" envDefault:"10s"`
	WebhookRetryBase     time.Duration `env:"WEBHOOK_RETRY_BASE" envDefault:"10s"`
	WebhookRetryCap      time.Duration `env:"WEBHOOK_RETRY_CAP" envDefault:"6h"`
	WebhookRetryMaxAge   time.Duration `env:"WEBHOOK_RETRY_MAX_AGE" envDefault:"72h"`
	WebhookDisableAfter  int           `env:"WEBHOOK_DISABLE_AFTER" envDefault:"50"`
	WebhookAllowPrivate  bool          `env:"WEBHOOK_ALLOW_PRIVATE" envDefault:"false"`
	WebhookRelayInterval time.Duration `env:"WEBHOOK_RELAY_INTERVAL" envDefault:"1s"`
}

// webhookJobMargin is a delivery job's time beyond the HTTP attempt: its
// reads and writes of the delivery log.
const webhookJobMargin = time.Second

// WebhookRetryPolicy is the configured webhook retry policy: attempts are
// bounded by age only.
func (c *Config) WebhookRetryPolicy() processing.RetryPolicy {
	return processing.RetryPolicy{Strategy: processing.StrategyExponential, Base: c.WebhookRetryBase, Cap: c.WebhookRetryCap,
		MaxAttempts: math.MaxInt32, MaxAge: c.WebhookRetryMaxAge}
}

// RetryPolicy is the configured retry policy.
func (c *Config) RetryPolicy() processing.RetryPolicy {
	return processing.RetryPolicy{Strategy: processing.Strategy(c.RetryStrategy), Base: c.RetryBase, Cap: c.RetryCap,
		MaxAttempts: c.RetryMaxAttempts, MaxAge: c.RetryMaxAge}
}

// workerConfig is the River client's configuration. Errors that are not
// the provider's (the database unreachable) back off exponentially within
// the same base and cap.
func (c *Config) workerConfig() queue.WorkerConfig {
	return queue.WorkerConfig{
		PaymentWorkers: c.PaymentWorkers, RefundWorkers: c.RefundWorkers, WebhookWorkers: c.WebhookWorkers,
		JobTimeout: c.JobTimeout, RescueAfter: c.RescueAfter, PollInterval: c.PollInterval,
		ErrorDelay: processing.RetryPolicy{Strategy: processing.StrategyExponential, Base: c.RetryBase, Cap: c.RetryCap, MaxAttempts: 1},
	}
}

// Routes parses ProviderRoutes into currency → provider URL.
func (c *Config) Routes() map[string]string {
	routes := map[string]string{}
	for _, r := range c.ProviderRoutes {
		if cur, u, ok := strings.Cut(strings.TrimSpace(r), "="); ok {
			routes[strings.TrimSpace(cur)] = strings.TrimSpace(u)
		}
	}
	return routes
}

// Validate reports every out-of-range value.
func (c *Config) Validate() error {
	var ck config.Check
	ck.That(c.Addr != "", "PROCESSOR_ADDR must not be empty")
	ck.That(c.DatabaseURL != "", "DATABASE_URL must not be empty")
	ck.That(c.DBMaxConns >= 2 && c.DBMaxConns <= 1000, "DB_MAX_CONNS must be 2..1000, got %d", c.DBMaxConns)
	ck.That(c.ShutdownGrace > 0, "SHUTDOWN_GRACE must be positive")
	ck.That(validURL(c.ProviderURL), "PROVIDER_URL must be an http(s) URL, got %q", c.ProviderURL)
	for _, r := range c.ProviderRoutes {
		cur, u, ok := strings.Cut(strings.TrimSpace(r), "=")
		ck.That(ok && domain.IsCurrency(strings.TrimSpace(cur)) && validURL(strings.TrimSpace(u)),
			"PROVIDER_ROUTES: %q is not CURRENCY=URL", r)
	}
	ck.That(c.ProviderTimeout >= 10*time.Millisecond, "PROVIDER_TIMEOUT must be at least 10ms, got %s", c.ProviderTimeout)
	ck.That(c.PaymentWorkers >= 1 && c.PaymentWorkers <= 10_000, "PROCESSOR_PAYMENT_WORKERS must be 1..10000, got %d", c.PaymentWorkers)
	ck.That(c.RefundWorkers >= 1 && c.RefundWorkers <= 10_000, "PROCESSOR_REFUND_WORKERS must be 1..10000, got %d", c.RefundWorkers)
	ck.That(c.JobTimeout > c.ProviderTimeout, "PROCESSOR_JOB_TIMEOUT (%s) must exceed PROVIDER_TIMEOUT (%s): an attempt includes the provider call", c.JobTimeout, c.ProviderTimeout)
	ck.That(c.RescueAfter > c.JobTimeout, "PROCESSOR_RESCUE_AFTER (%s) must exceed PROCESSOR_JOB_TIMEOUT (%s)", c.RescueAfter, c.JobTimeout)
	ck.That(c.PollInterval >= time.Millisecond, "PROCESSOR_POLL_INTERVAL must be at least 1ms, got %s", c.PollInterval)
	if err := c.RetryPolicy().Validate(); err != nil {
		ck.That(false, "RETRY_*: %v", err)
	}
	ck.That(c.WebhookWorkers >= 1 && c.WebhookWorkers <= 10_000, "WEBHOOK_WORKERS must be 1..10000, got %d", c.WebhookWorkers)
	ck.That(c.WebhookTimeout >= 10*time.Millisecond && c.WebhookTimeout <= time.Minute,
		"WEBHOOK_TIMEOUT must be 10ms..1m, got %s", c.WebhookTimeout)
	ck.That(c.RescueAfter > c.WebhookTimeout+webhookJobMargin,
		"PROCESSOR_RESCUE_AFTER (%s) must exceed WEBHOOK_TIMEOUT (%s) + %s", c.RescueAfter, c.WebhookTimeout, webhookJobMargin)
	ck.That(c.WebhookRetryBase > 0 && c.WebhookRetryCap >= c.WebhookRetryBase,
		"WEBHOOK_RETRY_BASE must be positive and WEBHOOK_RETRY_CAP at least as long")
	ck.That(c.WebhookRetryMaxAge >= c.WebhookRetryBase, "WEBHOOK_RETRY_MAX_AGE must be at least WEBHOOK_RETRY_BASE, got %s", c.WebhookRetryMaxAge)
	ck.That(c.WebhookDisableAfter >= 1, "WEBHOOK_DISABLE_AFTER must be at least 1, got %d", c.WebhookDisableAfter)
	ck.That(c.WebhookRelayInterval >= 10*time.Millisecond, "WEBHOOK_RELAY_INTERVAL must be at least 10ms, got %s", c.WebhookRelayInterval)
	return ck.Err()
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
