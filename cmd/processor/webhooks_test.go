package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/provider/simtest"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

// receiverReport is the webhook receiver's GET /_admin/received.
type receiverReport struct {
	Deliveries    int            `json:"deliveries"`
	UniqueEvents  int            `json:"unique_events"`
	BadSignatures int            `json:"bad_signatures"`
	PerEvent      map[string]int `json:"per_event"`
	LatencyP50MS  float64        `json:"latency_p50_ms"`
	LatencyP99MS  float64        `json:"latency_p99_ms"`
}

func postJSON(t *testing.T, url string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(url, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		t.Fatalf("POST %s: %d", url, res.StatusCode)
	}
}

func received(t *testing.T, base string) receiverReport {
	t.Helper()
	res, err := http.Get(base + "/_admin/received")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r receiverReport
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestWebhookDelivery is the webhook guarantee on the real processes
// (issue 16): payments are written and processed while a real receiver on
// loopback fails the first two deliveries of every event, drops the
// connection on some, and answers slowly; the processor is SIGKILLed twice
// in the middle. In the end every event the database recorded (one per
// subscribed endpoint and event, written in the transaction of the event)
// was delivered, each with a valid signature, duplicates carrying the same
// event id, and nothing the database does not know was received.
func TestWebhookDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("webhook test: real processes")
	}
	const payments = 150
	ctx := context.Background()
	dbURL := testenv.MustDatabase(t)
	pool, err := postgres.OpenPool(ctx, dbURL, postgres.PoolOptions{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool, testenv.Logger(t)); err != nil {
		t.Fatal(err)
	}
	store := postgres.NewStore(pool, postgres.StoreOptions{GroupWriters: 1})
	u, _, err := store.CreateUser(ctx, command.NewUser{Email: "hooks@example.com", Name: "Hooks", PasswordHash: "$h"})
	if err != nil {
		t.Fatal(err)
	}
	shop, _, err := store.CreateCustomer(ctx, u.ID, command.NewCustomer{Name: "Hook Shop"})
	if err != nil {
		t.Fatal(err)
	}

	recvAddr := testenv.FreeAddr(t)
	recvBase := "http://" + recvAddr
	testenv.MustStart(t, testenv.MustBuild(t, "./cmd/webhook-receiver"), []string{"RECEIVER_ADDR=" + recvAddr}, recvBase+"/healthz")
	const secret = "whsec_" + "0123456789abcdefghijABCDEFGHIJ0123456789abc"
	postJSON(t, recvBase+"/_admin/secrets", map[string]string{"secret": secret})
	postJSON(t, recvBase+"/_admin/behaviour", map[string]any{"fail_first": 2, "drop_first": 1, "delay_ms": 20})
	e, _, err := store.CreateWebhookEndpoint(ctx, u.ID, shop.ID, command.NewWebhookEndpoint{
		URL: recvBase + "/hooks/shop", Events: []string{"payment.created", "payment.processing", "payment.succeeded"}, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}

	sim := simtest.Start(t, map[string]string{"SIM_LATENCY": "1ms"})
	procBin := testenv.MustBuild(t, "./cmd/processor")
	procAddr := testenv.FreeAddr(t)
	proc := testenv.MustStart(t, procBin, []string{
		"DATABASE_URL=" + dbURL, "PROCESSOR_ADDR=" + procAddr, "PROVIDER_URL=" + sim.URL, "MIGRATE_ON_START=false",
		"PROVIDER_TIMEOUT=1s", "PROCESSOR_JOB_TIMEOUT=3s", "PROCESSOR_RESCUE_AFTER=4s", "PROCESSOR_POLL_INTERVAL=50ms", "SHUTDOWN_GRACE=2s",
		"WEBHOOK_ALLOW_PRIVATE=true", "WEBHOOK_TIMEOUT=1s", "WEBHOOK_RETRY_BASE=50ms", "WEBHOOK_RETRY_CAP=300ms",
		"WEBHOOK_RETRY_MAX_AGE=10m", "WEBHOOK_DISABLE_AFTER=100000", "WEBHOOK_RELAY_INTERVAL=200ms", "DB_MAX_CONNS=12",
	}, "http://"+procAddr+"/readyz")

	var wg sync.WaitGroup
	for i := range payments {
		if i == payments/3 || i == 2*payments/3 {
			proc.Kill() // SIGKILL mid-delivery: its running jobs are rescued, its outbox rows stay
			time.Sleep(300 * time.Millisecond)
			proc.Restart()
		}
		wg.Go(func() {
			if _, _, err := store.CreatePayments(ctx, command.PaymentWrite{UserID: u.ID, Payments: []command.NewPayment{{
				CustomerID: shop.ID, Amount: int64(100 + i), Currency: "DKK", ThirdParty: fmt.Sprintf("hook %d", i)}}}); err != nil {
				t.Errorf("payment %d: %v", i, err)
			}
		})
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()

	want := payments * 3
	deadline := time.Now().Add(90 * time.Second)
	for {
		var total, delivered int
		if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'succeeded') FROM webhook_deliveries WHERE endpoint_id = $1`,
			e.ID).Scan(&total, &delivered); err != nil {
			t.Fatal(err)
		}
		if total == want && delivered == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries: %d recorded, %d delivered, want %d", total, delivered, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	rows, err := pool.Query(ctx, `SELECT event_id::text, attempts FROM webhook_deliveries WHERE endpoint_id = $1`, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	events := map[string]int{}
	for rows.Next() {
		var id string
		var attempts int
		if err := rows.Scan(&id, &attempts); err != nil {
			t.Fatal(err)
		}
		events[id] = attempts
	}
	rows.Close()
	r := received(t, recvBase)
	if r.BadSignatures != 0 {
		t.Errorf("%d deliveries had a bad signature", r.BadSignatures)
	}
	if r.UniqueEvents != want || len(events) != want {
		t.Errorf("receiver saw %d unique events, the database has %d, want %d", r.UniqueEvents, len(events), want)
	}
	for id, attempts := range events {
		got := r.PerEvent[id]
		// drop_first 1, fail_first 2 per event: the receiver accepts its 3rd
		// delivery of an event at the earliest, so it saw every event at least
		// three times; the log records at least the failed attempt before the
		// success (an attempt of a SIGKILLed processor is sent again, not
		// recorded), and never more attempts than the receiver saw.
		if got < 3 || attempts < 2 || attempts > got {
			var log []string
			rows, _ := pool.Query(ctx, `SELECT a.attempt, coalesce(a.status_code, 0), coalesce(a.error, '') FROM webhook_attempts a
				JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.event_id = $1 ORDER BY a.attempt`, id)
			for rows.Next() {
				var n, code int
				var e string
				_ = rows.Scan(&n, &code, &e)
				log = append(log, fmt.Sprintf("%d:%d:%s", n, code, e))
			}
			rows.Close()
			t.Errorf("event %s: received %d times, %d attempts recorded %v", id, got, attempts, log)
		}
	}
	for id := range r.PerEvent {
		if _, ok := events[id]; !ok {
			t.Errorf("received event %s the database does not know", id)
		}
	}
	t.Logf("%d events delivered in %d deliveries; latency p50 %.0f ms, p99 %.0f ms", r.UniqueEvents, r.Deliveries,
		r.LatencyP50MS, r.LatencyP99MS)
}
