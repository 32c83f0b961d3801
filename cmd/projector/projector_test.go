package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
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
