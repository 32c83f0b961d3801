package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/search"
)

// `projector rebuild` during a write load (inserts, updates, deletes): the
// new generation is built beside the stream, which keeps publishing (writes
// become searchable while the copy runs), the aliases swap to it, and the
// index equals PostgreSQL, with no stop-the-world resync. A kill -9 during
// a second rebuild leaves the current generation serving, and the index
// still equals PostgreSQL.
//
// long: one scenario in phases (load, rebuild, samples, swap, kill -9),
// sharing the seeded data, which is what takes time.
func TestRebuildBesideTheStream(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 5, 20, 60_000)
	addr := freeAddr(t)
	vars := e.vars("PROJECTOR_ADDR", addr, "PROJECTOR_BACKFILL_BATCH", "2000")
	p := e.spawn(vars)
	waitRole(t, addr, "active", 60*time.Second)
	e.waitConsistent(ctx, 60*time.Second)
	before := e.currentPayments(ctx)

	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { e.load(lctx, w, 7, true) })
	wg.Go(func() { // deletes: their tombstones must survive the copy
		for lctx.Err() == nil {
			_, _ = e.pool.Exec(lctx, `DELETE FROM payments WHERE id = (SELECT id FROM payments ORDER BY random() LIMIT 1)`)
			time.Sleep(20 * time.Millisecond)
		}
	})

	e.requestRebuild(vars)
	waitStatus(t, addr, func(s projection.Status) bool { return s.Rebuild != "" }, 30*time.Second)
	// Freshness while the copy runs: each write is published (searchable)
	// while the rebuild is still copying.
	during, worst := 0, time.Duration(0)
	for status(t, addr).Rebuild != "" {
		e.exec(ctx, `INSERT INTO payments (customer_id, user_id, amount, currency, third_party) VALUES ($1, $2, 5, 'EUR', 'probe')`,
			w.customers[0], w.users[0])
		d := e.waitApplied(ctx, e.walLSN(ctx), 30*time.Second)
		if status(t, addr).Rebuild != "" {
			during++
			worst = max(worst, d)
		}
	}
	if during == 0 {
		t.Fatal("the rebuild finished before any write was published during it: nothing shows the stream kept going")
	}
	t.Logf("%d writes published while the rebuild copied, slowest after %s", during, worst)
	waitMetric(t, addr, "projector_rebuilds_total", 1)
	stop()
	wg.Wait()
	e.waitConsistent(ctx, 60*time.Second)
	if after := e.currentPayments(ctx); after == before || after == "" {
		t.Fatalf("the payments alias still points at %q: no new generation", after)
	}
	if got := metric(t, addr, "projector_resyncs_total"); got != 0 {
		t.Errorf("projector_resyncs_total = %v: the rebuild stopped the stream", got)
	}

	// kill -9 in the middle of a second rebuild.
	e.requestRebuild(vars)
	waitStatus(t, addr, func(s projection.Status) bool { return s.Rebuild != "" }, 30*time.Second)
	p.kill9(t)
	e.insertPayments(ctx, w, 500)
	e.spawn(vars)
	waitRole(t, addr, "active", 60*time.Second)
	e.waitConsistent(ctx, 60*time.Second)
}

// requestRebuild runs `projector rebuild`.
func (e *env) requestRebuild(vars map[string]string) {
	e.t.Helper()
	cmd := exec.Command(binary(e.t), "rebuild")
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		e.t.Fatalf("projector rebuild: %v\n%s", err, out)
	}
}

// currentPayments returns the index behind the payments alias.
func (e *env) currentPayments(ctx context.Context) string {
	e.t.Helper()
	sc, err := search.Open(ctx, e.searchURL, search.Options{})
	e.must(err)
	w := &search.Writer{Client: sc, Prefix: e.prefix}
	pay, _, err := w.Current(ctx)
	e.must(err)
	return pay
}

func status(t testing.TB, addr string) projection.Status {
	t.Helper()
	_, _, body := readyzBody(addr)
	var s projection.Status
	_ = json.Unmarshal([]byte(body), &s)
	return s
}

func waitStatus(t testing.TB, addr string, ok func(projection.Status) bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok(status(t, addr)) {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v not reached within %s", status(t, addr), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
