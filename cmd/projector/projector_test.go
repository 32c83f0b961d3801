package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

// The backfill copies a snapshot while writers keep committing; the
// changes committed during the copy are streamed afterwards, so the index
// ends equal to the tables. Afterwards, with no writes in flight, the
// published position catches up with the server's WAL position (what a
// consistency token waits for).
func TestBackfillWithConcurrentWriters(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 5, 10, 6000)

	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); e.load(lctx, w, uint64(i), false) }()
	}
	in := e.start(e.vars("PROJECTOR_BACKFILL_BATCH", "500"))
	time.Sleep(3 * time.Second)
	stop()
	wg.Wait()

	e.waitConsistent(ctx, 30*time.Second)
	if got := metric(t, in.addr, "projector_backfill_documents_total"); got < 6000 {
		t.Errorf("backfill copied %v documents, want at least the 6000 seeded", got)
	}
	if code, role, body := readyzBody(in.addr); code != http.StatusOK || role != "active" {
		t.Errorf("readyz = %d %q (%s), want 200 active", code, role, body)
	}
	// The backfilled payments index is merged in the background (into one segment: it is small).
	for deadline := time.Now().Add(30 * time.Second); metric(t, in.addr, "projector_backfill_merges_total") < 1; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the backfilled index was not merged within 30s")
		}
	}

	// Idle: WAL written elsewhere (a table outside the publication) still
	// moves the published position, via the server's keepalives.
	e.exec(ctx, `INSERT INTO projector_dead_letters (doc_index, doc_id, lsn, error) VALUES ('none', 'none', '0/0', 'wal filler')`)
	lsn := e.walLSN(ctx)
	took := e.waitApplied(ctx, lsn, 30*time.Second)
	t.Logf("idle position caught up with the server in %s", took)
	waitMetric(t, in.addr, "projector_lag_seconds", 0)
	body := scrape(t, in.addr)
	for _, name := range []string{"projector_lag_bytes", "projector_documents_indexed_total", "projector_bulk_duration_seconds_bucket",
		"projector_version_conflicts_total", "projector_dead_letters_total", "projector_slot_retained_wal_bytes",
		"projector_backfill_documents_per_second", `projector_role{role="active"} 1`} {
		if !strings.Contains(body, name) {
			t.Errorf("metrics lack %s", name)
		}
	}
}

func scrape(t testing.TB, addr string) string {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// Read-your-writes as the query API does it: the command API's token is
// pg_current_wal_insert_lsn() read right after COMMIT; once the published
// position reaches it, the payment is searchable.
func TestReadYourWrites(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 1, 1, 1)
	e.start(e.vars())
	e.waitConsistent(ctx, 30*time.Second)
	var slowest, total time.Duration
	for i := range 30 {
		var id, lsnText string
		e.must(e.pool.QueryRow(ctx, `INSERT INTO payments (customer_id, user_id, amount, currency, third_party)
			VALUES ($1, $2, $3, 'EUR', 'ryw') RETURNING id::text`, w.customers[0], w.users[0], 1+i).Scan(&id))
		e.must(e.pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&lsnText))
		var hi, lo uint64
		fmt.Sscanf(lsnText, "%X/%X", &hi, &lo)
		took := e.waitApplied(ctx, hi<<32|lo, 15*time.Second)
		slowest, total = max(slowest, took), total+took
		if n := e.count(ctx, projection.PaymentsAlias(e.prefix), map[string]any{"term": map[string]any{"id": id}}); n != 1 {
			t.Fatalf("payment %s: %d hits once the position was applied, want 1", id, n)
		}
	}
	t.Logf("read-your-writes wait: mean %s, slowest %s", total/30, slowest)
}
