package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/search"
)

// A customer with thousands of payments is renamed several times while
// payments for it keep being inserted: every document ends with the last
// name.
func TestRenameUnderConcurrentInserts(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 2, 1, 4000)
	e.start(e.vars("PROJECTOR_REPROJECT_BATCH", "700"))
	e.waitConsistent(ctx, 30*time.Second)

	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for lctx.Err() == nil {
			_, _ = e.pool.Exec(lctx, `INSERT INTO payments (customer_id, user_id, amount, currency, third_party) VALUES ($1, $2, 1, 'DKK', 'x')`,
				w.customers[0], w.users[0])
		}
	}()
	for i := range 3 {
		e.exec(ctx, `UPDATE customers SET name = $2 WHERE id = $1`, w.customers[0], fmt.Sprintf("Renamed %d", i))
		time.Sleep(300 * time.Millisecond)
	}
	// An e-mail change keeps the name: payments are not re-projected.
	e.exec(ctx, `UPDATE customers SET email = 'shop@example.com' WHERE id = $1`, w.customers[0])
	time.Sleep(300 * time.Millisecond)
	stop()
	wg.Wait()
	e.waitConsistent(ctx, 30*time.Second)
	got, err := e.indexPayments(ctx)
	e.must(err)
	for _, l := range got {
		if strings.Split(l, "|")[3] != "Renamed 2" {
			t.Fatalf("document %s does not carry the last name", l)
		}
	}
}

// Users linked and unlinked, and a linked user's name and e-mail changing,
// are reflected in the customer access documents (never deleted on
// unlink), and the user's payments carry the new name and e-mail.
func TestLinksAndUserChanges(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 3, 2, 50)
	in := e.start(e.vars())
	e.waitConsistent(ctx, 30*time.Second)

	tests := []struct {
		name string
		sql  string
		args []any
	}{
		{"Link", `INSERT INTO customer_users (customer_id, user_id) VALUES ($1, $2)`, []any{w.customers[0], w.users[2]}},
		{"UnlinkLast", `DELETE FROM customer_users WHERE customer_id = $1`, []any{w.customers[1]}},
		{"RenameUser", `UPDATE users SET name = 'Renamed user', email = 'renamed@example.com' WHERE id = $1`, []any{w.users[0]}},
		{"PasswordOnly", `UPDATE users SET password_hash = 'y' WHERE id = $1`, []any{w.users[1]}},
		{"Relink", `INSERT INTO customer_users (customer_id, user_id) VALUES ($1, $2)`, []any{w.customers[1], w.users[0]}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.exec(ctx, tc.sql, tc.args...)
			e.waitConsistent(ctx, 20*time.Second)
		})
	}
	// The user-visible fields of the renamed user's payments.
	var n int
	e.must(e.pool.QueryRow(ctx, `SELECT count(*) FROM payments WHERE user_id = $1`, w.users[0]).Scan(&n))
	hits := e.count(ctx, projection.PaymentsAlias(e.prefix), map[string]any{"bool": map[string]any{"filter": []any{
		map[string]any{"term": map[string]any{"user_id": w.users[0]}},
		map[string]any{"term": map[string]any{"user_email": "renamed@example.com"}},
		map[string]any{"term": map[string]any{"user_name.raw": "Renamed user"}},
	}}})
	if n == 0 || hits != n {
		t.Errorf("payments of the renamed user with the new name and e-mail: got %d, want %d", hits, n)
	}
	// Relation messages of every table matched the backfill's schema
	// fingerprint (users with its column list included): no rebuild.
	if got := metric(t, in.addr, "projector_resyncs_total"); got != 0 {
		t.Errorf("projector_resyncs_total = %v, want 0", got)
	}
}

func (e *env) count(ctx context.Context, index string, query map[string]any) int {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.searchURL+"/"+index+"/_count", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	e.must(err)
	defer res.Body.Close()
	var out struct {
		Count int `json:"count"`
	}
	e.must(json.NewDecoder(res.Body).Decode(&out))
	return out.Count
}

