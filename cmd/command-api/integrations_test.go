package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

type apiKey struct {
	ID         string   `json:"id"`
	CustomerID string   `json:"customer_id"`
	Name       string   `json:"name"`
	Prefix     string   `json:"prefix"`
	Scopes     []string `json:"scopes"`
	LastUsedAt *string  `json:"last_used_at"`
	RevokedAt  *string  `json:"revoked_at"`
	Secret     string   `json:"secret"`
}

func (s *server) createKey(u user, c customer, name string, scopes ...string) apiKey {
	s.t.Helper()
	res := s.must(req{Method: "POST", Path: "/v1/customers/" + c.ID + "/api-keys", Token: u.Token,
		Body: map[string]any{"name": name, "scopes": scopes}}, http.StatusCreated)
	var k apiKey
	res.json(s.t, &k)
	return k
}

// TestAPIKeys checks keys end to end on the command API: created with a
// secret shown once and stored as a hash, listed without it, usable within
// its customer and scopes only, recorded as the executor of its payments,
// scoped for Idempotency-Keys, and refused at once when revoked.
func TestAPIKeys(t *testing.T) {
	s := mustServer(t, map[string]string{"API_KEY_USAGE_FLUSH_INTERVAL": "100ms"})
	alice, bob := s.signUp("Alice"), s.signUp("Bob")
	shop, other := s.createCustomer(alice, "Shop"), s.createCustomer(bob, "Other")

	writer := s.createKey(alice, shop, "ingest", "payments:write")
	reader := s.createKey(alice, shop, "reporting", "payments:read")
	if !strings.HasPrefix(writer.Secret, "wc_") || len(writer.Secret) != 46 || writer.Prefix != writer.Secret[:12] {
		t.Fatalf("secret %q, prefix %q", writer.Secret, writer.Prefix)
	}
	var stored []byte
	if err := s.db.QueryRow(context.Background(), `SELECT secret_hash FROM api_keys WHERE id = $1`, writer.ID).Scan(&stored); err != nil || len(stored) != 32 {
		t.Fatalf("stored hash %x: %v", stored, err)
	}
	list := s.must(req{Method: "GET", Path: "/v1/customers/" + shop.ID + "/api-keys", Token: alice.Token}, http.StatusOK)
	if strings.Contains(string(list.Body), writer.Secret) || strings.Contains(string(list.Body), `"secret"`) {
		t.Fatalf("the listing shows a secret: %s", list.Body)
	}
	// Another customer's user sees nothing of the keys.
	s.must(req{Method: "GET", Path: "/v1/customers/" + shop.ID + "/api-keys", Token: bob.Token}, http.StatusNotFound)
	s.must(req{Method: "POST", Path: "/v1/customers/" + shop.ID + "/api-keys", Token: bob.Token,
		Body: map[string]any{"name": "x", "scopes": []string{"payments:read"}}}, http.StatusNotFound)

	t.Run("validation", func(t *testing.T) {
		s := s.with(t)
		for _, body := range []map[string]any{
			{"scopes": []string{"payments:read"}},
			{"name": "x"},
			{"name": "x", "scopes": []string{"admin"}},
			{"name": "x", "scopes": []string{"payments:read", "payments:read"}},
			{"name": strings.Repeat("n", 101), "scopes": []string{"payments:read"}},
		} {
			s.must(req{Method: "POST", Path: "/v1/customers/" + shop.ID + "/api-keys", Token: alice.Token, Body: body}, http.StatusBadRequest)
		}
	})

	t.Run("scopes", func(t *testing.T) {
		s := s.with(t)
		res := s.must(req{Method: "POST", Path: "/v1/payments", Token: writer.Secret, Body: newPayment(shop.ID)}, http.StatusCreated)
		var p payment
		res.json(t, &p)
		if p.ExecutedBy.Type != "api_key" || p.ExecutedBy.ID != writer.ID || p.ExecutedBy.Name != "ingest" || p.UserID != alice.ID {
			t.Fatalf("executed_by %+v, user_id %s", p.ExecutedBy, p.UserID)
		}
		var keyID string
		if err := s.db.QueryRow(context.Background(), `SELECT api_key_id::text FROM payments WHERE id = $1`, p.ID).Scan(&keyID); err != nil || keyID != writer.ID {
			t.Fatalf("api_key_id %q: %v", keyID, err)
		}
		batch := map[string]any{"payments": []any{newPayment(shop.ID), newPayment(shop.ID)}}
		s.must(req{Method: "POST", Path: "/v1/payments/batch", Token: writer.Secret, Body: batch}, http.StatusCreated)
		// Another customer is as unknown to the key as to an unlinked user.
		s.must(req{Method: "POST", Path: "/v1/payments", Token: writer.Secret, Body: newPayment(other.ID)}, http.StatusNotFound)
		mixed := map[string]any{"payments": []any{newPayment(shop.ID), newPayment(other.ID)}}
		s.must(req{Method: "POST", Path: "/v1/payments/batch", Token: writer.Secret, Body: mixed}, http.StatusNotFound)
		otherPay := s.newPaymentOf(bob, other, 100)
		s.must(req{Method: "POST", Path: "/v1/payments/" + otherPay.ID + "/cancel", Token: writer.Secret}, http.StatusNotFound)
		s.must(req{Method: "POST", Path: "/v1/payments/" + p.ID + "/cancel", Token: writer.Secret}, http.StatusOK)

		for _, r := range []req{
			{Method: "POST", Path: "/v1/payments", Token: reader.Secret, Body: newPayment(shop.ID)},
			{Method: "POST", Path: "/v1/payments/" + p.ID + "/refunds", Token: reader.Secret},
			{Method: "GET", Path: "/v1/dead-letters", Token: writer.Secret},
			{Method: "GET", Path: "/v1/me", Token: writer.Secret},
			{Method: "POST", Path: "/v1/customers", Token: writer.Secret, Body: map[string]string{"name": "x"}},
			{Method: "GET", Path: "/v1/customers/" + shop.ID + "/api-keys", Token: writer.Secret},
			{Method: "PUT", Path: "/v1/customers/" + shop.ID + "/users/" + bob.ID, Token: writer.Secret},
		} {
			res := s.must(r, http.StatusForbidden)
			if code := res.problem(t).Code; code != "insufficient_scope" {
				t.Errorf("%s %s: code %q", r.Method, r.Path, code)
			}
		}
		s.must(req{Method: "GET", Path: "/v1/dead-letters", Token: reader.Secret}, http.StatusOK)
		var self struct {
			ID, CustomerID string
			Scopes         []string
		}
		s.must(req{Method: "GET", Path: "/v1/api-key", Token: reader.Secret}, http.StatusOK).json(t, &self)
		if self.ID != reader.ID || !slices.Equal(self.Scopes, []string{"payments:read"}) {
			t.Fatalf("GET /v1/api-key: %+v", self)
		}
		s.must(req{Method: "GET", Path: "/v1/api-key", Token: alice.Token}, http.StatusNotFound)
		s.must(req{Method: "GET", Path: "/v1/dead-letters?customer_id=" + other.ID, Token: reader.Secret}, http.StatusOK)
	})

	t.Run("idempotency is scoped to the key", func(t *testing.T) {
		s := s.with(t)
		h := map[string]string{"Idempotency-Key": "same-key"}
		first := s.must(req{Method: "POST", Path: "/v1/payments", Token: writer.Secret, Body: newPayment(shop.ID), Header: h}, http.StatusCreated)
		again := s.must(req{Method: "POST", Path: "/v1/payments", Token: writer.Secret, Body: newPayment(shop.ID), Header: h}, http.StatusCreated)
		if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
			t.Fatalf("replay: %s vs %s", again.Body, first.Body)
		}
		// The key's creator using the same Idempotency-Key makes a new payment.
		mine := s.must(req{Method: "POST", Path: "/v1/payments", Token: alice.Token, Body: newPayment(shop.ID), Header: h}, http.StatusCreated)
		if mine.Header.Get("Idempotent-Replayed") == "true" {
			t.Fatal("the user's request replayed the key's")
		}
	})

	t.Run("bad keys", func(t *testing.T) {
		s := s.with(t)
		for _, secret := range []string{
			"wc_short",
			writer.Secret[:len(writer.Secret)-1] + flip(writer.Secret[len(writer.Secret)-1]), // right prefix, wrong secret
			"wc_" + strings.Repeat("A", 43),
		} {
			s.must(req{Method: "POST", Path: "/v1/payments", Token: secret, Body: newPayment(shop.ID)}, http.StatusUnauthorized)
		}
	})

	t.Run("last_used_at", func(t *testing.T) {
		s := s.with(t)
		deadline := time.Now().Add(5 * time.Second)
		for {
			var keys struct{ Data []apiKey }
			s.must(req{Method: "GET", Path: "/v1/customers/" + shop.ID + "/api-keys", Token: alice.Token}, http.StatusOK).json(t, &keys)
			i := slices.IndexFunc(keys.Data, func(k apiKey) bool { return k.ID == writer.ID })
			var dbUse *time.Time
			_ = s.db.QueryRow(context.Background(), `SELECT last_used_at FROM api_key_usage WHERE api_key_id = $1`, writer.ID).Scan(&dbUse)
			if i >= 0 && keys.Data[i].LastUsedAt != nil && dbUse != nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("last_used_at not recorded: %+v, db %v", keys.Data, dbUse)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("revocation", func(t *testing.T) {
		s := s.with(t)
		victim := s.createKey(alice, shop, "to revoke", "payments:write")
		s.must(req{Method: "POST", Path: "/v1/payments", Token: victim.Secret, Body: newPayment(shop.ID)}, http.StatusCreated)
		s.must(req{Method: "DELETE", Path: "/v1/customers/" + shop.ID + "/api-keys/" + victim.ID, Token: alice.Token}, http.StatusNoContent)
		s.must(req{Method: "DELETE", Path: "/v1/customers/" + shop.ID + "/api-keys/" + victim.ID, Token: alice.Token}, http.StatusNoContent)
		// This instance forgets it at once; the write itself checks it too.
		s.must(req{Method: "POST", Path: "/v1/payments", Token: victim.Secret, Body: newPayment(shop.ID)}, http.StatusUnauthorized)
		s.must(req{Method: "DELETE", Path: "/v1/customers/" + shop.ID + "/api-keys/00000000-0000-7000-8000-000000000000", Token: alice.Token}, http.StatusNotFound)
		s.must(req{Method: "DELETE", Path: "/v1/customers/" + shop.ID + "/api-keys/" + victim.ID, Token: bob.Token}, http.StatusNotFound)
	})
}

// TestRevokedKeyCannotWriteThroughAnotherInstancesCache revokes a key on
// one command API while a second instance still has it cached as valid:
// the payment insert itself checks the key, so nothing is written.
func TestRevokedKeyCannotWriteThroughAnotherInstancesCache(t *testing.T) {
	a := mustServer(t, nil)
	alice := a.signUp("Alice")
	shop := a.createCustomer(alice, "Shop")
	k := a.createKey(alice, shop, "ingest", "payments:write")
	b := mustServer(t, map[string]string{"DATABASE_URL": a.dbURL, "JWT_PRIVATE_KEY_FILE": a.keyFile, "MIGRATE_ON_START": "false"})
	b.must(req{Method: "POST", Path: "/v1/payments", Token: k.Secret, Body: newPayment(shop.ID)}, http.StatusCreated) // cached in b
	a.must(req{Method: "DELETE", Path: "/v1/customers/" + shop.ID + "/api-keys/" + k.ID, Token: alice.Token}, http.StatusNoContent)
	before := a.count("payments")
	res := b.do(req{Method: "POST", Path: "/v1/payments", Token: k.Secret, Body: newPayment(shop.ID)})
	if res.Status != http.StatusNotFound && res.Status != http.StatusUnauthorized {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
	if after := a.count("payments"); after != before {
		t.Fatalf("payments %d → %d: a revoked key wrote", before, after)
	}
	time.Sleep(600 * time.Millisecond) // past the key cache
	b.must(req{Method: "POST", Path: "/v1/payments", Token: k.Secret, Body: newPayment(shop.ID)}, http.StatusUnauthorized)
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

type endpoint struct {
	ID                  string   `json:"id"`
	URL                 string   `json:"url"`
	Events              []string `json:"events"`
	Enabled             bool     `json:"enabled"`
	DisabledReason      *string  `json:"disabled_reason"`
	ConsecutiveFailures int      `json:"consecutive_failures"`
	Secret              string   `json:"secret"`
}

// TestWebhookEndpoints checks the endpoints' management: validation (https
// and public addresses only, unless WEBHOOK_ALLOW_PRIVATE), the secret shown
// once, update, re-enable, delete, and the outbox: a payment of the
// customer is a delivery of each subscribed endpoint, in the same
// transaction.
func TestWebhookEndpoints(t *testing.T) {
	s := mustServer(t, nil)
	alice, bob := s.signUp("Alice"), s.signUp("Bob")
	shop := s.createCustomer(alice, "Shop")
	path := "/v1/customers/" + shop.ID + "/webhook-endpoints"
	for _, body := range []map[string]any{
		{"url": "http://example.com/hook", "events": []string{"payment.created"}},
		{"url": "https://127.0.0.1/hook", "events": []string{"payment.created"}},
		{"url": "https://[::1]/hook", "events": []string{"payment.created"}},
		{"url": "https://169.254.169.254/latest", "events": []string{"payment.created"}},
		{"url": "https://example.com/hook", "events": []string{"payment.exploded"}},
		{"url": "https://example.com/hook", "events": []string{}},
		{"url": "not a url", "events": []string{"payment.created"}},
	} {
		s.must(req{Method: "POST", Path: path, Token: alice.Token, Body: body}, http.StatusBadRequest)
	}
	res := s.must(req{Method: "POST", Path: path, Token: alice.Token,
		Body: map[string]any{"url": "https://example.com/hook", "events": []string{"payment.created", "payment.canceled"}}}, http.StatusCreated)
	var e endpoint
	res.json(t, &e)
	if !strings.HasPrefix(e.Secret, "whsec_") || !e.Enabled {
		t.Fatalf("created %+v", e)
	}
	list := s.must(req{Method: "GET", Path: path, Token: alice.Token}, http.StatusOK)
	if strings.Contains(string(list.Body), e.Secret) {
		t.Fatal("the listing shows the secret")
	}
	s.must(req{Method: "GET", Path: path, Token: bob.Token}, http.StatusNotFound)
	s.must(req{Method: "GET", Path: path + "/" + e.ID, Token: bob.Token}, http.StatusNotFound)

	p := s.newPaymentOf(alice, shop, 700)
	var n int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND payment_id = $2 AND event_type = 'payment.created'`, e.ID, p.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("deliveries of the payment: %d, %v", n, err)
	}
	s.must(req{Method: "POST", Path: "/v1/payments/" + p.ID + "/cancel", Token: alice.Token}, http.StatusOK)
	var deliveries struct {
		Data []struct {
			ID        string `json:"id"`
			EventID   string `json:"event_id"`
			EventType string `json:"event_type"`
			Payload   struct {
				ID   string `json:"id"`
				Type string `json:"type"`
				Data struct {
					Object struct {
						ID     string `json:"id"`
						Amount int64  `json:"amount"`
						Status string `json:"status"`
					} `json:"object"`
				} `json:"data"`
			} `json:"payload"`
		} `json:"data"`
	}
	s.must(req{Method: "GET", Path: path + "/" + e.ID + "/deliveries", Token: alice.Token}, http.StatusOK).json(t, &deliveries)
	if len(deliveries.Data) != 2 || deliveries.Data[0].EventType != "payment.canceled" || deliveries.Data[0].Payload.Data.Object.Status != "canceled" ||
		deliveries.Data[1].Payload.Data.Object.Amount != 700 || deliveries.Data[1].Payload.ID != deliveries.Data[1].EventID {
		t.Fatalf("deliveries %+v", deliveries.Data)
	}
	s.must(req{Method: "GET", Path: path + "/" + e.ID + "/deliveries?limit=1", Token: alice.Token}, http.StatusOK)
	s.must(req{Method: "GET", Path: path + "/" + e.ID + "/deliveries?limit=101", Token: alice.Token}, http.StatusBadRequest)
	s.must(req{Method: "POST", Path: path + "/" + e.ID + "/deliveries/" + deliveries.Data[0].ID + "/redeliver", Token: alice.Token}, http.StatusAccepted)
	s.must(req{Method: "POST", Path: path + "/" + e.ID + "/deliveries/" + p.ID + "/redeliver", Token: alice.Token}, http.StatusNotFound)

	// Disabled endpoints get no deliveries; re-enabling resets the failure run.
	s.must(req{Method: "PATCH", Path: path + "/" + e.ID, Token: alice.Token, Body: map[string]any{"enabled": false}}, http.StatusOK)
	s.newPaymentOf(alice, shop, 800)
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1`, e.ID).Scan(&n); err != nil || n != 2 {
		t.Fatalf("deliveries after disabling: %d, %v", n, err)
	}
	if _, err := s.db.Exec(context.Background(), `UPDATE webhook_endpoints SET consecutive_failures = 7 WHERE id = $1`, e.ID); err != nil {
		t.Fatal(err)
	}
	var upd endpoint
	s.must(req{Method: "PATCH", Path: path + "/" + e.ID, Token: alice.Token,
		Body: map[string]any{"enabled": true, "events": []string{"payment.succeeded"}}}, http.StatusOK).json(t, &upd)
	if !upd.Enabled || upd.ConsecutiveFailures != 0 || upd.DisabledReason != nil || !slices.Equal(upd.Events, []string{"payment.succeeded"}) {
		t.Fatalf("re-enabled %+v", upd)
	}
	s.must(req{Method: "PATCH", Path: path + "/" + e.ID, Token: alice.Token, Body: map[string]any{"url": "ftp://x"}}, http.StatusBadRequest)
	s.must(req{Method: "DELETE", Path: path + "/" + e.ID, Token: bob.Token}, http.StatusNotFound)
	s.must(req{Method: "DELETE", Path: path + "/" + e.ID, Token: alice.Token}, http.StatusNoContent)
	s.must(req{Method: "GET", Path: path + "/" + e.ID, Token: alice.Token}, http.StatusNotFound)
}

// TestKeyOutlivesItsCreatorsLink: a key belongs to its customer, not to the
// person who created it. After the creator is unlinked, the key still
// writes and acts on its customer's payments; a revoked one does not.
func TestKeyOutlivesItsCreatorsLink(t *testing.T) {
	s := mustServer(t, nil)
	alice, bob := s.signUp("Alice"), s.signUp("Bob")
	shop := s.createCustomer(alice, "Shop")
	s.must(req{Method: "PUT", Path: "/v1/customers/" + shop.ID + "/users/" + bob.ID, Token: alice.Token}, http.StatusNoContent)
	k := s.createKey(alice, shop, "ingest", "payments:write", "payments:read")
	s.must(req{Method: "DELETE", Path: "/v1/customers/" + shop.ID + "/users/" + alice.ID, Token: bob.Token}, http.StatusNoContent)

	var p payment
	s.must(req{Method: "POST", Path: "/v1/payments", Token: k.Secret, Body: newPayment(shop.ID)}, http.StatusCreated).json(t, &p)
	s.must(req{Method: "POST", Path: "/v1/payments/" + p.ID + "/cancel", Token: k.Secret}, http.StatusOK)
	s.must(req{Method: "POST", Path: "/v1/payments/" + p.ID + "/retry", Token: k.Secret}, http.StatusConflict)
	var dead payment
	s.must(req{Method: "POST", Path: "/v1/payments", Token: k.Secret, Body: newPayment(shop.ID)}, http.StatusCreated).json(t, &dead)
	s.settle(dead.ID, "retries_exhausted")
	var letters struct {
		Data []payment `json:"data"`
	}
	s.must(req{Method: "GET", Path: "/v1/dead-letters", Token: k.Secret}, http.StatusOK).json(t, &letters)
	if len(letters.Data) != 1 || letters.Data[0].ID != dead.ID || letters.Data[0].ExecutedBy.Type != "api_key" {
		t.Fatalf("dead letters seen by the key: %+v", letters.Data)
	}
	s.must(req{Method: "POST", Path: "/v1/payments/" + dead.ID + "/retry", Token: k.Secret}, http.StatusOK)
	// The creator, unlinked, sees nothing.
	s.must(req{Method: "POST", Path: "/v1/payments/" + p.ID + "/cancel", Token: alice.Token}, http.StatusNotFound)

	q := s.newPaymentOf(bob, shop, 900)
	s.must(req{Method: "DELETE", Path: "/v1/customers/" + shop.ID + "/api-keys/" + k.ID, Token: bob.Token}, http.StatusNoContent)
	s.must(req{Method: "POST", Path: "/v1/payments/" + q.ID + "/cancel", Token: k.Secret}, http.StatusUnauthorized)
}

// TestAPIKeyRateLimit: each key has its own budget; over it, 429 with
// Retry-After, and the user's own token is not limited by its keys.
func TestAPIKeyRateLimit(t *testing.T) {
	s := mustServer(t, map[string]string{"API_KEY_RATE_LIMIT": "2", "API_KEY_RATE_WINDOW": "1m"})
	alice := s.signUp("Alice")
	shop := s.createCustomer(alice, "Shop")
	k1, k2 := s.createKey(alice, shop, "one", "payments:write"), s.createKey(alice, shop, "two", "payments:write")
	for range 2 {
		s.must(req{Method: "POST", Path: "/v1/payments", Token: k1.Secret, Body: newPayment(shop.ID)}, http.StatusCreated)
	}
	res := s.must(req{Method: "POST", Path: "/v1/payments", Token: k1.Secret, Body: newPayment(shop.ID)}, http.StatusTooManyRequests)
	if res.Header.Get("Retry-After") == "" || res.problem(t).Code != "rate_limited" {
		t.Fatalf("429 without Retry-After or code: %v %s", res.Header, res.Body)
	}
	s.must(req{Method: "POST", Path: "/v1/payments", Token: k2.Secret, Body: newPayment(shop.ID)}, http.StatusCreated)
	for range 3 {
		s.must(req{Method: "POST", Path: "/v1/payments", Token: alice.Token, Body: newPayment(shop.ID)}, http.StatusCreated)
	}
}
