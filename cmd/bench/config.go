package main

import (
	"time"

	"github.com/wildcat-payments/wildcat/internal/config"
)

// Config is what the benchmark harness reads from its environment; `make
// bench` fills the URLs from .run/stack.env.
type Config struct {
	DatabaseURL      string        `env:"DATABASE_URL" envDefault:"postgres://wildcat:wildcat@127.0.0.1:55432/wildcat?sslmode=disable"`
	SearchURL        string        `env:"SEARCH_URL" envDefault:"http://127.0.0.1:9200"`
	CommandAPI       string        `env:"COMMAND_API" envDefault:"http://127.0.0.1:8081"`
	QueryAPI         string        `env:"QUERY_API" envDefault:"http://127.0.0.1:8082"`
	Receiver         string        `env:"WEBHOOK_RECEIVER" envDefault:"http://127.0.0.1:8095"`
	WebhookEvents    int           `env:"BENCH_WEBHOOK_EVENTS" envDefault:"20000"`
	WebhookEndpoints int           `env:"BENCH_WEBHOOK_ENDPOINTS" envDefault:"5"`
	CatchupPayments  int           `env:"BENCH_CATCHUP_PAYMENTS" envDefault:"300000"`
	ProjectorURL     string        `env:"PROJECTOR_URL" envDefault:"http://127.0.0.1:8083"`
	IndexPrefix      string        `env:"INDEX_PREFIX" envDefault:""`
	RunDir           string        `env:"BENCH_RUN_DIR" envDefault:".run"`
	Duration         time.Duration `env:"BENCH_DURATION" envDefault:"15s"`
	Clients          int           `env:"BENCH_CLIENTS" envDefault:"64"`
	BatchClients     int           `env:"BENCH_BATCH_CLIENTS" envDefault:"4"`
	SearchClients    int           `env:"BENCH_SEARCH_CLIENTS" envDefault:"16"`
	SeedPayments     int           `env:"BENCH_SEED_PAYMENTS" envDefault:"1000000"`
	Customers        int           `env:"BENCH_CUSTOMERS" envDefault:"20"`
	Rates            []int         `env:"BENCH_FRESHNESS_RATES" envDefault:"1000,2000,4000"`
	SustainedRate    int           `env:"BENCH_SUSTAINED_RATE" envDefault:"10000"`
	ProfileRuns      int           `env:"BENCH_PROFILE_RUNS" envDefault:"10"`
	SustainedSeconds int           `env:"BENCH_SUSTAINED_SECONDS" envDefault:"60"`
	Scenarios        []string      `env:"BENCH_SCENARIOS" envDefault:"search,single,batch,freshness,backfill,memory,processing"`
	Out              string        `env:"BENCH_OUT" envDefault:".run/bench.json"`
	// ScaleSizes are the payments table sizes the scale scenario measures
	// at, ascending: it grows the table to each in turn.
	ScaleSizes []int `env:"BENCH_SCALE_SIZES" envDefault:"1000000,5000000,10000000"`
	// ChartsDir is where the scale scenario draws its SVG charts.
	ChartsDir string `env:"BENCH_CHARTS_DIR" envDefault:"docs/bench"`
	// ChartsOnly redraws the charts from the scale figures in BENCH_OUT
	// and measures nothing.
	ChartsOnly bool `env:"BENCH_CHARTS_ONLY"`
}

// Validate reports every out-of-range value.
func (c *Config) Validate() error {
	var ck config.Check
	ck.That(c.Duration >= time.Second, "BENCH_DURATION must be at least 1s")
	ck.That(c.WebhookEvents >= 1000, "BENCH_WEBHOOK_EVENTS must be at least 1000")
	ck.That(c.CatchupPayments >= 1000, "BENCH_CATCHUP_PAYMENTS must be at least 1000")
	ck.That(c.WebhookEndpoints >= 1 && c.WebhookEndpoints <= 50, "BENCH_WEBHOOK_ENDPOINTS must be 1..50")
	ck.That(c.CatchupPayments >= 1000, "BENCH_CATCHUP_PAYMENTS must be at least 1000")
	ck.That(c.Clients >= 1 && c.Clients <= 1024, "BENCH_CLIENTS must be 1..1024")
	ck.That(c.BatchClients >= 1 && c.BatchClients <= 64, "BENCH_BATCH_CLIENTS must be 1..64")
	ck.That(c.SearchClients >= 1 && c.SearchClients <= 256, "BENCH_SEARCH_CLIENTS must be 1..256")
	ck.That(c.SeedPayments >= 0, "BENCH_SEED_PAYMENTS must be ≥ 0")
	ck.That(c.Customers >= 2 && c.Customers <= 1000, "BENCH_CUSTOMERS must be 2..1000 (half hold the search data set, half take the write load)")
	ck.That(c.SustainedRate >= 100 && c.SustainedRate <= 100000, "BENCH_SUSTAINED_RATE must be 100..100000 (batches of 100)")
	ck.That(c.ProfileRuns >= 1 && c.ProfileRuns <= 1000, "BENCH_PROFILE_RUNS must be 1..1000")
	ck.That(c.SustainedSeconds >= 1 && c.SustainedSeconds <= 3600, "BENCH_SUSTAINED_SECONDS must be 1..3600")
	ck.That(len(c.ScaleSizes) > 0, "BENCH_SCALE_SIZES must name at least one size")
	for i, n := range c.ScaleSizes {
		ck.That(n >= 1000, "BENCH_SCALE_SIZES must be at least 1000 each, got %d", n)
		ck.That(i == 0 || n > c.ScaleSizes[i-1], "BENCH_SCALE_SIZES must ascend (the table only grows), got %d after %d", n, c.ScaleSizes[max(i-1, 0)])
	}
	for _, r := range c.Rates {
		ck.That(r >= 1 && r <= 100000, "BENCH_FRESHNESS_RATES must be 1..100000, got %d", r)
	}
	return ck.Err()
}
