package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// settle waits until the system is quiet before a scenario: the projector
// has indexed every payment of the table (no backlog left by the previous
// scenario), it has no compaction pending or running, and the engine runs
// no merges. Otherwise each scenario would also measure the aftermath of
// the one before it — a compaction starts once writes have been quiet for
// PROJECTOR_COMPACT_AFTER, which would fall into the next scenario — and
// searches measure the index as the system keeps it between bursts of
// writes. It waits at most five minutes for merges and compaction and says
// how long it waited.
func (b *bench) settle(ctx context.Context) error {
	start := time.Now()
	if _, err := b.waitIndexed(ctx); err != nil {
		return err
	}
	for quiet := 0; quiet < 2 && time.Since(start) < 5*time.Minute; {
		n, err := b.runningMerges(ctx)
		if err != nil {
			return err
		}
		if b.compaction(ctx) != "" {
			n++
		}
		if n == 0 {
			quiet++
		} else {
			quiet = 0
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	fmt.Fprintf(b.out, "  settled in %.1fs (projector caught up, no merges running)\n", time.Since(start).Seconds())
	return nil
}

// compaction returns the projector's compaction state (projector.Status):
// "pending", "merging", or "" (nothing to do, or the projector does not
// answer: then there is nothing to wait for).
func (b *bench) compaction(ctx context.Context) string {
	var st struct {
		Compaction string `json:"compaction"`
	}
	if _, err := b.getJSON(ctx, b.cfg.ProjectorURL+"/readyz", &st); err != nil {
		return ""
	}
	return st.Compaction
}

// runningMerges returns the number of segment merges running on the
// engine's nodes.
func (b *bench) runningMerges(ctx context.Context) (int, error) {
	var st struct {
		Nodes map[string]struct {
			Indices struct {
				Merges struct {
					Current int `json:"current"`
				} `json:"merges"`
			} `json:"indices"`
		} `json:"nodes"`
	}
	if _, err := b.getJSON(ctx, b.cfg.SearchURL+"/_nodes/stats/indices/merge", &st); err != nil {
		return 0, fmt.Errorf("merge stats: %w", err)
	}
	n := 0
	for _, node := range st.Nodes {
		n += node.Indices.Merges.Current
	}
	return n, nil
}

// waitDecoded waits (at most two minutes) until every active logical
// replication slot has confirmed the WAL written so far. A baseline's raw
// inserts go into a table outside the publication, but PostgreSQL still
// decodes each of their transactions for the projector's slot; without
// this wait the product phase that follows would pay for decoding the
// baseline's WAL (about a hundred thousand transactions) as well.
func (b *bench) waitDecoded(ctx context.Context, pool *pgxpool.Pool) error {
	start := time.Now()
	var target string
	if err := pool.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&target); err != nil {
		return fmt.Errorf("current WAL position: %w", err)
	}
	for {
		var behind int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_replication_slots
			WHERE slot_type = 'logical' AND active AND confirmed_flush_lsn < $1::pg_lsn`, target).Scan(&behind)
		if err != nil {
			return fmt.Errorf("replication slots: %w", err)
		}
		if behind == 0 {
			fmt.Fprintf(b.out, "  replication decoded the baseline's WAL in %.1fs\n", time.Since(start).Seconds())
			return nil
		}
		if time.Since(start) > 2*time.Minute {
			fmt.Fprintf(b.out, "  replication had not decoded the baseline's WAL after %.0fs (%d slot(s) behind); measuring anyway\n",
				time.Since(start).Seconds(), behind)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
