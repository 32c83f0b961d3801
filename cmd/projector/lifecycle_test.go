package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/query"
	"github.com/wildcat-payments/wildcat/internal/search"
)

// A payment's lifecycle reaches its document: the processing fields and
// the timeline, read in the same snapshot as the payment, through the
// backfill and through the stream, each transition with its event in one
// transaction (as the processor writes them), and refunds too. The query
// side's reads (the payment, its events) see the same.
func TestPaymentLifecycle(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 1, 1, 0)
	customer, user := w.customers[0], w.users[0]

	// Settled before the projector starts: the backfill copies it.
	early := e.createPayment(ctx, customer, user)
	e.transition(ctx, early, `status = 'processing', attempts = 1`, domain.EventPaymentProcessing, `{"attempt": 1}`)
	e.transition(ctx, early, `status = 'failed', processed_at = now(), failure_code = 'do_not_honor', failure_message = 'Do not honor'`,
		domain.EventPaymentFailed, `{"attempt": 1, "code": "do_not_honor", "message": "Do not honor"}`)

	e.start(e.vars("PROJECTOR_FLUSH_INTERVAL", "5ms"))
	e.waitConsistent(ctx, 30*time.Second)
	e.mustMatch(ctx, early)

	// Streamed: pending → processing (a transient failure, a second
	// attempt) → succeeded, then a refund.
	id := e.createPayment(ctx, customer, user)
	e.waitDoc(ctx, id, func(d projection.PaymentDoc) bool { return d.Status == domain.StatusPending && len(d.Events) == 1 })
	e.transition(ctx, id, `status = 'processing', attempts = 1`, domain.EventPaymentProcessing, `{"attempt": 1}`)
	e.transition(ctx, id, `attempts = 2`, domain.EventPaymentAttemptFailed, `{"attempt": 1, "code": "timeout", "message": "<no answer> & retried"}`)
	e.transition(ctx, id, `status = 'succeeded', processed_at = now()`, domain.EventPaymentSucceeded, `{"attempt": 2, "provider_reference": "sim-42"}`)
	e.waitDoc(ctx, id, func(d projection.PaymentDoc) bool { return d.Status == domain.StatusSucceeded })
	e.mustMatch(ctx, id)

	var refund string
	e.must(pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO refunds (payment_id, user_id, amount, reason) VALUES ($1, $2, 100, 'damaged') RETURNING id::text`,
			id, user).Scan(&refund); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO payment_events (payment_id, type, data) VALUES ($1, 'refund.created', jsonb_build_object('refund_id', $2::text, 'amount', 100))`, id, refund)
		return err
	}))
	// Only the refund and its event changed: the document follows anyway.
	e.waitDoc(ctx, id, func(d projection.PaymentDoc) bool { return len(d.Events) == 5 })
	e.must(pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE refunds SET status = 'succeeded', attempts = 1, updated_at = now() WHERE id = $1`, refund); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET amount_refunded = amount_refunded + 100, updated_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO payment_events (payment_id, type, data) VALUES ($1, 'refund.succeeded', jsonb_build_object('refund_id', $2::text, 'amount', 100))`, id, refund)
		return err
	}))
	e.waitDoc(ctx, id, func(d projection.PaymentDoc) bool { return d.AmountRefunded == 100 && len(d.Events) == 6 })
	e.mustMatch(ctx, id)
	e.waitConsistent(ctx, 30*time.Second)

	// The query side reads the same: the payment without its timeline,
	// the timeline on its own, both scoped to the customer.
	st, ok := e.state(ctx)
	if !ok {
		t.Fatal("no published position")
	}
	sc, err := search.Open(ctx, e.searchURL, search.Options{})
	e.must(err)
	svc := query.NewService(search.New(sc, e.prefix, nil), query.Options{})
	p, err := svc.Payment(ctx, query.UserCaller(user), id, query.ReadRequest{MinLSN: st.AppliedLSN})
	e.must(err)
	if p.Status != domain.StatusSucceeded || p.Attempts != 2 || p.AmountRefunded != 100 || p.ProcessedAt == nil || p.FailureCode != nil {
		t.Errorf("query payment %+v, want succeeded after 2 attempts, 100 refunded, processed", p)
	}
	evs, err := svc.Events(ctx, query.UserCaller(user), id, query.ReadRequest{})
	e.must(err)
	want := []domain.EventType{domain.EventPaymentCreated, domain.EventPaymentProcessing, domain.EventPaymentAttemptFailed,
		domain.EventPaymentSucceeded, domain.EventRefundCreated, domain.EventRefundSucceeded}
	var got []domain.EventType
	for i, ev := range evs.Data {
		got = append(got, ev.Type)
		if ev.PaymentID != id || (i > 0 && ev.ID <= evs.Data[i-1].ID) {
			t.Errorf("event %d: %+v, want payment %s and ascending ids", i, ev, id)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("timeline %v, want %v", got, want)
	}
	var data domain.EventData
	e.must(json.Unmarshal(evs.Data[2].Data, &data))
	if data.Code != "timeout" || data.Message != "<no answer> & retried" || data.Attempt != 1 {
		t.Errorf("attempt_failed data %+v", data)
	}
	sum, err := svc.Summary(ctx, query.UserCaller(user), query.SummaryRequest{})
	e.must(err)
	if sum.CountByFailureCode["do_not_honor"] != 1 || sum.SuccessRate == nil || *sum.SuccessRate != 0.5 {
		t.Errorf("summary %+v, want one do_not_honor and a success rate of 0.5", sum)
	}
	refunded := true
	page, err := svc.Search(ctx, query.UserCaller(user), query.SearchRequest{Filter: query.Filter{Refunded: &refunded}, Sort: query.DefaultSort, Limit: 10})
	e.must(err)
	if len(page.Data) != 1 || page.Data[0].ID != id {
		t.Errorf("refunded=true found %d payments, want %s only", len(page.Data), id)
	}
}

