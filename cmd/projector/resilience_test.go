package main

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// kill -9 of the projector process at random moments during a write load,
// several times (once during the backfill, then while streaming):
// afterwards the index equals PostgreSQL.
func TestKill9DuringWrites(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 5, 8, 4000)

	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); e.load(lctx, w, 100+uint64(i), false) }()
	}
	addr := freeAddr(t)
	vars := e.vars("PROJECTOR_BACKFILL_BATCH", "500", "PROJECTOR_ADDR", addr)
	r := rand.New(rand.NewPCG(1, 2))

	p := e.spawn(vars)
	waitRole(t, addr, "backfilling", 10*time.Second)
	time.Sleep(time.Duration(r.IntN(300)) * time.Millisecond)
	p.kill9(t)
	t.Log("kill -9 during the backfill")
	for i := range 4 {
		p := e.spawn(vars)
		waitRole(t, addr, "active", 30*time.Second)
		d := time.Duration(100+r.IntN(1500)) * time.Millisecond
		time.Sleep(d)
		p.kill9(t)
		t.Logf("kill -9 #%d, %s after streaming started", i+1, d)
	}
	stop()
	wg.Wait()
	e.spawn(vars)
	e.waitConsistent(ctx, 60*time.Second)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitRole waits until the instance at addr reports role.
func waitRole(t testing.TB, addr, role string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if _, r := readyz(addr); r == role {
			return
		} else if r != "" {
			last = r
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("instance at %s did not become %s within %s (last role %q)", addr, role, timeout, last)
}

// A second instance waits as a hot standby (ready, role standby) and takes
// over within seconds when the active one is killed.
func TestStandbyTakeover(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 3, 4, 500)
	vars := e.vars()

	active := e.spawn(vars)
	e.waitConsistent(ctx, 30*time.Second)
	standby := e.start(vars)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, role := readyz(standby.addr)
		if code == http.StatusOK && role == "standby" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second instance: readyz %d %q, want 200 standby", code, role)
		}
		time.Sleep(100 * time.Millisecond)
	}

	e.insertPayments(ctx, w, 100)
	active.kill9(t)
	killed := time.Now()
	for {
		if _, role := readyz(standby.addr); role == "active" {
			break
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatal("standby did not take over within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(killed)
	t.Logf("standby active %s after kill -9", took)
	if took > 5*time.Second {
		t.Errorf("takeover took %s, want a few seconds at most", took)
	}
	e.insertPayments(ctx, w, 100)
	e.waitConsistent(ctx, 30*time.Second)
}

// The search engine becomes unreachable for a while during writes (a proxy
// in between is cut), then comes back: the projector retries without
// publishing or acknowledging anything written after the cut, then catches
// up with nothing lost.
func TestSearchEngineOutage(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 3, 4, 300)
	px := newProxy(t, e.searchURL)
	in := e.start(e.vars("SEARCH_URL", px.url()))
	e.waitConsistent(ctx, 30*time.Second)
	// The index can equal the table a moment before the backfill publishes
	// its position; cut the engine only once the projector streams.
	e.waitApplied(ctx, 1, 30*time.Second)

	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.load(lctx, w, 7, false) }()
	time.Sleep(500 * time.Millisecond)
	px.close()
	// Whatever was sent before the cut lies at or before cut; a payment
	// committed after it must not become published or acknowledged.
	cut := e.walLSN(ctx)
	e.insertPayments(ctx, w, 1)

	// Replication may be seconds behind on a busy machine: wait for the
	// projector to hold that payment and fail on the engine, not a fixed time.
	deadline := time.Now().Add(60 * time.Second)
	for metric(t, in.addr, "projector_retries_total") == 0 || metric(t, in.addr, "projector_lag_seconds") < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no failed engine request and lag within 60s of the cut: retries %v, lag_seconds %v, lag_bytes %v",
				metric(t, in.addr, "projector_retries_total"), metric(t, in.addr, "projector_lag_seconds"),
				metric(t, in.addr, "projector_lag_bytes"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s, _ := e.state(ctx); s.AppliedLSN > cut {
		t.Errorf("published position %s passed the cut at %s while the engine was unreachable", s.LSN, domain.FormatLSN(cut))
	}
	if c := e.slotConfirmed(ctx); c > cut {
		t.Errorf("slot acknowledged %s, past the cut at %s, while the engine was unreachable", domain.FormatLSN(c), domain.FormatLSN(cut))
	}
	px.reopen()
	time.Sleep(time.Second)
	stop()
	wg.Wait()
	e.waitConsistent(ctx, 30*time.Second)
}

// PostgreSQL connections of the projector are killed (as in a server
// restart): it reconnects and resumes from the slot.
func TestPostgresConnectionsKilled(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 3, 4, 300)
	e.start(e.vars())
	e.waitConsistent(ctx, 30*time.Second)
	for range 3 {
		e.insertPayments(ctx, w, 50)
		e.exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'wildcat-projector%'`)
		time.Sleep(300 * time.Millisecond)
	}
	e.insertPayments(ctx, w, 50)
	e.waitConsistent(ctx, 30*time.Second)
}