// The same payment updated many times ends in its final state; replaying
// an old position (an older version with stale content) changes nothing.
func TestFinalStateWinsAndReplaysChangeNothing(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 1, 1, 1)
	e.start(e.vars("PROJECTOR_FLUSH_INTERVAL", "5ms"))
	e.waitConsistent(ctx, 30*time.Second)
	var id string
	e.must(e.pool.QueryRow(ctx, `SELECT id::text FROM payments LIMIT 1`).Scan(&id))
	first := e.walLSN(ctx)
	for i := range 300 {
		e.exec(ctx, `UPDATE payments SET amount = $2, description = $3 WHERE id = $1`, id, 1000+i, []string{"a", "b", "c"}[i%3])
	}
	e.waitConsistent(ctx, 30*time.Second)
	var amount int64
	e.must(e.pool.QueryRow(ctx, `SELECT amount FROM payments WHERE id = $1`, id).Scan(&amount))
	if amount != 1299 {
		t.Fatalf("amount = %d, want 1299", amount)
	}
	_ = w

	sc, err := search.Open(ctx, e.searchURL, search.Options{})
	e.must(err)
	wr := &search.Writer{Client: sc, Prefix: e.prefix}
	stale, _ := json.Marshal(projection.PaymentDoc{PaymentView: domain.PaymentView{Payment: domain.Payment{ID: id, Amount: 1, Status: "pending"}, CustomerName: "stale"}})
	res, err := wr.Bulk(ctx, []projection.IndexOp{
		{Index: projection.PaymentsAlias(e.prefix), ID: id, Version: first, Doc: stale},
		{Index: projection.PaymentsAlias(e.prefix), ID: id, Version: first},
	})
	e.must(err)
	for i, r := range res {
		if r.Status != projection.ItemConflict {
			t.Errorf("replayed op %d: status %d (%s), want a version conflict", i, r.Status, r.Error)
		}
	}
	e.waitConsistent(ctx, 5*time.Second)
}

// TRUNCATE cannot be followed row by row: the projector rebuilds the read
// model from a fresh snapshot into a new index generation behind the
// aliases.
func TestTruncateRebuilds(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 2, 2, 500)
	in := e.start(e.vars())
	e.waitConsistent(ctx, 30*time.Second)
	sc, err := search.Open(ctx, e.searchURL, search.Options{})
	e.must(err)
	wr := &search.Writer{Client: sc, Prefix: e.prefix}
	before, _, err := wr.Current(ctx)
	e.must(err)

	// The timeline and refunds reference payments: they go too.
	e.exec(ctx, `TRUNCATE payments CASCADE`)
	e.insertPayments(ctx, w, 20)
	e.waitConsistent(ctx, 30*time.Second)
	after, _, err := wr.Current(ctx)
	e.must(err)
	if after == before {
		t.Errorf("payments alias still on %s, want a new generation", before)
	}
	waitMetric(t, in.addr, "projector_resyncs_total", 1)
	e.insertPayments(ctx, w, 20)
	e.waitConsistent(ctx, 30*time.Second)
}

// A schema change of a published table triggers a rebuild too (a table
// rewrite such as ALTER TYPE … USING changes rows without row events).
func TestSchemaChangeRebuilds(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 2, 2, 100)
	in := e.start(e.vars())
	e.waitConsistent(ctx, 30*time.Second)
	e.exec(ctx, `ALTER TABLE payments ADD COLUMN note text NOT NULL DEFAULT ''`)
	e.exec(ctx, `UPDATE payments SET amount = amount * 100`) // as a migration might
	e.insertPayments(ctx, w, 10)
	e.waitConsistent(ctx, 30*time.Second)
	waitMetric(t, in.addr, "projector_resyncs_total", 1)
}

// A document the engine rejects lands in the dead-letter table while the
// stream goes on; a row that cannot become a document does too; `projector
// redrive` re-indexes them once the cause is fixed.
func TestDeadLetterAndRedrive(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 1, 1, 10)
	vars := e.vars()
	in := e.start(vars)
	e.waitConsistent(ctx, 30*time.Second)

	// The engine rejects a document whose user e-mail is beyond the
	// keyword limit (an immense term); the database constraint is lifted
	// to let such a row exist.
	sc, err := search.Open(ctx, e.searchURL, search.Options{})
	e.must(err)
	alias := projection.PaymentsAlias(e.prefix)
	e.exec(ctx, `ALTER TABLE users DROP CONSTRAINT users_email_check`)
	var huge string
	e.must(e.pool.QueryRow(ctx, `INSERT INTO users (email, name, password_hash) VALUES (repeat('x', 40000) || '@example.com', 'Huge', 'x')
		RETURNING id::text`).Scan(&huge))
	var poison, infinite string
	e.must(e.pool.QueryRow(ctx, `INSERT INTO payments (customer_id, user_id, amount, currency, third_party)
		VALUES ($1, $2, 5, 'DKK', 'poison') RETURNING id::text`, w.customers[0], huge).Scan(&poison))
	e.must(e.pool.QueryRow(ctx, `INSERT INTO payments (customer_id, user_id, amount, currency, third_party, date)
		VALUES ($1, $2, 6, 'DKK', 'ok', 'infinity') RETURNING id::text`, w.customers[0], w.users[0]).Scan(&infinite))
	e.insertPayments(ctx, w, 5)

	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		e.must(e.pool.QueryRow(ctx, `SELECT count(*) FROM projector_dead_letters WHERE doc_id IN ($1, $2) AND redriven_at IS NULL`, poison, infinite).Scan(&n))
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 documents dead-lettered after 20s", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var errText string
	e.must(e.pool.QueryRow(ctx, `SELECT error FROM projector_dead_letters WHERE doc_id = $1`, poison).Scan(&errText))
	if !strings.Contains(errText, "immense term") {
		t.Errorf("dead letter error = %q, want the engine's rejection", errText)
	}
	waitMetric(t, in.addr, "projector_dead_letters_total", 2)
	// The stream went on: everything else is indexed.
	e.insertPayments(ctx, w, 5)
	lsn := e.walLSN(ctx)
	e.waitApplied(ctx, lsn, 20*time.Second)
	if hits := e.count(ctx, alias, map[string]any{"match_all": map[string]any{}}); hits != 20 {
		t.Errorf("indexed payments = %d, want the 20 healthy ones", hits)
	}

	// Fix the causes without touching the rows (ignore_above can be
	// changed on a live mapping), re-drive.
	mustDo(t, sc, http.MethodPut, "/"+alias+"/_mapping", `{"properties":{"user_email":{"type":"keyword","ignore_above":256}}}`)
	e.exec(ctx, `UPDATE payments SET date = '2026-01-01T00:00:00Z' WHERE id = $1`, infinite)
	var out strings.Builder
	if err := redrive(ctx, func(k string) string { return vars[k] }, &out); err != nil {
		t.Fatalf("redrive: %v", err)
	}
	if !strings.Contains(out.String(), "re-driven 2 document") {
		t.Errorf("redrive printed %q, want 2 documents", out.String())
	}
	e.waitConsistent(ctx, 20*time.Second)
	var pending int
	e.must(e.pool.QueryRow(ctx, `SELECT count(*) FROM projector_dead_letters WHERE redriven_at IS NULL`).Scan(&pending))
	if pending != 0 {
		t.Errorf("%d dead letters still pending after redrive", pending)
	}
}

