package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

// Scenario names of the scale scenario's figures in the report; the charts
// find them by these names and by Result.Payments.
const (
	scaleSearch    = "scale: search"
	scaleIndex     = "scale: index size"
	scaleBackfill  = "scale: backfill"
	scaleCatchup   = "scale: catch-up"
	scaleFreshness = "scale: freshness"
)

// growChunk is the rows per transaction when the table is grown: the size
// of a large batch, small enough that the stack's projector streams it
// like ordinary ingestion rather than one huge transaction.
const growChunk = 10_000

// scale measures how the costs grow with the data (issue 17, item 5): for
// each of BENCH_SCALE_SIZES in turn it grows the payments table to that
// size, waits until the stack's projector has indexed and compacted it,
// then measures the search mix beside the engine alone, the payments
// index's bytes per payment, a projector of its own backfilling the whole
// table and catching up on a backlog, and freshness at the first of
// BENCH_FRESHNESS_RATES. The table only grows: a size at or below what it
// holds already is measured at what it holds. It then draws the charts.
func (b *bench) scale(ctx context.Context) error {
	pool, err := b.pool(ctx, 1)
	if err != nil {
		return err
	}
	defer pool.Close()
	for _, want := range b.cfg.ScaleSizes {
		have, err := countPayments(ctx, pool)
		if err != nil {
			return err
		}
		if have >= want {
			fmt.Fprintf(b.out, "  -- size %d: the table already holds %d payments; measuring at that\n", want, have)
		} else {
			fmt.Fprintf(b.out, "  -- size %d: growing the table from %d\n", want, have)
			if err := b.growTo(ctx, pool, want-have); err != nil {
				return fmt.Errorf("grow to %d: %w", want, err)
			}
		}
		if err := b.waitNoRebuild(ctx); err != nil {
			return err
		}
		if err := b.settle(ctx); err != nil {
			return err
		}
		if err := b.scalePoint(ctx, pool); err != nil {
			return err
		}
		if err := b.saveReport(); err != nil {
			return err
		}
	}
	files, err := drawScaleCharts(b.cfg.ChartsDir, b.report.Results)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(b.out, "  chart: %s\n", f)
	}
	return nil
}

// scalePoint measures every figure of the scale scenario at the table's
// current size and adds them to the report, each with that size.
//
// long: one measurement point (count, search, index size, backfill and catch-up, freshness), read in order.
func (b *bench) scalePoint(ctx context.Context, pool *pgxpool.Pool) error {
	n, err := countPayments(ctx, pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "  -- measuring at %d payments\n", n)

	s, err := b.searchVsEngine(ctx)
	if err != nil {
		return err
	}
	s.Scenario, s.Payments = scaleSearch, n
	b.add(s)

	docs, bytes, segments, err := b.indexSize(ctx)
	if err != nil {
		return err
	}
	b.add(Result{Scenario: scaleIndex, Payments: n, Product: Stats{Count: docs}, IndexBytes: bytes,
		Note: fmt.Sprintf("%.0f bytes per payment: %d bytes of store over %d documents in %d segments, as the projector's compaction left it",
			float64(bytes)/float64(max(docs, 1)), bytes, docs, segments)})

	backfill, catchup, err := b.backfillThenCatchUp(ctx, b.cfg.CatchupPayments)
	if err != nil {
		return err
	}
	b.add(Result{Scenario: scaleBackfill, Payments: n, Product: backfill,
		Note: fmt.Sprintf("a projector of its own: %d documents in %.1f s, process start included", backfill.Count, backfill.Elapsed)})
	b.add(Result{Scenario: scaleCatchup, Payments: n, Product: catchup, Baseline: &backfill, Ratio: catchup.PerSec / backfill.PerSec,
		Note: fmt.Sprintf("the same projector stopped, %d payments written (1,000 per transaction), started again; baseline: its backfill", catchup.Count)})

	if err := b.settle(ctx); err != nil {
		return err
	}
	rate := b.cfg.Rates[0]
	f, sent, err := b.freshnessAt(ctx, rate)
	if err != nil {
		return err
	}
	b.add(Result{Scenario: scaleFreshness, Payments: n, Product: f,
		Note: fmt.Sprintf("commit → searchable at %d creates/s (achieved %.0f/s)", rate, sent)})
	return nil
}

