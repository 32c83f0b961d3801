package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCreatePayment(t *testing.T) {
	s := mustServer(t, nil)
	u := s.signUp("Payer")
	c := s.createCustomer(u, "Shop")

	t.Run("Defaults", func(t *testing.T) {
		s := s.with(t)
		res := s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: newPayment(c.ID)}, http.StatusCreated)
		var p payment
		res.json(t, &p)
		if p.CustomerID != c.ID || p.UserID != u.ID || p.Amount != 1250 || p.Currency != "DKK" || p.ThirdParty != "ACME A/S" ||
			p.Status != "pending" || p.Attempts != 0 || p.ProcessedAt != nil || p.Description != "" || p.ID == "" || p.PaymentRefID == "" || p.ID == p.PaymentRefID {
			t.Errorf("unexpected payment %+v", p)
		}
		if p.Date != p.CreatedAt {
			t.Errorf("date %s, want the creation time %s", p.Date, p.CreatedAt)
		}
		if res.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("a first request is not a replay")
		}
	})
	t.Run("AllFields", func(t *testing.T) {
		s := s.with(t)
		ref := "8E0C8D2A-3C55-4E1B-9A8B-7E1D7E9F2A10"
		body := map[string]any{"customer_id": strings.ToUpper(c.ID), "amount": 1_000_000_000_000_000, "currency": "JPY",
			"third_party": strings.Repeat("ø", 64), "description": strings.Repeat("d", 500), "payment_ref_id": ref,
			"date": "2024-02-29T23:59:59.1234567+01:00"}
		var p payment
		s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: body}, http.StatusCreated).json(t, &p)
		if p.PaymentRefID != strings.ToLower(ref) || p.CustomerID != c.ID || p.Amount != 1_000_000_000_000_000 ||
			p.Date != "2024-02-29T22:59:59.123456Z" || len([]rune(p.ThirdParty)) != 64 || len(p.Description) != 500 {
			t.Errorf("unexpected payment %+v", p)
		}
	})
	t.Run("DuplicatePaymentRefID", func(t *testing.T) {
		s := s.with(t)
		body := newPayment(c.ID)
		body["payment_ref_id"] = "0b6f3f58-1d52-4c39-9a0f-1c2f3a4b5c6d"
		s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: body}, http.StatusCreated)
		before := s.counts()
		p := s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: body}, http.StatusConflict).problem(t)
		if p.Code != "duplicate_payment_ref_id" || !slices.Equal(p.fields(), []string{"payment_ref_id"}) {
			t.Errorf("problem %+v, want duplicate_payment_ref_id naming payment_ref_id", p)
		}
		s.assertCounts(before)
	})
	// payment_ref_id is unique per customer: a globally unique reference
	// answered another tenant's client 409 for a reference it cannot see
	// (and 201 for one nobody used), revealing other tenants' references.
	t.Run("PaymentRefIDUniquePerCustomer", func(t *testing.T) {
		s := s.with(t)
		other := s.signUp("Other")
		oc := s.createCustomer(other, "Other shop")
		c2 := s.createCustomer(u, "Second shop")
		ref := "5d0e7c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"
		with := func(customerID string) map[string]any {
			body := newPayment(customerID)
			body["payment_ref_id"] = ref
			return body
		}
		s.must(req{Method: "POST", Path: "/v1/payments", Token: other.Token, Body: with(oc.ID)}, http.StatusCreated)
		var p payment
		s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: with(c.ID)}, http.StatusCreated).json(t, &p)
		if p.PaymentRefID != ref || p.CustomerID != c.ID {
			t.Errorf("payment %+v, want ref %s for customer %s", p, ref, c.ID)
		}
		// The same reference for two of one user's customers, in one batch.
		batch := map[string]any{"payments": []any{with(c2.ID), newPayment(c.ID)}}
		s.must(req{Method: "POST", Path: "/v1/payments/batch", Token: u.Token, Body: batch}, http.StatusCreated)
		// And concurrently, so that the group commit writes them together.
		var wg sync.WaitGroup
		refs := []string{"6e1f8d2b-3c4d-4e5f-9a01-b2c3d4e5f607", "7f2a9e3c-4d5e-4f60-8b12-c3d4e5f60718"}
		for _, r := range refs {
			for _, tok := range []struct{ token, customer string }{{u.Token, c.ID}, {other.Token, oc.ID}} {
				wg.Go(func() {
					body := newPayment(tok.customer)
					body["payment_ref_id"] = r
					if res := s.do(req{Method: "POST", Path: "/v1/payments", Token: tok.token, Body: body}); res.Status != http.StatusCreated {
						t.Errorf("concurrent payment with ref %s: status %d, want 201: %s", r, res.Status, res.Body)
					}
				})
			}
		}
		wg.Wait()

		before := s.counts()
		pr := s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: with(c.ID)}, http.StatusConflict).problem(t)
		if pr.Code != "duplicate_payment_ref_id" || !slices.Equal(pr.fields(), []string{"payment_ref_id"}) {
			t.Errorf("problem %+v, want duplicate_payment_ref_id naming payment_ref_id", pr)
		}
		pr = s.must(req{Method: "POST", Path: "/v1/payments/batch", Token: u.Token,
			Body: map[string]any{"payments": []any{newPayment(c.ID), with(c2.ID)}}}, http.StatusConflict).problem(t)
		if pr.Code != "duplicate_payment_ref_id" || !slices.Equal(pr.fields(), []string{"payments[1].payment_ref_id"}) {
			t.Errorf("batch problem %+v, want duplicate_payment_ref_id naming payments[1].payment_ref_id", pr)
		}
		s.assertCounts(before)
	})
	t.Run("ConsistencyTokensIncrease", func(t *testing.T) {
		s := s.with(t)
		var last string
		for i := range 3 {
			res := s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: newPayment(c.ID)}, http.StatusCreated)
			tok := res.Header.Get("X-Consistency-Token")
			var current string
			if err := s.db.QueryRow(context.Background(), "SELECT pg_current_wal_insert_lsn()::text").Scan(&current); err != nil {
				t.Fatal(err)
			}
			if tok <= last {
				t.Errorf("write %d: token %s not after the previous %s", i, tok, last)
			}
			if tok > lsnToken(t, current) {
				t.Errorf("write %d: token %s is past the current WAL position %s", i, tok, current)
			}
			last = tok
		}
	})
}

