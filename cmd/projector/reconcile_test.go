package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

// engineDo sends one request to the search engine and returns the status
// and body.
func (e *env) engineDo(ctx context.Context, method, path string, body []byte) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, method, e.searchURL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

// indexedDoc returns a document's source and version as indexed.
func (e *env) indexedDoc(ctx context.Context, alias, id string) (map[string]any, uint64) {
	e.t.Helper()
	status, raw := e.engineDo(ctx, http.MethodGet, "/"+alias+"/_doc/"+id, nil)
	if status != http.StatusOK {
		e.t.Fatalf("get %s/%s: HTTP %d: %s", alias, id, status, raw)
	}
	var doc struct {
		Version uint64         `json:"_version"`
		Source  map[string]any `json:"_source"`
	}
	e.must(json.Unmarshal(raw, &doc))
	return doc.Source, doc.Version
}

// putDoc writes a document behind the projector's back (query: the
// version parameters, empty for the engine's internal versioning).
func (e *env) putDoc(ctx context.Context, alias, id string, src map[string]any, query string) {
	e.t.Helper()
	body, _ := json.Marshal(src)
	if status, raw := e.engineDo(ctx, http.MethodPut, "/"+alias+"/_doc/"+id+"?refresh=true&"+query, body); status/100 != 2 {
		e.t.Fatalf("put %s/%s: HTTP %d: %s", alias, id, status, raw)
	}
}

func (e *env) deleteDoc(ctx context.Context, alias, id string) {
	e.t.Helper()
	if status, raw := e.engineDo(ctx, http.MethodDelete, "/"+alias+"/_doc/"+id+"?refresh=true", nil); status != http.StatusOK {
		e.t.Fatalf("delete %s/%s: HTTP %d: %s", alias, id, status, raw)
	}
}

// unused returns an id that is not in ids (sorted), next to near.
func unused(ids []string, near string) string {
	for _, c := range "0123456789abcdef" {
		id := near[:35] + string(c)
		if _, found := slices.BinarySearch(ids, id); !found {
			return id
		}
	}
	panic("no unused id next to " + near)
}

func (e *env) paymentIDs(ctx context.Context) []string {
	e.t.Helper()
	rows, err := e.pool.Query(ctx, `SELECT id::text FROM payments ORDER BY id`)
	e.must(err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	e.must(err)
	return ids
}

// verifyOnce runs `projector verify` in-process and returns its report
// lines ("index id reason") and error.
func verifyOnce(t *testing.T, vars map[string]string, args ...string) ([]string, string, error) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	err := verify(ctx, func(k string) string { return vars[k] }, &out, args)
	var found []string
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && (f[0] == "payments" || f[0] == "customers") {
			found = append(found, f[0]+" "+f[1]+" "+f[2])
		}
	}
	sort.Strings(found)
	return found, out.String(), err
}

// The index is damaged behind the projector's back: payments deleted,
// overwritten with another payment's content at a higher external version,
// restored to a stale copy and rewritten by another tool (both plain
// writes, the engine's internal versioning), a stray document PostgreSQL
// does not have, and a customer's access document deleted. One `projector
// verify -repair` pass reports exactly those and re-projects them through
// the running projector; the index then equals PostgreSQL, and a second
// pass finds nothing.
//
// long: the damage is a list of cases, each set up where it is named.
func TestVerifyFindsAndRepairsDrift(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 3, 4, 3000)
	vars := e.vars("PROJECTOR_RECONCILE_INTERVAL", "0", "PROJECTOR_RECONCILE_BATCH", "500")
	e.start(vars)
	e.waitConsistent(ctx, 60*time.Second)
	if _, out, err := verifyOnce(t, vars); err != nil {
		t.Fatalf("verify of an intact index: %v\n%s", err, out)
	}

	pay, cust := projection.PaymentsAlias(e.prefix), projection.CustomersAlias(e.prefix)
	ids := e.paymentIDs(ctx)
	var want []string
	for _, id := range []string{ids[5], ids[1400], ids[2999]} { // the last one: the open-ended bucket
		e.deleteDoc(ctx, pay, id)
		want = append(want, "payments "+id+" missing")
	}
	// Another payment's content at a higher version: the stream would
	// never overwrite it.
	other, _ := e.indexedDoc(ctx, pay, ids[700])
	_, v := e.indexedDoc(ctx, pay, ids[10])
	e.putDoc(ctx, pay, ids[10], other, fmt.Sprintf("version=%d&version_type=external", v+1))
	want = append(want, "payments "+ids[10]+" differs")
	// A stale copy restored: the payment changed since.
	stale, _ := e.indexedDoc(ctx, pay, ids[1000])
	e.exec(ctx, `UPDATE payments SET amount = amount + 1, updated_at = now() WHERE id = $1`, ids[1000])
	e.waitApplied(ctx, e.walLSN(ctx), 30*time.Second)
	e.putDoc(ctx, pay, ids[1000], stale, "")
	want = append(want, "payments "+ids[1000]+" differs")
	// Rewritten by another tool, which knows nothing of fingerprints.
	edited, _ := e.indexedDoc(ctx, pay, ids[2000])
	edited["amount"], edited["description"] = 1, "edited by hand"
	delete(edited, projection.FingerprintField)
	e.putDoc(ctx, pay, ids[2000], edited, "")
	want = append(want, "payments "+ids[2000]+" differs")
	// A stray: an id PostgreSQL does not have, between two that it has.
	stray := unused(ids, ids[1500])
	strayDoc, _ := e.indexedDoc(ctx, pay, ids[1500])
	strayDoc["id"] = stray
	e.putDoc(ctx, pay, stray, strayDoc, "version=1&version_type=external")
	want = append(want, "payments "+stray+" stray")
	e.deleteDoc(ctx, cust, w.customers[2])
	want = append(want, "customers "+w.customers[2]+" missing")
	sort.Strings(want)

	found, out, err := verifyOnce(t, vars, "-repair")
	t.Logf("first pass:\n%s", out)
	if err == nil || !slices.Equal(found, want) {
		t.Fatalf("first pass found %v (error %v), want %v", found, err, want)
	}
	e.waitConsistent(ctx, 30*time.Second)
	if status, _ := e.engineDo(ctx, http.MethodGet, "/"+pay+"/_doc/"+stray, nil); status != http.StatusNotFound {
		t.Errorf("the stray document is still indexed (HTTP %d)", status)
	}
	found, out, err = verifyOnce(t, vars)
	if err != nil || len(found) != 0 {
		t.Errorf("second pass found %v (error %v), want nothing\n%s", found, err, out)
	}

	// A version beyond the WAL (no commit wrote it): the document is
	// deleted at once, since a re-projection's version would be refused.
	_, v = e.indexedDoc(ctx, pay, ids[42])
	e.putDoc(ctx, pay, ids[42], other, fmt.Sprintf("version=%d&version_type=external", uint64(1)<<62))
	found, out, err = verifyOnce(t, vars, "-repair")
	if err == nil || !slices.Equal(found, []string{"payments " + ids[42] + " differs"}) || !strings.Contains(out, "beyond the WAL") {
		t.Errorf("future version: found %v (error %v)\n%s", found, err, out)
	}
	if status, raw := e.engineDo(ctx, http.MethodGet, "/"+pay+"/_doc/"+ids[42], nil); status == http.StatusOK && bytes.Contains(raw, []byte(`"_version":4611686018427387904`)) {
		t.Errorf("the document with a version from the future (was %d) is still indexed", v)
	}
}