func mustDo(t testing.TB, sc *search.Client, method, path, body string) {
	t.Helper()
	status, resp, err := sc.Do(context.Background(), method, path, []byte(body))
	if err != nil || status != http.StatusOK {
		t.Fatalf("%s %s: %d %s %v", method, path, status, resp, err)
	}
}

// Stress: writers commit inserts, status updates, multi-row transactions,
// customer renames, user renames, links added and removed, and payment
// updates in the same transaction as their customer's rename, while the
// projector backfills, streams, and rebuilds from a new slot. After each
// phase, once the writers stopped, the index must equal PostgreSQL.
func TestStressWritersAcrossBackfillStreamAndRebuild(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 6, 12, 3000)
	round := uint64(0)
	phase := func(name string, during func()) {
		t.Helper()
		lctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for range 3 {
			round++
			wg.Add(1)
			go func(seed uint64) { defer wg.Done(); e.load(lctx, w, seed, true) }(round)
		}
		round++
		wg.Add(1)
		go func(seed uint64) { defer wg.Done(); e.peopleLoad(lctx, w, seed) }(round)
		during()
		stop()
		wg.Wait()
		t.Logf("phase %s: writers stopped", name)
		e.waitConsistent(ctx, 60*time.Second)
	}
	var in *instance
	phase("backfill", func() { in = e.start(e.vars("PROJECTOR_BACKFILL_BATCH", "200")); time.Sleep(3 * time.Second) })
	phase("stream", func() { time.Sleep(3 * time.Second) })
	phase("rebuild", func() {
		time.Sleep(500 * time.Millisecond)
		in.stop()
		e.exec(ctx, `DELETE FROM projector_backfills`)
		in = e.start(e.vars("PROJECTOR_BACKFILL_BATCH", "200"))
		time.Sleep(3 * time.Second)
	})
	if got := metric(t, in.addr, "projector_dead_letters_total"); got != 0 {
		t.Errorf("%v documents dead-lettered, want none", got)
	}
}

// peopleLoad renames users and customers (the latter together with an
// update of one of the customer's payments), and adds and removes links,
// until ctx ends.
func (e *env) peopleLoad(ctx context.Context, w world, seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed+1))
	for ctx.Err() == nil {
		c, u := w.customers[r.IntN(len(w.customers))], w.users[r.IntN(len(w.users))]
		switch r.IntN(4) {
		case 0:
			_, _ = e.pool.Exec(ctx, `UPDATE users SET name = $2 WHERE id = $1`, u, fmt.Sprintf("User renamed %d", r.IntN(1e6)))
		case 1:
			_ = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `UPDATE payments SET amount = amount + 1 WHERE id = (SELECT id FROM payments WHERE customer_id = $1 LIMIT 1)`, c); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `UPDATE customers SET name = $2 WHERE id = $1`, c, fmt.Sprintf("Shop in tx %d", r.IntN(1e6)))
				return err
			})
		case 2:
			_, _ = e.pool.Exec(ctx, `INSERT INTO customer_users (customer_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, c, u)
		default:
			_, _ = e.pool.Exec(ctx, `DELETE FROM customer_users WHERE customer_id = $1 AND user_id = $2`, c, u)
		}
		time.Sleep(time.Duration(r.IntN(5)) * time.Millisecond)
	}
}
