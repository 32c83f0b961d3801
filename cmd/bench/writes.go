package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/client"
	"github.com/wildcat-payments/wildcat/internal/projection"
)

// rawTable is a payments-shaped table for the baselines: same columns,
// constraints and indexes as payments, but no API in front of it.
const rawTable = `
DROP TABLE IF EXISTS bench_raw_payments;
CREATE TABLE bench_raw_payments (LIKE payments INCLUDING ALL);`

func (b *bench) pool(ctx context.Context, size int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(b.cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = size
	return pgxpool.NewWithConfig(ctx, cfg)
}

// samples returns n realistic payments over customers.
func samples(n int, customers []string) []client.NewPayment {
	r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	out := make([]client.NewPayment, n)
	for i := range out {
		out[i] = paymentBody(r, customers[r.IntN(len(customers))])
	}
	return out
}

// single: POST /v1/payments at BENCH_CLIENTS concurrent clients vs the same
// number of connections doing single-row INSERTs, one commit each.
func (b *bench) single(ctx context.Context) error {
	pool, err := b.pool(ctx, int32(b.cfg.Clients))
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, rawTable); err != nil {
		return fmt.Errorf("raw table: %w", err)
	}
	defer pool.Exec(context.Background(), "DROP TABLE IF EXISTS bench_raw_payments")

	// The same pre-generated payments on both sides, so that making load
	// costs the harness next to nothing (the client encodes each request:
	// about a microsecond, see docs/client.md).
	loads := samples(4096, b.loadCustomers)

	base := newRecorder()
	baseElapsed := drive(b.cfg.Clients, b.cfg.Duration, base, func(w int) string {
		p := loads[rand.IntN(len(loads))]
		_, err := pool.Exec(ctx, `INSERT INTO bench_raw_payments (customer_id, user_id, amount, currency, third_party, description, status, date)
			VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)`,
			p.CustomerId, b.api.userID, p.Amount, p.Currency, p.ThirdParty, *p.Description, *p.Date)
		if err != nil {
			return "insert"
		}
		return ""
	})
	bs := base.stats(baseElapsed, 1)
	if err := b.waitDecoded(ctx, pool); err != nil {
		return err
	}

	prod := newRecorder()
	elapsed := drive(b.cfg.Clients, b.cfg.Duration, prod, func(w int) string {
		_, err := b.api.cl.CreatePayment(ctx, loads[rand.IntN(len(loads))]) // with a generated Idempotency-Key
		return errorKind(err)
	})
	ps := prod.stats(elapsed, 1)
	b.add(Result{Scenario: fmt.Sprintf("single create, %d clients", b.cfg.Clients), Product: ps, Baseline: &bs, Ratio: ps.PerSec / bs.PerSec,
		Note: "baseline: single-row INSERT + commit into a payments-shaped table"})
	return nil
}

// batch: POST /v1/payments/batch (1,000 each) to the load customers vs a
// raw 1,000-row INSERT … SELECT unnest(…).
//
// long: one measurement scenario (baseline, product, report), read in order.
func (b *bench) batch(ctx context.Context) error {
	pool, err := b.pool(ctx, int32(b.cfg.BatchClients)+1)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, rawTable); err != nil {
		return fmt.Errorf("raw table: %w", err)
	}
	defer pool.Exec(context.Background(), "DROP TABLE IF EXISTS bench_raw_payments")

	// 64 pre-generated batches (64,000 distinct payments) on both sides, so
	// that making load costs the harness next to nothing.
	const size, batches = 1000, 64
	type columns struct {
		cust, cur, tp, desc, date []string
		amt                       []int64
	}
	cols, bodies := make([]columns, batches), make([][]client.NewPayment, batches)
	for k := range batches {
		items := samples(size, b.loadCustomers)
		c := columns{make([]string, size), make([]string, size), make([]string, size), make([]string, size), make([]string, size), make([]int64, size)}
		for i, p := range items {
			c.cust[i], c.amt[i], c.cur[i], c.tp[i], c.desc[i], c.date[i] = p.CustomerId, p.Amount, p.Currency, p.ThirdParty, *p.Description, p.Date.Format(time.RFC3339)
		}
		cols[k], bodies[k] = c, items
	}

	base := newRecorder()
	baseElapsed := drive(b.cfg.BatchClients, b.cfg.Duration, base, func(w int) string {
		c := cols[rand.IntN(batches)]
		cust, amt, cur, tp, desc, date := c.cust, c.amt, c.cur, c.tp, c.desc, c.date
		_, err := pool.Exec(ctx, `INSERT INTO bench_raw_payments (customer_id, user_id, amount, currency, third_party, description, status, date)
			SELECT c::uuid, $2, a, cu, t, d, 'pending', dt::timestamptz
			FROM unnest($1::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[]) AS x(c, a, cu, t, d, dt)`,
			cust, b.api.userID, amt, cur, tp, desc, date)
		if err != nil {
			return "insert"
		}
		return ""
	})
	bs := base.stats(baseElapsed, size)
	if err := b.waitDecoded(ctx, pool); err != nil {
		return err
	}

	prod := newRecorder()
	elapsed := drive(b.cfg.BatchClients, b.cfg.Duration, prod, func(w int) string {
		_, err := b.api.cl.CreatePayments(ctx, bodies[rand.IntN(batches)])
		return errorKind(err)
	})
	ps := prod.stats(elapsed, size)
	var have int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM payments").Scan(&have); err != nil {
		return fmt.Errorf("count payments: %w", err)
	}
	inScope, err := countScope(ctx, pool, b.scope)
	if err != nil {
		return err
	}
	b.add(Result{Scenario: fmt.Sprintf("batch create (1,000/request), %d clients", b.cfg.BatchClients), Product: ps, Baseline: &bs, Ratio: ps.PerSec / bs.PerSec,
		Note: fmt.Sprintf("baseline: raw 1,000-row INSERT; payments table now %d rows, %d in the bench user's scope", have, inScope)})
	return nil
}

