package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/processing"
	"github.com/wildcat-payments/wildcat/internal/provider/simtest"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

// TestChaos is the processing guarantee under faults (issue 15), on the real
// processes: 2,000 payments written at a steady rate while the simulator
// injects 20 % transient failures, 5 % unknown outcomes (money moved, answer
// lost) and 10 % declines; two processors, SIGKILLed five times between
// them; the simulator SIGKILLed and restarted once; cancels racing the
// processors; one payment in a hundred fails transiently on every attempt
// (a dead letter). After the queue drains: nothing is stuck, the simulator's
// ledger holds exactly one charge per succeeded payment and none for any
// other, every dead letter is explained, and the index (the real projector)
// agrees with PostgreSQL on every status.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test: real processes")
	}
	const (
		payments = 2000
		rate     = 250 // payments per second
	)
	ctx := context.Background()
	dbURL := testenv.MustDatabase(t)
	searchURL, prefix := testenv.MustSearch(t)
	pool, err := postgres.OpenPool(ctx, dbURL, postgres.PoolOptions{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool, testenv.Logger(t)); err != nil {
		t.Fatal(err)
	}
	store := postgres.NewStore(pool, postgres.StoreOptions{GroupWriters: 1})
	u, _, err := store.CreateUser(ctx, command.NewUser{Email: "chaos@example.com", Name: "Chaos", PasswordHash: "$h"})
	if err != nil {
		t.Fatal(err)
	}
	shop, _, err := store.CreateCustomer(ctx, u.ID, command.NewCustomer{Name: "Chaos Shop"})
	if err != nil {
		t.Fatal(err)
	}

	sim := simtest.Start(t, map[string]string{
		"SIM_TRANSIENT_RATE": "0.20", "SIM_UNKNOWN_RATE": "0.05", "SIM_DECLINE_RATE": "0.10", "SIM_SEED": "42",
		"SIM_LATENCY": "2ms", "SIM_DECLINE_CODES": "insufficient_funds,do_not_honor,invalid_account",
	})
	procBin := testenv.MustBuild(t, "./cmd/processor")
	procs := make([]*testenv.Process, 2)
	for i := range procs {
		addr := testenv.FreeAddr(t)
		procs[i] = testenv.MustStart(t, procBin, []string{
			"DATABASE_URL=" + dbURL, "PROCESSOR_ADDR=" + addr, "PROVIDER_URL=" + sim.URL, "MIGRATE_ON_START=false",
			"PROVIDER_TIMEOUT=300ms", "PROCESSOR_JOB_TIMEOUT=2s", "PROCESSOR_RESCUE_AFTER=3s", "WEBHOOK_TIMEOUT=1s", "PROCESSOR_POLL_INTERVAL=50ms",
			"RETRY_STRATEGY=exponential", "RETRY_BASE=20ms", "RETRY_CAP=300ms", "RETRY_MAX_ATTEMPTS=6",
			"PROCESSOR_PAYMENT_WORKERS=24", "SHUTDOWN_GRACE=2s", "DB_MAX_CONNS=8",
		}, "http://"+addr+"/readyz")
	}
	prjAddr := testenv.FreeAddr(t)
	testenv.MustStart(t, testenv.MustBuild(t, "./cmd/projector"), []string{
		"DATABASE_URL=" + dbURL, "SEARCH_URL=" + searchURL, "INDEX_PREFIX=" + prefix, "PROJECTOR_ADDR=" + prjAddr,
		"REPLICATION_SLOT=" + testenv.Name("wct_slot_"), "PROJECTOR_FLUSH_INTERVAL=50ms",
	}, "http://"+prjAddr+"/readyz")

	// Write at a steady rate; every 40th payment is canceled at once, racing
	// the processors.
	var written, canceled, cancelRefused atomic.Int64
	writeDone := make(chan struct{})
	go func() {
		defer close(writeDone)
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Second / rate)
		defer tick.Stop()
		for i := range payments {
			<-tick.C
			wg.Go(func() {
				third := fmt.Sprintf("chaos %d", i)
				if i%100 == 7 { // fails transiently on every attempt: a dead letter after the look-up
					third = "sim:transient:1000"
				}
				ps, _, err := store.CreatePayments(ctx, command.PaymentWrite{UserID: u.ID, Payments: []command.NewPayment{{
					CustomerID: shop.ID, Amount: int64(100 + i), Currency: "DKK", ThirdParty: third}}})
				if err != nil {
					t.Errorf("payment %d: %v", i, err)
					return
				}
				written.Add(1)
				if i%40 == 0 {
					_, _, err := store.CancelPayment(ctx, u.ID, ps[0].ID)
					switch {
					case err == nil:
						canceled.Add(1)
					case domain.ErrorCode(err) == domain.ECONFLICT:
						cancelRefused.Add(1)
					default:
						t.Errorf("cancel %d: %v", i, err)
					}
				}
			})
		}
		wg.Wait()
	}()

	// The faults: five processor kills, alternating, and one simulator
	// crash, spread over the writing.
	for k := range 5 {
		time.Sleep(1400 * time.Millisecond)
		p := procs[k%2]
		p.Kill()
		if k == 2 {
			sim.Kill()
			time.Sleep(300 * time.Millisecond) // the processors meet a dead provider
			sim.Restart()
		}
		time.Sleep(200 * time.Millisecond)
		p.Restart()
	}
	<-writeDone
	if written.Load() != payments {
		t.Fatalf("wrote %d of %d payments", written.Load(), payments)
	}

	// Drain: nothing may stay pending or processing.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var open int
		must(t, pool.QueryRow(ctx, `SELECT count(*) FROM payments WHERE status IN ('pending', 'processing')`).Scan(&open))
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d payments still pending or processing 3 minutes after the last write", open)
		}
		time.Sleep(250 * time.Millisecond)
	}

	statuses := map[string]string{} // charge key → status
	counts := map[string]int{}
	rows, err := pool.Query(ctx, `SELECT id::text, status, coalesce(failure_code, '') FROM payments`)
	must(t, err)
	deadLetters := 0
	for rows.Next() {
		var id, status, code string
		must(t, rows.Scan(&id, &status, &code))
		statuses[processing.ChargeKey(id)] = status
		counts[status]++
		if code == domain.FailureRetriesExhausted {
			deadLetters++
		}
	}
	must(t, rows.Err())
	t.Logf("statuses %v; dead letters %d; canceled %d, cancel refused %d; processor starts %d+%d, simulator starts %d",
		counts, deadLetters, canceled.Load(), cancelRefused.Load(), procs[0].Runs, procs[1].Runs, sim.Runs())
	if deadLetters < payments/100 {
		t.Errorf("%d dead letters, want at least the %d payments that always fail transiently", deadLetters, payments/100)
	}
	if counts["canceled"] != int(canceled.Load()) {
		t.Errorf("%d payments canceled, but %d cancels answered 200", counts["canceled"], canceled.Load())
	}

	// The ledger: exactly one charge per succeeded payment, none for any other.
	charges := sim.Ledger(t).Charges()
	for key, status := range statuses {
		want := 0
		if status == "succeeded" {
			want = 1
		}
		if got := charges[key]; got != want {
			t.Errorf("payment %s is %s with %d charges in the provider's ledger, want %d", key, status, got, want)
		}
		delete(charges, key)
	}
	for key, n := range charges {
		t.Errorf("the ledger has %d charges under %s, which is no payment of ours", n, key)
	}

	// Every dead letter is explained: its last error, and its failed
	// attempts on the timeline (an attempt cut short by a SIGKILL leaves no
	// event of its own, so there may be fewer events than attempts, but
	// never none).
	var unexplained int
	must(t, pool.QueryRow(ctx, `SELECT count(*) FROM payments p WHERE p.failure_code = 'retries_exhausted' AND (
		coalesce(p.failure_message, '') NOT LIKE '% attempts; last error: %' OR
		(SELECT count(*) FROM payment_events e WHERE e.payment_id = p.id AND e.type = 'payment.attempt_failed') = 0)`).Scan(&unexplained))
	if unexplained > 0 {
		t.Errorf("%d dead letters without their last error or attempt events", unexplained)
	}
	var badFailures int
	must(t, pool.QueryRow(ctx, `SELECT count(*) FROM payments WHERE status = 'failed'
		AND failure_code NOT IN ('retries_exhausted', 'insufficient_funds', 'do_not_honor', 'invalid_account', 'not_processed')`).Scan(&badFailures))
	if badFailures > 0 {
		t.Errorf("%d failed payments with an unexpected failure code", badFailures)
	}

	assertIndexAgrees(t, pool, searchURL, prefix)
}

