package main

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/httpapi/commandhttp"
)

type refund = commandhttp.RefundJSON

// settle moves a payment through the lifecycle in the database, as the
// processor would: to succeeded, or to failed with code.
func (s *server) settle(id, code string) {
	s.t.Helper()
	ctx := context.Background()
	steps := []string{`UPDATE payments SET status = 'processing', attempts = attempts + 1 WHERE id = $1`}
	if code == "" {
		steps = append(steps, `UPDATE payments SET status = 'succeeded', processed_at = now() WHERE id = $1`)
	} else {
		steps = append(steps, `UPDATE payments SET status = 'failed', processed_at = now(), failure_code = '`+code+`', failure_message = 'last error' WHERE id = $1`)
	}
	for _, sql := range steps {
		if _, err := s.db.Exec(ctx, sql, id); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *server) newPaymentOf(u user, c customer, amount int64) payment {
	s.t.Helper()
	body := newPayment(c.ID)
	body["amount"] = amount
	var p payment
	s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: body}, http.StatusCreated).json(s.t, &p)
	return p
}

func TestCancelPayment(t *testing.T) {
	s := mustServer(t, nil)
	u, stranger := s.signUp("Canceler"), s.signUp("Stranger")
	c := s.createCustomer(u, "Shop")
	p := s.newPaymentOf(u, c, 700)

	s.must(req{Method: "POST", Path: "/v1/payments/" + p.ID + "/cancel", Token: stranger.Token}, http.StatusNotFound)
	s.must(req{Method: "POST", Path: "/v1/payments/not-a-uuid/cancel", Token: u.Token}, http.StatusNotFound)
	res := s.must(req{Method: "POST", Path: "/v1/payments/" + p.ID + "/cancel", Token: u.Token}, http.StatusOK)
	var got payment
	res.json(t, &got)
	if got.Status != "canceled" || got.ID != p.ID || res.Header.Get("X-Consistency-Token") == "" {
		t.Errorf("cancel answered %+v (token %q)", got, res.Header.Get("X-Consistency-Token"))
	}
	before := s.counts()
	if pr := s.must(req{Method: "POST", Path: "/v1/payments/" + p.ID + "/cancel", Token: u.Token}, http.StatusConflict).problem(t); pr.Code != "not_cancelable" {
		t.Errorf("second cancel: %+v, want not_cancelable", pr)
	}
	s.assertCounts(before)

	processing := s.newPaymentOf(u, c, 800)
	s.settle(processing.ID, "")
	if pr := s.must(req{Method: "POST", Path: "/v1/payments/" + processing.ID + "/cancel", Token: u.Token}, http.StatusConflict).problem(t); pr.Code != "not_cancelable" {
		t.Errorf("cancel of a succeeded payment: %+v, want not_cancelable", pr)
	}
	var events int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM payment_events WHERE payment_id = $1 AND type = 'payment.canceled'`, p.ID).Scan(&events); err != nil || events != 1 {
		t.Errorf("payment.canceled events = %d (%v), want 1", events, err)
	}
}

func TestRefunds(t *testing.T) {
	s := mustServer(t, nil)
	u, stranger := s.signUp("Refunder"), s.signUp("Stranger")
	c := s.createCustomer(u, "Shop")
	p := s.newPaymentOf(u, c, 1000)
	path := "/v1/payments/" + p.ID + "/refunds"

	if pr := s.must(req{Method: "POST", Path: path, Token: u.Token, Body: map[string]any{"amount": 100}}, http.StatusConflict).problem(t); pr.Code != "not_refundable" {
		t.Errorf("refund of a pending payment: %+v, want not_refundable", pr)
	}
	s.settle(p.ID, "")
	s.must(req{Method: "POST", Path: path, Token: stranger.Token, Body: map[string]any{"amount": 100}}, http.StatusNotFound)
	for name, body := range map[string]map[string]any{
		"ZeroAmount":    {"amount": 0},
		"FloatAmount":   {"amount": 1.5},
		"UnknownField":  {"amount": 1, "currency": "DKK"},
		"ReasonTooLong": {"amount": 1, "reason": string(make([]byte, 501))},
	} {
		t.Run(name, func(t *testing.T) {
			s := s.with(t)
			before := s.counts()
			res := s.do(req{Method: "POST", Path: path, Token: u.Token, Body: body})
			if res.Status != http.StatusBadRequest && res.Status != http.StatusUnprocessableEntity {
				t.Errorf("status %d, want 400 or 422: %s", res.Status, res.Body)
			}
			s.assertCounts(before)
		})
	}

	key := map[string]string{"Idempotency-Key": "refund-1"}
	first := s.must(req{Method: "POST", Path: path, Token: u.Token, Header: key, Body: map[string]any{"amount": 300, "reason": "damaged"}}, http.StatusCreated)
	var r refund
	first.json(t, &r)
	if r.Amount != 300 || r.Currency != "DKK" || r.Status != "pending" || r.Reason != "damaged" || r.PaymentID != p.ID {
		t.Errorf("refund %+v", r)
	}
	before := s.counts()
	replay := s.must(req{Method: "POST", Path: path, Token: u.Token, Header: key, Body: map[string]any{"reason": "damaged", "amount": 300}}, http.StatusCreated)
	if replay.Header.Get("Idempotent-Replayed") != "true" || string(replay.Body) != string(first.Body) {
		t.Errorf("replay: header %q, body\n%s\nwant\n%s", replay.Header.Get("Idempotent-Replayed"), replay.Body, first.Body)
	}
	if pr := s.must(req{Method: "POST", Path: path, Token: u.Token, Header: key, Body: map[string]any{"amount": 301}}, http.StatusUnprocessableEntity).problem(t); pr.Code != "idempotency_key_reused" {
		t.Errorf("key reused: %+v", pr)
	}
	s.assertCounts(before) // the replay and the refused reuse wrote nothing
	// A key used for a payment cannot replay as a refund.
	body := newPayment(c.ID)
	s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Header: map[string]string{"Idempotency-Key": "pay-key"}, Body: body}, http.StatusCreated)
	before = s.counts()
	if pr := s.must(req{Method: "POST", Path: path, Token: u.Token, Header: map[string]string{"Idempotency-Key": "pay-key"}, Body: map[string]any{"amount": 1}}, http.StatusUnprocessableEntity).problem(t); pr.Code != "idempotency_key_reused" {
		t.Errorf("refund with a payment's key: %+v", pr)
	}
	// Nor a refund's key as a payment.
	if pr := s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Header: key, Body: body}, http.StatusUnprocessableEntity).problem(t); pr.Code != "idempotency_key_reused" {
		t.Errorf("payment with a refund's key: %+v", pr)
	}
	s.assertCounts(before)

	if pr := s.must(req{Method: "POST", Path: path, Token: u.Token, Body: map[string]any{"amount": 701}}, http.StatusConflict).problem(t); pr.Code != "refund_exceeds_amount" {
		t.Errorf("refund over the rest: %+v, want refund_exceeds_amount", pr)
	}
	var rest refund
	s.must(req{Method: "POST", Path: path, Token: u.Token}, http.StatusCreated).json(t, &rest)
	if rest.Amount != 700 {
		t.Errorf("default refund amount = %d, want the remaining 700", rest.Amount)
	}
	if pr := s.must(req{Method: "POST", Path: path, Token: u.Token}, http.StatusConflict).problem(t); pr.Code != "refund_exceeds_amount" {
		t.Errorf("refund of a fully refunded payment: %+v", pr)
	}
	var jobs int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'execute_refund'`).Scan(&jobs); err != nil || jobs != 2 {
		t.Errorf("refund jobs = %d (%v), want 2", jobs, err)
	}
}