// countScope counts the payments of the given customers: what the bench
// user's searches cover. Exact, on the customer_id index.
func countScope(ctx context.Context, pool *pgxpool.Pool, customers []string) (int, error) {
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM payments WHERE customer_id = ANY($1::uuid[])", customers).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the payments in the bench user's scope: %w", err)
	}
	return n, nil
}

// seed tops the seed customers up to exactly BENCH_SEED_PAYMENTS payments
// through the batch endpoint (not measured), for at most 15 minutes: the
// data set the search scenario measures. It runs before the scenarios.
func (b *bench) seed(ctx context.Context) error {
	pool, err := b.pool(ctx, 1)
	if err != nil {
		return err
	}
	defer pool.Close()
	have, err := countScope(ctx, pool, b.seedCustomers)
	if err != nil {
		return err
	}
	missing := b.cfg.SeedPayments - have
	if missing <= 0 {
		return nil
	}
	fmt.Fprintf(b.out, "  seeding %d payments (the search data set: %d in %d customers)\n", missing, b.cfg.SeedPayments, len(b.seedCustomers))
	start := time.Now()
	var mu sync.Mutex
	take := func() int { // reserves the next request's size
		mu.Lock()
		defer mu.Unlock()
		n := min(missing, 1000)
		missing -= n
		return n
	}
	var wg sync.WaitGroup
	var errs []error
	for range b.cfg.BatchClients {
		wg.Go(func() {
			for n := take(); n > 0 && ctx.Err() == nil && time.Since(start) < 15*time.Minute; n = take() {
				_, err := b.api.cl.CreatePayments(ctx, samples(n, b.seedCustomers))
				if kind := errorKind(err); kind != "" {
					mu.Lock()
					errs = append(errs, fmt.Errorf("seed batch: %s %v", kind, err))
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	have, err = countScope(ctx, pool, b.seedCustomers)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "  seeded in %.0fs: the seed customers hold %d payments\n", time.Since(start).Seconds(), have)
	return nil
}

// dropLoad deletes the payments the write scenarios left in the load
// customers, so that the searches run on the seeded data set alone.
func (b *bench) dropLoad(ctx context.Context) error {
	pool, err := b.pool(ctx, 1)
	if err != nil {
		return err
	}
	defer pool.Close()
	tag, err := deleteLoad(ctx, pool, b.loadCustomers)
	if err != nil {
		return fmt.Errorf("delete the write scenarios' payments: %w", err)
	}
	n := tag.RowsAffected()
	if n == 0 {
		return nil
	}
	fmt.Fprintf(b.out, "  deleted the %d payments the write scenarios left\n", n)
	if err := b.settle(ctx); err != nil {
		return err
	}
	// Merge away the deleted documents, as if they had never been written:
	// down to as many segments as hold live documents, which drops the
	// segments the deletes emptied (only_expunge_deletes leaves those) and
	// keeps the layout of the rest.
	live, err := b.segments(ctx)
	if err != nil {
		return err
	}
	url := fmt.Sprintf("%s/%s/_forcemerge?max_num_segments=%d", b.cfg.SearchURL, projection.PaymentsAlias(b.cfg.IndexPrefix), max(live, 1))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	res, err := b.api.hc.Do(req)
	if err != nil {
		return fmt.Errorf("expunge deletes: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("expunge deletes: %s", res.Status)
	}
	return b.settle(ctx)
}

func statusKind(status int, err error, want int) string {
	switch {
	case err != nil:
		return "transport"
	case status != want:
		return fmt.Sprintf("http_%d", status)
	}
	return ""
}

// deleteLoad deletes the payments of customers with their timeline,
// refunds and processing jobs. The timeline is append-only for the product;
// the bench removes its own load with the guard off for that one
// transaction (as the table's owner).
func deleteLoad(ctx context.Context, pool *pgxpool.Pool, customers []string) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, sql := range []string{
			`ALTER TABLE payment_events DISABLE TRIGGER payment_events_append_only`,
			`DELETE FROM payment_events WHERE payment_id IN (SELECT id FROM payments WHERE customer_id = ANY($1::uuid[]))`,
			`DELETE FROM refunds WHERE payment_id IN (SELECT id FROM payments WHERE customer_id = ANY($1::uuid[]))`,
			`DELETE FROM river_job WHERE kind = 'execute_payment' AND (args->>'payment_id')::uuid IN (SELECT id FROM payments WHERE customer_id = ANY($1::uuid[]))`,
			`DELETE FROM river_job j WHERE kind = 'dispatch_payments' AND EXISTS (SELECT 1 FROM unnest(string_to_array(j.args->>'payment_ids', ',')) AS d(id)
				JOIN payments p ON p.id = d.id::uuid WHERE p.customer_id = ANY($1::uuid[]))`,
			`ALTER TABLE payment_events ENABLE TRIGGER payment_events_append_only`,
		} {
			args := []any{customers}
			if sql[0] == 'A' {
				args = nil
			}
			if _, err := tx.Exec(ctx, sql, args...); err != nil {
				return err
			}
		}
		var err error
		tag, err = tx.Exec(ctx, "DELETE FROM payments WHERE customer_id = ANY($1::uuid[])", customers)
		return err
	})
	return tag, err
}