// createPayment inserts a pending payment, as the command API does (its
// payment.created event is the row itself).
func (e *env) createPayment(ctx context.Context, customer, user string) string {
	e.t.Helper()
	var id string
	e.must(e.pool.QueryRow(ctx, `WITH p AS (
			INSERT INTO payments (customer_id, user_id, amount, currency, third_party) VALUES ($1, $2, 1000, 'DKK', 'lifecycle')
			RETURNING id
		)
		SELECT id::text FROM p`, customer, user).Scan(&id))
	return id
}

// transition updates payment id with set and appends its event in the same
// transaction, as the processor does.
func (e *env) transition(ctx context.Context, id, set string, typ domain.EventType, data string) {
	e.t.Helper()
	e.must(pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE payments SET `+set+`, updated_at = now() WHERE id = $1`, id); err != nil {
			return fmt.Errorf("%s: %w", set, err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO payment_events (payment_id, type, data) VALUES ($1, $2, $3::jsonb)`, id, string(typ), data)
		return err
	}))
}

// doc returns the indexed document of payment id, whole (events included).
func (e *env) doc(ctx context.Context, id string) (projection.PaymentDoc, bool) {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.searchURL+"/"+projection.PaymentsAlias(e.prefix)+"/_doc/"+id, nil)
	res, err := http.DefaultClient.Do(req)
	e.must(err)
	defer res.Body.Close()
	var out struct {
		Found  bool                  `json:"found"`
		Source projection.PaymentDoc `json:"_source"`
	}
	if res.StatusCode == http.StatusNotFound {
		return projection.PaymentDoc{}, false
	}
	e.must(json.NewDecoder(res.Body).Decode(&out))
	return out.Source, out.Found
}

// waitDoc waits until payment id's document satisfies ok.
func (e *env) waitDoc(ctx context.Context, id string, ok func(projection.PaymentDoc) bool) {
	e.t.Helper()
	var d projection.PaymentDoc
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var found bool
		if d, found = e.doc(ctx, id); found && ok(d) {
			return
		}
	}
	e.t.Fatalf("payment %s: document %+v did not reach the expected state", id, d)
}

// mustMatch compares payment id's document with its row and events in
// PostgreSQL, field by field.
func (e *env) mustMatch(ctx context.Context, id string) {
	e.t.Helper()
	var want projection.PaymentDoc
	var status string
	e.must(e.pool.QueryRow(ctx, `SELECT status, failure_code, failure_message, attempts, processed_at, amount_refunded, updated_at
		FROM payments WHERE id = $1`, id).Scan(&status, &want.FailureCode, &want.FailureMessage, &want.Attempts, &want.ProcessedAt,
		&want.AmountRefunded, &want.UpdatedAt))
	want.Status = domain.Status(status)
	rows, err := e.pool.Query(ctx, `SELECT 0::bigint, 'payment.created', '{}', created_at FROM payments WHERE id = $1
		UNION ALL SELECT id, type, data::text, created_at FROM payment_events WHERE payment_id = $1 ORDER BY 1`, id)
	e.must(err)
	for rows.Next() {
		var ev projection.EventDoc
		var typ, data string
		e.must(rows.Scan(&ev.ID, &typ, &data, &ev.CreatedAt))
		ev.Type, ev.Data = domain.EventType(typ), json.RawMessage(data)
		want.Events = append(want.Events, ev)
	}
	e.must(rows.Err())

	got, found := e.doc(ctx, id)
	if !found {
		e.t.Fatalf("payment %s is not indexed", id)
	}
	same := got.Status == want.Status && reflect.DeepEqual(got.FailureCode, want.FailureCode) &&
		reflect.DeepEqual(got.FailureMessage, want.FailureMessage) && got.Attempts == want.Attempts &&
		got.AmountRefunded == want.AmountRefunded && got.UpdatedAt.Equal(want.UpdatedAt) &&
		(got.ProcessedAt == nil) == (want.ProcessedAt == nil) && (got.ProcessedAt == nil || got.ProcessedAt.Equal(*want.ProcessedAt)) &&
		len(got.Events) == len(want.Events)
	for i := 0; same && i < len(got.Events); i++ {
		g, w := got.Events[i], want.Events[i]
		var gd, wd any
		e.must(json.Unmarshal(g.Data, &gd))
		e.must(json.Unmarshal(w.Data, &wd))
		same = g.ID == w.ID && g.Type == w.Type && g.CreatedAt.Equal(w.CreatedAt) && g.CreatedAt.Location() == time.UTC && reflect.DeepEqual(gd, wd)
	}
	if !same {
		e.t.Fatalf("payment %s\nindexed  %s\nwant     %s", id, describe(got), describe(want))
	}
}

func describe(d projection.PaymentDoc) string {
	b, _ := json.Marshal(struct {
		Status         domain.Status         `json:"status"`
		FailureCode    *string               `json:"failure_code"`
		FailureMessage *string               `json:"failure_message"`
		Attempts       int                   `json:"attempts"`
		ProcessedAt    *time.Time            `json:"processed_at"`
		AmountRefunded int64                 `json:"amount_refunded"`
		UpdatedAt      time.Time             `json:"updated_at"`
		Events         []projection.EventDoc `json:"events"`
	}{d.Status, d.FailureCode, d.FailureMessage, d.Attempts, d.ProcessedAt, d.AmountRefunded, d.UpdatedAt, d.Events})
	return string(b)
}