// growTo inserts n payments straight into the payments table, growChunk
// per transaction, spread over the load customers (those without webhook
// endpoints: each insert would queue a delivery for them). The rows are
// shaped like the API's (amounts, currencies, parties, dates over the past
// year; 15 % succeeded) but carry no processing job: the scale scenario
// measures the read side, and the write side's cost per payment is the
// batch scenario's figure. This is the batch baseline's raw insert, with
// the rows made in PostgreSQL so that millions take minutes.
func (b *bench) growTo(ctx context.Context, pool *pgxpool.Pool, n int) error {
	var customers []string
	if err := pool.QueryRow(ctx, `SELECT coalesce(array_agg(c.id::text), '{}') FROM unnest($1::uuid[]) AS c(id)
		WHERE NOT EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.customer_id = c.id)`, b.loadCustomers).Scan(&customers); err != nil {
		return fmt.Errorf("load customers: %w", err)
	}
	if len(customers) == 0 {
		return fmt.Errorf("every load customer has a webhook endpoint; nothing to grow the table over")
	}
	start, next := time.Now(), n/10
	for done := 0; done < n; {
		k := min(growChunk, n-done)
		_, err := pool.Exec(ctx, `INSERT INTO payments (customer_id, user_id, amount, currency, third_party, description, status, date, processed_at)
			SELECT ($1::uuid[])[1 + floor(x.c * cardinality($1::uuid[]))::int], $2, 1 + floor(x.a * 10000000)::bigint,
				($3::text[])[1 + floor(x.cu * cardinality($3::text[]))::int], ($4::text[])[1 + floor(x.t * cardinality($4::text[]))::int],
				'invoice ' || substr(md5(x.a::text), 1, 8),
				CASE WHEN x.s < 0.15 THEN 'succeeded' ELSE 'pending' END,
				date_trunc('second', now() - x.d * interval '365 days'),
				CASE WHEN x.s < 0.15 THEN now() END
			FROM (SELECT random() AS c, random() AS a, random() AS cu, random() AS t, random() AS s, random() AS d
				FROM generate_series(1, $5)) AS x`,
			customers, b.api.userID, currencies, parties, k)
		if err != nil {
			return err
		}
		done += k
		if done >= next || done == n {
			fmt.Fprintf(b.out, "  grown by %d of %d in %.0fs\n", done, n, time.Since(start).Seconds())
			next += n / 10
		}
	}
	return nil
}

// indexSize returns the payments index's live documents, store bytes and
// segments holding documents.
func (b *bench) indexSize(ctx context.Context) (docs int, bytes int64, segments int, err error) {
	var rows []struct {
		Docs  string `json:"docs.count"`
		Store string `json:"store.size"`
	}
	url := b.cfg.SearchURL + "/_cat/indices/" + projection.PaymentsAlias(b.cfg.IndexPrefix) + "?format=json&bytes=b&h=docs.count,store.size"
	if _, err := b.getJSON(ctx, url, &rows); err != nil {
		return 0, 0, 0, err
	}
	for _, r := range rows {
		d, err1 := strconv.Atoi(r.Docs)
		s, err2 := strconv.ParseInt(r.Store, 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, 0, fmt.Errorf("index size: unexpected _cat/indices row %+v", r)
		}
		docs, bytes = docs+d, bytes+s
	}
	segments, err = b.segments(ctx)
	return docs, bytes, segments, err
}

// waitNoRebuild waits (at most 20 minutes) while the stack's projector
// rebuilds its read model beside the stream (its /readyz "rebuild"): the
// copy doubles the engine's indexing, which no figure here should measure.
func (b *bench) waitNoRebuild(ctx context.Context) error {
	start := time.Now()
	for {
		var st struct {
			Rebuild string `json:"rebuild"`
		}
		if _, err := b.getJSON(ctx, b.cfg.ProjectorURL+"/readyz", &st); err != nil || st.Rebuild == "" {
			if time.Since(start) > time.Second {
				fmt.Fprintf(b.out, "  waited %.0fs for the projector's rebuild to finish\n", time.Since(start).Seconds())
			}
			return nil
		}
		if err := waitStep(ctx, start, 20*time.Minute, "the projector's log"); err != nil {
			return err
		}
	}
}

// saveReport writes the figures so far to BENCH_OUT, so that a long scale
// run stopped part-way keeps the sizes it measured (the charts can be drawn
// from them with BENCH_CHARTS_ONLY=1).
func (b *bench) saveReport() error {
	buf, err := json.MarshalIndent(b.report, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(b.cfg.Out, append(buf, '\n'), 0o644)
}

func countPayments(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM payments").Scan(&n); err != nil {
		return 0, fmt.Errorf("count payments: %w", err)
	}
	return n, nil
}
