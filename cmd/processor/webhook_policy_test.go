package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/provider/simtest"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

// TestWebhookFailurePolicy checks the two ends of the retry policy on the
// real processes, against a receiver that always answers 503: an endpoint
// is disabled after WEBHOOK_DISABLE_AFTER consecutive failed attempts (its
// pending deliveries end failed, new events are not queued for it), and is
// delivered to again once the user re-enables it and redelivers; and a
// delivery still failing at WEBHOOK_RETRY_MAX_AGE ends failed while its
// endpoint stays enabled.
func TestWebhookFailurePolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("webhook test: real processes")
	}
	ctx := context.Background()
	dbURL := testenv.MustDatabase(t)
	pool, err := postgres.OpenPool(ctx, dbURL, postgres.PoolOptions{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool, testenv.Logger(t)); err != nil {
		t.Fatal(err)
	}
	store := postgres.NewStore(pool, postgres.StoreOptions{})
	u, _, err := store.CreateUser(ctx, command.NewUser{Email: "policy@example.com", Name: "Policy", PasswordHash: "$h"})
	if err != nil {
		t.Fatal(err)
	}
	shop, _, err := store.CreateCustomer(ctx, u.ID, command.NewCustomer{Name: "Policy Shop"})
	if err != nil {
		t.Fatal(err)
	}
	recvAddr := testenv.FreeAddr(t)
	recv := "http://" + recvAddr
	testenv.MustStart(t, testenv.MustBuild(t, "./cmd/webhook-receiver"), []string{"RECEIVER_ADDR=" + recvAddr}, recv+"/healthz")
	secret := "whsec_" + fmt.Sprintf("%043d", 7)
	postJSON(t, recv+"/_admin/secrets", map[string]string{"secret": secret})
	postJSON(t, recv+"/_admin/behaviour", map[string]any{"fail_first": 1_000_000, "status": 503})
	sim := simtest.Start(t, map[string]string{"SIM_LATENCY": "1ms"})
	endpoint := func(name string) command.WebhookEndpoint {
		e, _, err := store.CreateWebhookEndpoint(ctx, u.ID, shop.ID, command.NewWebhookEndpoint{
			URL: recv + "/hooks/" + name, Events: []string{"payment.created"}, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	pay := func() {
		if _, _, err := store.CreatePayments(ctx, command.PaymentWrite{UserID: u.ID, Payments: []command.NewPayment{{
			CustomerID: shop.ID, Amount: 100, Currency: "DKK", ThirdParty: "policy"}}}); err != nil {
			t.Fatal(err)
		}
	}
	procBin := testenv.MustBuild(t, "./cmd/processor")
	processor := func(extra ...string) *testenv.Process {
		addr := testenv.FreeAddr(t)
		return testenv.MustStart(t, procBin, append([]string{
			"DATABASE_URL=" + dbURL, "PROCESSOR_ADDR=" + addr, "PROVIDER_URL=" + sim.URL, "MIGRATE_ON_START=false",
			"PROVIDER_TIMEOUT=1s", "PROCESSOR_JOB_TIMEOUT=3s", "PROCESSOR_RESCUE_AFTER=4s", "SHUTDOWN_GRACE=2s",
			"WEBHOOK_ALLOW_PRIVATE=true", "WEBHOOK_TIMEOUT=1s", "WEBHOOK_RETRY_BASE=50ms", "WEBHOOK_RETRY_CAP=100ms",
			"WEBHOOK_RELAY_INTERVAL=100ms", "DB_MAX_CONNS=8",
		}, extra...), "http://"+addr+"/readyz")
	}

	// Disabled after three failed attempts in a row.
	a := endpoint("disable")
	p := processor("WEBHOOK_DISABLE_AFTER=3", "WEBHOOK_RETRY_MAX_AGE=10m")
	pay()
	pay()
	waitFor(t, pool, "the endpoint disabled, its deliveries failed", func() bool {
		var enabled bool
		var pending int
		var reason *string
		must(t, pool.QueryRow(ctx, `SELECT enabled, disabled_reason, (SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending')
			FROM webhook_endpoints WHERE id = $1`, a.ID).Scan(&enabled, &reason, &pending))
		return !enabled && reason != nil && pending == 0
	})
	var attempts int
	must(t, pool.QueryRow(ctx, `SELECT count(*) FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1`, a.ID).Scan(&attempts))
	// The third failure in a row disables it; the other delivery's attempt
	// may have been on the wire at that moment.
	if attempts < 3 || attempts > 4 {
		t.Errorf("%d attempts before the endpoint was disabled, want 3 (or 4: one of the other delivery in flight)", attempts)
	}
	pay() // not queued for a disabled endpoint
	var deliveries int
	must(t, pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1`, a.ID).Scan(&deliveries))
	if deliveries != 2 {
		t.Errorf("%d deliveries for the disabled endpoint, want the 2 from before", deliveries)
	}
	// Re-enabled and redelivered once the receiver is healthy: delivered.
	postJSON(t, recv+"/_admin/behaviour", map[string]any{})
	enabled := true
	if _, _, err := store.UpdateWebhookEndpoint(ctx, u.ID, shop.ID, a.ID, command.WebhookEndpointUpdate{Enabled: &enabled}); err != nil {
		t.Fatal(err)
	}
	var first string
	must(t, pool.QueryRow(ctx, `SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id LIMIT 1`, a.ID).Scan(&first))
	if _, _, err := store.Redeliver(ctx, u.ID, shop.ID, a.ID, first); err != nil {
		t.Fatal(err)
	}
	waitFor(t, pool, "the redelivery delivered", func() bool {
		var status string
		must(t, pool.QueryRow(ctx, `SELECT status FROM webhook_deliveries WHERE id = $1`, first).Scan(&status))
		return status == "succeeded"
	})
	p.Stop()

	// Given up at the maximum age; the endpoint stays enabled.
	postJSON(t, recv+"/_admin/behaviour", map[string]any{"fail_first": 1_000_000, "status": 503})
	b := endpoint("give-up")
	processor("WEBHOOK_DISABLE_AFTER=100000", "WEBHOOK_RETRY_MAX_AGE=1s")
	pay()
	waitFor(t, pool, "the delivery given up", func() bool {
		var failed, total int
		must(t, pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'failed'), count(*) FROM webhook_deliveries WHERE endpoint_id = $1`, b.ID).Scan(&failed, &total))
		return total == 1 && failed == 1
	})
	var stillEnabled bool
	var tries int
	must(t, pool.QueryRow(ctx, `SELECT e.enabled, (SELECT attempts FROM webhook_deliveries WHERE endpoint_id = e.id) FROM webhook_endpoints e WHERE e.id = $1`, b.ID).Scan(&stillEnabled, &tries))
	if !stillEnabled || tries < 2 {
		t.Errorf("after giving up: endpoint enabled %v, %d attempts (want enabled, several attempts)", stillEnabled, tries)
	}
}

func waitFor(t *testing.T, _ *pgxpool.Pool, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: not %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
