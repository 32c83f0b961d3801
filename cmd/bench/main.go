// Command bench is Wildcat's load harness (`make bench`): it drives the
// running local stack on 127.0.0.1 and measures every figure next to a
// baseline taken in the same run on the same machine — raw PostgreSQL
// inserts for writes, the same query sent straight to the engine for
// searches — then prints a table and writes the figures as JSON.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/wildcat-payments/wildcat/client"
	"github.com/wildcat-payments/wildcat/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Report is everything one run measured; it is written to BENCH_OUT.
type Report struct {
	StartedAt time.Time          `json:"started_at"`
	Machine   map[string]string  `json:"machine"`
	Results   []Result           `json:"results"`
	PeakRSSMB map[string]float64 `json:"peak_rss_mb,omitempty"`
}

// Result is one scenario: the product figure, the baseline and their ratio.
type Result struct {
	Scenario string  `json:"scenario"`
	Product  Stats   `json:"product"`
	Baseline *Stats  `json:"baseline,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"` // product / baseline throughput, or baseline / product latency for searches
	// ScopePayments is the number of payments the bench user's searches
	// cover (payments of its customers); search scenario only, 0 included.
	ScopePayments *int `json:"scope_payments,omitempty"`
	// Payments is the payments table's row count when the figure was
	// measured; scale scenario only, the x axis of its charts.
	Payments int `json:"payments,omitempty"`
	// IndexBytes is the payments index's store size; with Product.Count
	// (its documents) it gives the bytes per payment. Scale scenario only.
	IndexBytes int64  `json:"index_bytes,omitempty"`
	Note       string `json:"note,omitempty"`
}

type bench struct {
	cfg       Config
	out       io.Writer
	api       *api
	customers []string // the customers payments are written to
	scope     []string // every customer of the bench user: what its searches see
	// seedCustomers hold the search data set; loadCustomers take the write
	// scenarios' payments.
	seedCustomers, loadCustomers []string
	report                       *Report
}

// run runs the bench's scenarios and prints the report.
//
// long: the scenario list of the whole bench, in the order it runs.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	var cfg Config
	if err := config.Load(&cfg, getenv); err != nil {
		return err
	}
	if cfg.ChartsOnly {
		return redrawCharts(cfg, stdout)
	}
	b := &bench{cfg: cfg, out: stdout, report: &Report{StartedAt: time.Now().UTC(), Machine: machine()}}
	var err error
	if b.api, err = newAPI(cfg.CommandAPI, cfg.QueryAPI); err != nil {
		return err
	}
	id, err := b.setupIdentity(ctx)
	if err != nil {
		return fmt.Errorf("setup: %w (is the stack up? make up)", err)
	}
	// The first half of BENCH_CUSTOMERS hold the seeded data set the
	// searches measure (exactly BENCH_SEED_PAYMENTS payments); the other
	// half take the write scenarios' load, which the search scenario
	// deletes first. Searches see all the user's customers.
	b.customers, b.scope = id.Customers[:cfg.Customers], id.Customers
	half := cfg.Customers / 2
	b.seedCustomers, b.loadCustomers = b.customers[:half], b.customers[half:]
	scenarios := map[string]func(context.Context) error{
		"single":     b.single,
		"batch":      b.batch,
		"freshness":  b.freshness,
		"backfill":   b.backfill,
		"search":     b.search,
		"memory":     b.memory,
		"processing": b.processing,
		"apikey":     b.apiKeyVsUser,
		"webhooks":   b.webhooks,
		"catchup":    b.catchup,
		"sustained":  b.sustained,
		"profile":    b.profile,
		"scale":      b.scale,
	}
	// The search data set first, so that the searches measure an index
	// built by ingestion alone: the write scenarios' load comes after them
	// (and is deleted again before the next run's searches).
	if slices.Contains(cfg.Scenarios, "search") {
		fmt.Fprintln(stdout, "== seed")
		if err := b.seed(ctx); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	for _, name := range cfg.Scenarios {
		fn, ok := scenarios[name]
		if !ok {
			return fmt.Errorf("unknown scenario %q", name)
		}
		fmt.Fprintf(stdout, "== %s\n", name)
		if name != "memory" {
			if err := b.settle(ctx); err != nil {
				return fmt.Errorf("%s: settle: %w", name, err)
			}
		}
		if err := fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	b.print()
	buf, _ := json.MarshalIndent(b.report, "", "  ")
	if err := os.WriteFile(cfg.Out, append(buf, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwritten to %s\n", cfg.Out)
	return nil
}

func (b *bench) add(r Result) {
	b.report.Results = append(b.report.Results, r)
	fmt.Fprintf(b.out, "  product:  %s\n", r.Product)
	if r.Baseline != nil {
		fmt.Fprintf(b.out, "  baseline: %s\n  ratio:    %.2f\n", *r.Baseline, r.Ratio)
	}
	if r.Note != "" {
		fmt.Fprintf(b.out, "  note:     %s\n", r.Note)
	}
}

func (b *bench) print() {
	tw := tabwriter.NewWriter(b.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nscenario\tthroughput/s\tp50 ms\tp99 ms\terrors\tbaseline/s\tbase p50\tbase p99\tratio\tnote")
	for _, r := range b.report.Results {
		base := "\t\t\t"
		if r.Baseline != nil {
			base = fmt.Sprintf("%.0f\t%.2f\t%.2f\t%.2f", r.Baseline.PerSec, r.Baseline.P50Ms, r.Baseline.P99Ms, r.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.2f\t%d\t%s\t%s\n", r.Scenario, r.Product.PerSec, r.Product.P50Ms, r.Product.P99Ms, r.Product.errorCount(), base, r.Note)
	}
	_ = tw.Flush()
	if len(b.report.PeakRSSMB) > 0 {
		names := make([]string, 0, len(b.report.PeakRSSMB))
		for n := range b.report.PeakRSSMB {
			names = append(names, n)
		}
		slices.Sort(names)
		fmt.Fprintln(b.out, "\npeak RSS (VmHWM):")
		for _, n := range names {
			fmt.Fprintf(b.out, "  %-12s %7.1f MB\n", n, b.report.PeakRSSMB[n])
		}
	}
}

var (
	currencies = []string{"DKK", "EUR", "USD", "GBP", "SEK", "NOK", "CHF", "JPY"}
	parties    = []string{"Acme Supplies", "Nordic Freight", "Copenhagen Coffee", "Baltic Paper", "Oresund Energy", "Viking Tools", "Fjord Fisheries", "Aarhus Print", "Skagen Design", "Odense Bikes"}
)

// paymentBody returns a realistic payment request for customer (dated to
// the second, as the JSON the bench always sent).
func paymentBody(r *rand.Rand, customer string) client.NewPayment {
	return client.NewPayment{
		CustomerId:  customer,
		Amount:      1 + r.Int64N(10_000_000),
		Currency:    currencies[r.IntN(len(currencies))],
		ThirdParty:  parties[r.IntN(len(parties))],
		Description: client.Ptr("invoice " + randHex(4)),
		Date:        client.Ptr(time.Now().Add(-time.Duration(r.Int64N(int64(365 * 24 * time.Hour)))).UTC().Truncate(time.Second)),
	}
}

func machine() map[string]string {
	m := map[string]string{}
	if h, err := os.Hostname(); err == nil {
		m["hostname"] = h
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m["cpus"] = fmt.Sprint(countPrefix(string(b), "processor"))
		m["cpu_model"] = field(string(b), "model name")
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m["mem_total"] = field(string(b), "MemTotal")
	}
	return m
}