func TestDeadLettersAndRetry(t *testing.T) {
	s := mustServer(t, nil)
	u, other := s.signUp("Operator"), s.signUp("Other")
	c := s.createCustomer(u, "Shop")
	oc := s.createCustomer(other, "Elsewhere")
	dead := make([]payment, 3)
	for i := range dead {
		dead[i] = s.newPaymentOf(u, c, int64(100+i))
		s.settle(dead[i].ID, "retries_exhausted")
	}
	declined := s.newPaymentOf(u, c, 5)
	s.settle(declined.ID, "insufficient_funds")
	foreign := s.newPaymentOf(other, oc, 6)
	s.settle(foreign.ID, "retries_exhausted")

	var page struct {
		Data       []payment `json:"data"`
		NextCursor *string   `json:"next_cursor"`
		HasMore    bool      `json:"has_more"`
	}
	s.must(req{Method: "GET", Path: "/v1/dead-letters?limit=2", Token: u.Token}, http.StatusOK).json(t, &page)
	if len(page.Data) != 2 || !page.HasMore || page.NextCursor == nil {
		t.Fatalf("first page %+v", page)
	}
	first := append([]payment(nil), page.Data...)
	page.Data = nil
	s.must(req{Method: "GET", Path: "/v1/dead-letters?limit=2&customer_id=" + c.ID + "&cursor=" + *page.NextCursor, Token: u.Token}, http.StatusOK).json(t, &page)
	if len(page.Data) != 1 || page.HasMore || page.Data[0].ID == first[0].ID || page.Data[0].ID == first[1].ID {
		t.Fatalf("second page %+v", page)
	}
	if p := page.Data[0]; p.FailureCode == nil || *p.FailureCode != "retries_exhausted" || p.FailureMessage == nil || p.Attempts != 1 {
		t.Errorf("dead letter %+v", p)
	}
	s.must(req{Method: "GET", Path: "/v1/dead-letters?customer_id=" + oc.ID, Token: u.Token}, http.StatusOK).json(t, &page)
	if len(page.Data) != 0 {
		t.Errorf("another user's customer leaked %d dead letters", len(page.Data))
	}
	for _, bad := range []string{"?customer_id=nope", "?limit=0", "?limit=501", "?limit=x", "?status=failed", "?cursor=zz"} {
		res := s.do(req{Method: "GET", Path: "/v1/dead-letters" + bad, Token: u.Token})
		if res.Status != http.StatusBadRequest && res.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 400/422", bad, res.Status)
		}
	}

	if pr := s.must(req{Method: "POST", Path: "/v1/payments/" + declined.ID + "/retry", Token: u.Token}, http.StatusConflict).problem(t); pr.Code != "not_retryable" {
		t.Errorf("retry of a declined payment: %+v, want not_retryable", pr)
	}
	s.must(req{Method: "POST", Path: "/v1/payments/" + foreign.ID + "/retry", Token: u.Token}, http.StatusNotFound)
	var again payment
	s.must(req{Method: "POST", Path: "/v1/payments/" + dead[0].ID + "/retry", Token: u.Token}, http.StatusOK).json(t, &again)
	if again.Status != "pending" || again.FailureCode != nil || again.ProcessedAt != nil || again.Attempts != 1 {
		t.Errorf("re-driven payment %+v", again)
	}
	s.must(req{Method: "GET", Path: "/v1/dead-letters", Token: u.Token}, http.StatusOK).json(t, &page)
	if len(page.Data) != 2 {
		t.Errorf("dead letters after a re-drive = %d, want 2", len(page.Data))
	}
}

func TestFutureDatesAreRefused(t *testing.T) {
	s := mustServer(t, map[string]string{"PAYMENT_MAX_FUTURE_DATE": "2h"})
	u := s.signUp("Dater")
	c := s.createCustomer(u, "Shop")
	at := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }

	ok := newPayment(c.ID)
	ok["date"] = at(time.Hour)
	s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: ok}, http.StatusCreated)

	before := s.counts()
	late := newPayment(c.ID)
	late["date"] = at(3 * time.Hour)
	if p := s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: late}, http.StatusUnprocessableEntity).problem(t); p.Code != "date_in_future" || !slices.Equal(p.fields(), []string{"date"}) {
		t.Errorf("single: %+v, want 422 date_in_future naming date", p)
	}
	batch := map[string]any{"payments": []map[string]any{newPayment(c.ID), late}}
	if p := s.must(req{Method: "POST", Path: "/v1/payments/batch", Token: u.Token, Body: batch}, http.StatusUnprocessableEntity).problem(t); p.Code != "invalid_payments" || !slices.Equal(p.fields(), []string{"payments[1].date"}) {
		t.Errorf("batch: %+v, want 422 naming payments[1].date", p)
	}
	s.assertCounts(before)
}