// lsnToken converts a textual LSN to a consistency token for comparison.
func lsnToken(t *testing.T, lsn string) string {
	var hi, lo uint64
	if _, err := fmt.Sscanf(lsn, "%X/%X", &hi, &lo); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("c1.%016x", hi<<32|lo)
}

// TestIdempotency covers docs/command-api.md, *Idempotency*: concurrent requests with one key create
// one payment; a replay returns the original response; another body is 422.
func TestIdempotency(t *testing.T) {
	s := mustServer(t, nil)
	u := s.signUp("Retrier")
	c := s.createCustomer(u, "Shop")

	t.Run("Concurrent", func(t *testing.T) {
		s := s.with(t)
		const n = 100
		body, _ := json.Marshal(newPayment(c.ID))
		var wg sync.WaitGroup
		results := make([]response, n)
		for i := range n {
			wg.Go(func() {
				results[i] = s.do(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: body,
					Header: map[string]string{"Idempotency-Key": "concurrent-key"}})
			})
		}
		wg.Wait()
		var ids []string
		created, replayed, retry := 0, 0, 0
		for _, r := range results {
			switch r.Status {
			case http.StatusCreated:
				var p payment
				r.json(t, &p)
				ids = append(ids, p.ID)
				if r.Header.Get("Idempotent-Replayed") == "true" {
					replayed++
				} else {
					created++
				}
			case http.StatusConflict:
				if p := r.problem(t); p.Code != "idempotency_in_progress" || r.Header.Get("Retry-After") == "" {
					t.Errorf("409 %+v, want idempotency_in_progress with Retry-After", p)
				}
				retry++
			default:
				t.Errorf("status %d: %s", r.Status, r.Body)
			}
		}
		if created != 1 {
			t.Errorf("%d responses created a payment, want exactly 1 (replayed %d, retry %d)", created, replayed, retry)
		}
		slices.Sort(ids)
		if ids = slices.Compact(ids); len(ids) != 1 {
			t.Errorf("responses name %d different payments, want 1", len(ids))
		}
		var rows int
		if err := s.db.QueryRow(context.Background(), "SELECT count(*) FROM payments WHERE customer_id = $1", c.ID).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 1 {
			t.Errorf("%d payments written, want 1", rows)
		}
		if got := s.count("idempotency_keys"); got != 1 {
			t.Errorf("%d idempotency keys, want 1", got)
		}
	})

	t.Run("ReplayIsByteIdentical", func(t *testing.T) {
		s := s.with(t)
		for _, tc := range []struct {
			name, path string
			body       any
		}{
			{"Single", "/v1/payments", newPayment(c.ID)},
			{"Batch", "/v1/payments/batch", map[string]any{"payments": []any{newPayment(c.ID), newPayment(c.ID)}}},
		} {
			key := map[string]string{"Idempotency-Key": "replay-" + tc.name}
			first := s.must(req{Method: "POST", Path: tc.path, Token: u.Token, Body: tc.body, Header: key}, http.StatusCreated)
			before := s.counts()
			// Same request, formatted differently: still the same request.
			raw, _ := json.MarshalIndent(tc.body, "", "    ")
			again := s.must(req{Method: "POST", Path: tc.path, Token: u.Token, Body: raw, Header: key}, http.StatusCreated)
			if !bytes.Equal(first.Body, again.Body) {
				t.Errorf("%s: replay body differs:\n%s\n%s", tc.name, first.Body, again.Body)
			}
			if again.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("%s: replay lacks Idempotent-Replayed: true", tc.name)
			}
			if again.Header.Get("X-Consistency-Token") < first.Header.Get("X-Consistency-Token") {
				t.Errorf("%s: replay token %s before the original %s", tc.name, again.Header.Get("X-Consistency-Token"), first.Header.Get("X-Consistency-Token"))
			}
			s.assertCounts(before)
		}
	})

	t.Run("KeyReusedWithAnotherBody", func(t *testing.T) {
		s := s.with(t)
		key := map[string]string{"Idempotency-Key": "reused"}
		s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: newPayment(c.ID), Header: key}, http.StatusCreated)
		before := s.counts()
		other := newPayment(c.ID)
		other["amount"] = 1251
		for _, r := range []req{
			{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: other, Header: key},
			{Method: "POST", Path: "/v1/payments/batch", Token: u.Token, Body: map[string]any{"payments": []any{newPayment(c.ID)}}, Header: key},
		} {
			if p := s.must(r, http.StatusUnprocessableEntity).problem(t); p.Code != "idempotency_key_reused" {
				t.Errorf("%s: code %q, want idempotency_key_reused", r.Path, p.Code)
			}
		}
		s.assertCounts(before)
	})

	t.Run("KeyIsScopedToTheUser", func(t *testing.T) {
		s := s.with(t)
		other := s.signUp("Other")
		oc := s.createCustomer(other, "Other shop")
		key := map[string]string{"Idempotency-Key": "shared-key"}
		var a, b payment
		s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: newPayment(c.ID), Header: key}, http.StatusCreated).json(t, &a)
		s.must(req{Method: "POST", Path: "/v1/payments", Token: other.Token, Body: newPayment(oc.ID), Header: key}, http.StatusCreated).json(t, &b)
		if a.ID == b.ID {
			t.Errorf("two users' requests with one key share payment %s", a.ID)
		}
	})

	t.Run("ExpiredKeyIsAFreshKey", func(t *testing.T) {
		s := s.with(t)
		key := map[string]string{"Idempotency-Key": "expiring"}
		var a, b payment
		s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: newPayment(c.ID), Header: key}, http.StatusCreated).json(t, &a)
		if _, err := s.db.Exec(context.Background(), "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'expiring'"); err != nil {
			t.Fatal(err)
		}
		res := s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: newPayment(c.ID), Header: key}, http.StatusCreated)
		res.json(t, &b)
		if a.ID == b.ID || res.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("an expired key was replayed")
		}
	})

	t.Run("BadKeys", func(t *testing.T) {
		s := s.with(t)
		before := s.counts()
		for name, key := range map[string]string{
			"TooLong": strings.Repeat("k", 256), "ControlCharacter": "a\tb", "NonASCII": "nøgle",
		} {
			res := s.do(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: newPayment(c.ID), Header: map[string]string{"Idempotency-Key": key}})
			if res.Status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", name, res.Status)
			}
		}
		s.assertCounts(before)
	})
}

