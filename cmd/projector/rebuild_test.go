package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
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

// An upgrade: the read model was left by a projector of the previous
// mapping version (no fp, strict). The new projector keeps streaming into
// it (its mapping relaxed) while it builds the new version beside it, then
// swaps: writes made during the upgrade are in the index, the aliases point
// at the new version, and nothing stopped the stream.
//
// long: the downgrade of the read model to an older mapping is most of it.
func TestMappingUpgradeRebuildsBesideTheStream(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 3, 5, 20_000)
	addr := freeAddr(t)
	vars := e.vars("PROJECTOR_ADDR", addr)
	in := e.start(vars)
	waitRole(t, addr, "active", 60*time.Second)
	e.waitConsistent(ctx, 60*time.Second)
	in.stop()

	// The previous version's read model: same documents, no fp.
	sc, err := search.Open(ctx, e.searchURL, search.Options{})
	e.must(err)
	writer := &search.Writer{Client: sc, Prefix: e.prefix}
	pay, cust, err := writer.Current(ctx)
	e.must(err)
	var names []string
	for _, ix := range []struct{ alias, index, mapping string }{
		{projection.PaymentsAlias(e.prefix), pay, projection.PaymentsMapping},
		{projection.CustomersAlias(e.prefix), cust, projection.CustomersMapping},
	} {
		var m map[string]any
		e.must(json.Unmarshal([]byte(ix.mapping), &m))
		delete(m["mappings"].(map[string]any)["properties"].(map[string]any), "fp")
		body, _ := json.Marshal(m)
		old := ix.alias + "_v5_old"
		names = append(names, old)
		mustDo(t, sc, "PUT", "/"+old, string(body))
		mustDo(t, sc, "POST", "/_reindex?wait_for_completion=true&refresh=true", `{"source":{"index":"`+ix.index+`"},
			"dest":{"index":"`+old+`","version_type":"external"},"script":{"source":"ctx._source.remove('fp')"}}`)
		mustDo(t, sc, "POST", "/_aliases", `{"actions":[{"remove":{"index":"`+ix.index+`","alias":"`+ix.alias+`"}},
			{"add":{"index":"`+old+`","alias":"`+ix.alias+`"}}]}`)
		mustDo(t, sc, "DELETE", "/"+ix.index, "")
	}
	e.exec(ctx, `UPDATE projector_backfills SET payments_index = $1, customers_index = $2 WHERE slot_name = $3`, names[0], names[1], e.slot)

	e.start(vars)
	waitRole(t, addr, "active", 60*time.Second)
	deadline := time.Now().Add(90 * time.Second)
	writes := 0
	for metric(t, addr, "projector_rebuilds_total") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the upgrade's rebuild did not complete within 90 s")
		}
		e.insertPayments(ctx, w, 50)
		e.exec(ctx, `UPDATE payments SET amount = amount + 1 WHERE id = (SELECT id FROM payments ORDER BY random() LIMIT 1)`)
		writes++
		time.Sleep(50 * time.Millisecond)
	}
	if writes == 0 {
		t.Fatal("no writes during the upgrade")
	}
	e.waitConsistent(ctx, 60*time.Second)
	if now := e.currentPayments(ctx); !strings.Contains(now, "_"+projection.MappingVersion+"_") {
		t.Fatalf("the payments alias points at %q, not a %s index", now, projection.MappingVersion)
	}
	if got := metric(t, addr, "projector_resyncs_total"); got != 0 {
		t.Errorf("projector_resyncs_total = %v: the upgrade stopped the stream", got)
	}
	// The old version's indices are gone.
	status, _, err := sc.Do(ctx, "GET", "/"+names[0], nil)
	if err != nil || status != http.StatusNotFound {
		t.Errorf("GET %s: %d %v, want 404", names[0], status, err)
	}
}