// The active projector reconciles on its own every interval, beside a
// write load: passes during the load count nothing; documents deleted or
// restored stale behind its back are counted once each in
// projector_reconcile_mismatches_total and repaired, while the load goes
// on; and the passes that follow count nothing more.
//
// long: one scenario in steps (quiet passes, damage, repair, quiet again).
func TestReconcilerRunsBesideTheStream(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 3, 4, 2000)
	in := e.start(e.vars("PROJECTOR_RECONCILE_INTERVAL", "300ms", "PROJECTOR_RECONCILE_BATCH", "250"))
	e.waitConsistent(ctx, 60*time.Second)
	ids := e.paymentIDs(ctx)
	damaged := []string{ids[3], ids[900], ids[1900]}

	// The load inserts payments and updates others, never the damaged ones.
	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var writes atomic.Int64
	wg.Go(func() {
		for i := 0; lctx.Err() == nil; i++ {
			var err error
			if i%2 == 0 {
				_, err = e.pool.Exec(lctx, `INSERT INTO payments (customer_id, user_id, amount, currency, third_party)
					VALUES ($1, $2, $3, 'EUR', 'load')`, w.customers[i%len(w.customers)], w.users[i%len(w.users)], 1+i)
			} else {
				_, err = e.pool.Exec(lctx, `UPDATE payments SET attempts = attempts + 1, updated_at = now()
					WHERE id = $1 AND NOT id = ANY($2::uuid[])`, ids[(i*7919)%len(ids)], damaged)
			}
			if err == nil {
				writes.Add(1)
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	defer func() { stop(); wg.Wait() }()

	passes := func() float64 { return metric(t, in.addr, "projector_reconcile_passes_total") }
	mismatches := func() float64 {
		return metric(t, in.addr, `projector_reconcile_mismatches_total{index="payments"}`) +
			metric(t, in.addr, `projector_reconcile_mismatches_total{index="customers"}`)
	}
	waitPasses := func(n float64) {
		t.Helper()
		target := passes() + n
		for deadline := time.Now().Add(2 * time.Minute); passes() < target; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("reconcile passes %v, want %v within 2 min", passes(), target)
			}
		}
	}
	waitPasses(2)
	if got := mismatches(); got != 0 {
		t.Fatalf("passes during the load counted %v mismatches, want 0", got)
	}
	if metric(t, in.addr, "projector_reconcile_last_pass_timestamp_seconds") < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Error("projector_reconcile_last_pass_timestamp_seconds is not the time of a recent pass")
	}

	pay := projection.PaymentsAlias(e.prefix)
	e.deleteDoc(ctx, pay, damaged[0])
	e.deleteDoc(ctx, pay, damaged[1])
	stale, _ := e.indexedDoc(ctx, pay, damaged[2])
	e.exec(ctx, `UPDATE payments SET amount = amount + 1, updated_at = now() WHERE id = $1`, damaged[2])
	e.waitApplied(ctx, e.walLSN(ctx), 30*time.Second)
	e.putDoc(ctx, pay, damaged[2], stale, "")

	waitPasses(3)
	if got := mismatches(); got != 3 {
		t.Errorf("mismatches counted %v, want 3 (two deleted, one stale)", got)
	}
	stop()
	wg.Wait()
	e.waitConsistent(ctx, 30*time.Second)
	waitPasses(1)
	if got := mismatches(); got != 3 {
		t.Errorf("after the repair mismatches counted %v, want still 3", got)
	}
	t.Logf("%d writes during %v passes", writes.Load(), passes())
}