// assertIndexAgrees waits until the projector has indexed every payment's
// final status and fails if any differs from PostgreSQL.
func assertIndexAgrees(t *testing.T, pool *pgxpool.Pool, searchURL, prefix string) {
	t.Helper()
	ctx := context.Background()
	want := map[string]string{}
	rows, err := pool.Query(ctx, `SELECT id::text, status FROM payments`)
	must(t, err)
	for rows.Next() {
		var id, status string
		must(t, rows.Scan(&id, &status))
		want[id] = status
	}
	must(t, rows.Err())
	var diff []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := indexedStatuses(t, searchURL, prefix, len(want))
		diff = diff[:0]
		for id, st := range want {
			if got[id] != st {
				diff = append(diff, fmt.Sprintf("%s: index %q, PostgreSQL %q", id, got[id], st))
			}
		}
		if len(diff) == 0 && len(got) == len(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the index disagrees with PostgreSQL on %d of %d payments (index holds %d), e.g. %s",
				len(diff), len(want), len(got), strings.Join(diff[:min(5, len(diff))], "; "))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func indexedStatuses(t *testing.T, searchURL, prefix string, n int) map[string]string {
	t.Helper()
	body := fmt.Sprintf(`{"size": %d, "_source": ["id", "status"], "query": {"match_all": {}}}`, n+10)
	res, err := http.Post(searchURL+"/"+prefix+"payments/_search", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Hits struct {
			Hits []struct {
				ID     string `json:"_id"`
				Source struct {
					Status string `json:"status"`
				} `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if res.StatusCode == http.StatusNotFound {
		return map[string]string{} // not created yet
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	got := make(map[string]string, len(out.Hits.Hits))
	for _, h := range out.Hits.Hits {
		got[h.ID] = h.Source.Status
	}
	return got
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