// TestIdempotencyCleanup checks that the background cleanup deletes expired
// keys and only those.
func TestIdempotencyCleanup(t *testing.T) {
	s := mustServer(t, map[string]string{"IDEMPOTENCY_CLEANUP_INTERVAL": "1s", "IDEMPOTENCY_CLEANUP_BATCH": "2"})
	u := s.signUp("Cleaner")
	c := s.createCustomer(u, "Shop")
	for i := range 5 {
		s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: newPayment(c.ID),
			Header: map[string]string{"Idempotency-Key": fmt.Sprintf("k%d", i)}}, http.StatusCreated)
	}
	if _, err := s.db.Exec(context.Background(), "UPDATE idempotency_keys SET expires_at = now() - interval '1 hour' WHERE key <> 'k4'"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for s.count("idempotency_keys") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d idempotency keys left, want 1", s.count("idempotency_keys"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	var key string
	if err := s.db.QueryRow(context.Background(), "SELECT key FROM idempotency_keys").Scan(&key); err != nil || key != "k4" {
		t.Fatalf("remaining key %q (%v), want k4", key, err)
	}
	if got := s.count("payments"); got != 5 {
		t.Errorf("%d payments, want 5: cleanup must not touch payments", got)
	}
}

// TestBatch covers the atomic batch: validation of every item, by index,
// with nothing written unless everything is.
func TestBatch(t *testing.T) {
	s := mustServer(t, nil)
	u := s.signUp("Batcher")
	c := s.createCustomer(u, "Shop")
	foreign := s.createCustomer(s.signUp("Stranger"), "Foreign")

	item := func(mut func(m map[string]any)) map[string]any {
		m := newPayment(c.ID)
		if mut != nil {
			mut(m)
		}
		return m
	}
	t.Run("CreatesAllInOrder", func(t *testing.T) {
		s := s.with(t)
		items := make([]any, 1000)
		for i := range items {
			items[i] = item(func(m map[string]any) { m["amount"] = i + 1 })
		}
		before := s.count("payments")
		var out struct{ Payments []payment }
		s.must(req{Method: "POST", Path: "/v1/payments/batch", Token: u.Token, Body: map[string]any{"payments": items}}, http.StatusCreated).json(t, &out)
		if len(out.Payments) != 1000 {
			t.Fatalf("%d payments returned, want 1000", len(out.Payments))
		}
		for i, p := range out.Payments {
			if p.Amount != int64(i+1) {
				t.Fatalf("payments[%d].amount = %d, want %d (order lost)", i, p.Amount, i+1)
			}
		}
		if got := s.count("payments"); got != before+1000 {
			t.Errorf("%d payments, want %d", got, before+1000)
		}
	})
	ref := "3f1c2b7a-9d84-4e5f-a6b7-c8d9e0f1a2b3"
	s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: item(func(m map[string]any) { m["payment_ref_id"] = ref })}, http.StatusCreated)

	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
		fields []string
	}{
		{"OneBadItem", map[string]any{"payments": []any{item(nil), item(func(m map[string]any) { m["amount"] = 0 }), item(nil)}},
			422, "invalid_payments", []string{"payments[1].amount"}},
		{"EveryBadItemByIndex", map[string]any{"payments": []any{
			item(func(m map[string]any) { m["currency"] = "usd" }),
			item(nil),
			item(func(m map[string]any) { m["amount"] = 10.5 }),
			"not an object",
			item(func(m map[string]any) { delete(m, "third_party"); m["customer_id"] = "nope" }),
			item(func(m map[string]any) { m["surprise"] = true }),
		}}, 422, "invalid_payments", []string{"payments[0].currency", "payments[2].amount", "payments[3]", "payments[4].customer_id", "payments[4].third_party", "payments[5].surprise"}},
		{"DuplicateRefInBatch", map[string]any{"payments": []any{
			item(func(m map[string]any) { m["payment_ref_id"] = "11111111-1111-4111-8111-111111111111" }),
			item(func(m map[string]any) { m["payment_ref_id"] = "11111111-1111-4111-8111-111111111111" }),
		}}, 422, "invalid_payments", []string{"payments[1].payment_ref_id"}},
		{"DuplicateRefInDatabase", map[string]any{"payments": []any{item(nil), item(func(m map[string]any) { m["payment_ref_id"] = ref })}},
			409, "duplicate_payment_ref_id", []string{"payments[1].payment_ref_id"}},
		{"ForeignCustomer", map[string]any{"payments": []any{item(nil), item(func(m map[string]any) { m["customer_id"] = foreign.ID }), item(nil)}},
			404, "customer_not_found", []string{"payments[1].customer_id"}},
		{"UnknownCustomer", map[string]any{"payments": []any{item(func(m map[string]any) { m["customer_id"] = "00000000-0000-4000-8000-000000000000" })}},
			404, "customer_not_found", []string{"payments[0].customer_id"}},
		{"Empty", map[string]any{"payments": []any{}}, 422, "invalid_payments", []string{"payments"}},
		{"Missing", map[string]any{}, 422, "invalid_payments", []string{"payments"}},
		{"NotAnArray", map[string]any{"payments": map[string]any{}}, 400, "invalid", []string{"payments"}},
		{"TooMany", map[string]any{"payments": make([]any, 1001)}, 422, "batch_too_large", []string{"payments"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := s.with(t)
			before := s.counts()
			p := s.must(req{Method: "POST", Path: "/v1/payments/batch", Token: u.Token, Body: tc.body}, tc.status).problem(t)
			if p.Code != tc.code || !slices.Equal(p.fields(), tc.fields) {
				t.Errorf("code %q fields %v, want %q %v (%s)", p.Code, p.fields(), tc.code, tc.fields, p.Detail)
			}
			s.assertCounts(before)
		})
	}
	t.Run("TooManyNamesTheLimit", func(t *testing.T) {
		s := s.with(t)
		p := s.must(req{Method: "POST", Path: "/v1/payments/batch", Token: u.Token, Body: map[string]any{"payments": make([]any, 1001)}}, 422).problem(t)
		if !strings.Contains(p.Detail, "1000") {
			t.Errorf("detail %q does not name the limit", p.Detail)
		}
	})
	t.Run("BodyOver8MiB", func(t *testing.T) {
		s := s.with(t)
		before := s.counts()
		big := `{"payments":[{"customer_id":"` + c.ID + `","amount":1,"currency":"DKK","third_party":"x","description":"` + strings.Repeat("a", 9<<20) + `"}]}`
		s.must(req{Method: "POST", Path: "/v1/payments/batch", Token: u.Token, Body: big}, http.StatusRequestEntityTooLarge).problem(t)
		s.assertCounts(before)
	})
}

