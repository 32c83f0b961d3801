package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
)

// A payment made with an API key is executed by the key, one made with a
// user token by the user, through the backfill and the stream; a key's
// customer access document gains the key when it is created and loses it
// when it is revoked.
func TestAPIKeysAndExecutors(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 1, 1, 0)
	customer, user := w.customers[0], w.users[0]
	const secret = "wc_Early0000" + "0123456789012345678901234567890123"
	early := e.createKey(ctx, customer, user, "Early key", secret)
	byKeyEarly := e.createKeyPayment(ctx, customer, user, early)
	byUserEarly := e.createPayment(ctx, customer, user)

	e.start(e.vars("PROJECTOR_FLUSH_INTERVAL", "5ms"))
	e.waitConsistent(ctx, 30*time.Second)
	var userName, userEmail string
	e.must(e.pool.QueryRow(ctx, `SELECT name, email FROM users WHERE id = $1`, user).Scan(&userName, &userEmail))
	wantUser := domain.Executor{Type: domain.ExecutorUser, ID: user, Name: userName, Email: &userEmail}
	wantKey := func(id, name string) domain.Executor {
		return domain.Executor{Type: domain.ExecutorAPIKey, ID: id, Name: name}
	}
	e.mustExecutor(ctx, byKeyEarly, wantKey(early, "Early key"))
	e.mustExecutor(ctx, byUserEarly, wantUser)
	sum := sha256.Sum256([]byte(secret))
	wantDoc := projection.CustomerAPIKey{ID: early, Name: "Early key", Prefix: secret[:12], Hash: hex.EncodeToString(sum[:]),
		Scopes: []string{"payments:read", "payments:write"}}
	if keys := e.customerKeys(ctx, customer); len(keys) != 1 || !equalKey(keys[0], wantDoc) {
		t.Fatalf("backfilled access document's keys %+v, want [%+v]", keys, wantDoc)
	}

	// Streamed: a second key, a payment made with it, then the first key
	// revoked.
	late := e.createKey(ctx, customer, user, "Late key", "wc_Late00000"+"0123456789012345678901234567890123")
	byKeyLate := e.createKeyPayment(ctx, customer, user, late)
	byUserLate := e.createPayment(ctx, customer, user)
	e.waitDoc(ctx, byUserLate, func(projection.PaymentDoc) bool { return true })
	e.mustExecutor(ctx, byKeyLate, wantKey(late, "Late key"))
	e.mustExecutor(ctx, byUserLate, wantUser)
	e.waitKeys(ctx, customer, []string{early, late})

	e.exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE id = $1`, early)
	e.waitKeys(ctx, customer, []string{late})
	// The revoked key's payments keep their executor.
	e.mustExecutor(ctx, byKeyEarly, wantKey(early, "Early key"))
}

func equalKey(a, b projection.CustomerAPIKey) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Prefix == b.Prefix && a.Hash == b.Hash && slices.Equal(a.Scopes, b.Scopes)
}

// createKey inserts an API key of customer with secret (as the command API
// stores it: the prefix and the SHA-256) and returns its id.
func (e *env) createKey(ctx context.Context, customer, user, name, secret string) string {
	e.t.Helper()
	sum := sha256.Sum256([]byte(secret))
	var id string
	e.must(e.pool.QueryRow(ctx, `INSERT INTO api_keys (customer_id, name, prefix, secret_hash, scopes, created_by)
		VALUES ($1, $2, $3, $4, ARRAY['payments:read', 'payments:write'], $5) RETURNING id::text`,
		customer, name, secret[:12], sum[:], user).Scan(&id))
	return id
}

// createKeyPayment inserts a payment made with API key key (user_id is the
// key's creator).
func (e *env) createKeyPayment(ctx context.Context, customer, user, key string) string {
	e.t.Helper()
	var id string
	e.must(e.pool.QueryRow(ctx, `INSERT INTO payments (customer_id, user_id, api_key_id, amount, currency, third_party)
		VALUES ($1, $2, $3, 500, 'EUR', 'by key') RETURNING id::text`, customer, user, key).Scan(&id))
	return id
}

// mustExecutor waits for payment id's document and checks its executed_by.
func (e *env) mustExecutor(ctx context.Context, id string, want domain.Executor) {
	e.t.Helper()
	e.waitDoc(ctx, id, func(projection.PaymentDoc) bool { return true })
	d, _ := e.doc(ctx, id)
	got := d.ExecutedBy
	if got.Type != want.Type || got.ID != want.ID || got.Name != want.Name || (got.Email == nil) != (want.Email == nil) ||
		(got.Email != nil && *got.Email != *want.Email) {
		e.t.Fatalf("payment %s executed_by %+v, want %+v", id, got, want)
	}
}

// customerKeys returns the API keys in customer's access document.
func (e *env) customerKeys(ctx context.Context, customer string) []projection.CustomerAPIKey {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.searchURL+"/"+projection.CustomersAlias(e.prefix)+"/_doc/"+customer, nil)
	res, err := http.DefaultClient.Do(req)
	e.must(err)
	defer res.Body.Close()
	var out struct {
		Source projection.CustomerDoc `json:"_source"`
	}
	e.must(json.NewDecoder(res.Body).Decode(&out))
	return out.Source.APIKeys
}

// waitKeys waits until customer's access document holds exactly the keys
// with ids (in id order).
func (e *env) waitKeys(ctx context.Context, customer string, ids []string) {
	e.t.Helper()
	slices.Sort(ids)
	var got []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got = got[:0]
		for _, k := range e.customerKeys(ctx, customer) {
			got = append(got, k.ID)
		}
		if slices.Equal(got, ids) {
			return
		}
	}
	e.t.Fatalf("customer %s: keys %v, want %v", customer, got, ids)
}