// TestIdempotencyInProgress holds the key's row lock in another transaction:
// the request waits DB_LOCK_TIMEOUT, then answers 409 idempotency_in_progress
// without writing; once the holder rolls back, the same request succeeds.
func TestIdempotencyInProgress(t *testing.T) {
	s := mustServer(t, map[string]string{"DB_LOCK_TIMEOUT": "300ms"})
	u := s.signUp("Patient")
	c := s.createCustomer(u, "Shop")
	ctx := context.Background()
	tx, err := s.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response_body, expires_at)
		VALUES ($1, 'held', '\x00', 201, '[]', now() + interval '1 day')`, u.ID); err != nil {
		t.Fatal(err)
	}
	key := map[string]string{"Idempotency-Key": "held"}
	start := time.Now()
	res := s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: newPayment(c.ID), Header: key}, http.StatusConflict)
	if p := res.problem(t); p.Code != "idempotency_in_progress" || res.Header.Get("Retry-After") == "" {
		t.Errorf("problem %+v (Retry-After %q)", p, res.Header.Get("Retry-After"))
	}
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("answered after %s, before the lock timeout", waited)
	}
	if n := s.count("payments"); n != 0 {
		t.Errorf("%d payments written while the key was held", n)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	res = s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: newPayment(c.ID), Header: key}, http.StatusCreated)
	if res.Header.Get("Idempotent-Replayed") != "" {
		t.Error("a first successful request is not a replay")
	}
}
