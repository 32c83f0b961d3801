package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/processing"
)

// dispatched lists, as rows d(id), every payment id named by a dispatch
// job (queue.DispatchPayments).
const dispatched = `river_job j CROSS JOIN unnest(string_to_array(j.args->>'payment_ids', ',')) AS d(id) WHERE j.kind = 'dispatch_payments'`

type lifecycleFixture struct {
	pool *pgxpool.Pool
	s    *postgres.Store
	ps   *postgres.ProcessingStore
	user domain.User
	shop domain.Customer
}

func newLifecycleFixture(t *testing.T) *lifecycleFixture {
	t.Helper()
	ctx := context.Background()
	f := &lifecycleFixture{pool: MustPool(t)}
	f.s = postgres.NewStore(f.pool, postgres.StoreOptions{})
	f.ps = &postgres.ProcessingStore{Pool: f.pool}
	var e1, e2 error
	f.user, _, e1 = f.s.CreateUser(ctx, command.NewUser{Email: "life@example.com", Name: "L", PasswordHash: "$h"})
	f.shop, _, e2 = f.s.CreateCustomer(ctx, f.user.ID, command.NewCustomer{Name: "Shop"})
	if err := errors.Join(e1, e2); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *lifecycleFixture) pay(t *testing.T, amount int64) domain.Payment {
	t.Helper()
	ps, _, err := f.s.CreatePayments(context.Background(), command.PaymentWrite{UserID: f.user.ID,
		Payments: []command.NewPayment{{CustomerID: f.shop.ID, Amount: amount, Currency: "DKK", ThirdParty: "T"}}})
	if err != nil {
		t.Fatal(err)
	}
	return ps[0]
}

func (f *lifecycleFixture) succeed(t *testing.T, id string) {
	t.Helper()
	ctx := context.Background()
	if _, err := f.ps.StartPayment(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := f.ps.PaymentSucceeded(ctx, id, processing.Outcome{Attempt: 1, Receipt: processing.Receipt{Reference: "ch_1"}}); err != nil {
		t.Fatal(err)
	}
}

func (f *lifecycleFixture) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTransitionsDatabaseAgreesWithDomain tries every status change in the
// database, from every state a payment can be in, and compares the
// trigger's verdict with domain.Status.CanTransition.
func TestTransitionsDatabaseAgreesWithDomain(t *testing.T) {
	f := newLifecycleFixture(t)
	ctx := context.Background()
	// One payment per reachable state, set with legal moves.
	states := map[domain.Status]string{}
	reach := map[domain.Status][]string{
		domain.StatusPending:    nil,
		domain.StatusProcessing: {`status = 'processing'`},
		domain.StatusSucceeded:  {`status = 'processing'`, `status = 'succeeded', processed_at = now()`},
		domain.StatusFailed: {`status = 'processing'`,
			`status = 'failed', processed_at = now(), failure_code = 'retries_exhausted'`},
		domain.StatusCanceled: {`status = 'canceled'`},
	}
	for st, steps := range reach {
		id := f.pay(t, 100).ID
		for _, set := range steps {
			if _, err := f.pool.Exec(ctx, `UPDATE payments SET `+set+` WHERE id = $1`, id); err != nil {
				t.Fatalf("reaching %s: %v", st, err)
			}
		}
		states[st] = id
	}
	// The columns each target state needs besides the status.
	extra := map[domain.Status]string{
		domain.StatusSucceeded: `, processed_at = now(), failure_code = NULL`,
		domain.StatusFailed:    `, processed_at = now(), failure_code = 'do_not_honor'`,
		domain.StatusPending:   `, processed_at = NULL, failure_code = NULL, failure_message = NULL`,
	}
	for _, from := range domain.Statuses {
		for _, to := range domain.Statuses {
			if from == to {
				continue
			}
			t.Run(fmt.Sprintf("%s→%s", from, to), func(t *testing.T) {
				code := ""
				if from == domain.StatusFailed {
					code = domain.FailureRetriesExhausted
				}
				want := from.CanTransition(code, to)
				tx, err := f.pool.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = tx.Rollback(ctx) }()
				_, err = tx.Exec(ctx, `UPDATE payments SET status = $2`+extra[to]+` WHERE id = $1`, states[from], string(to))
				if got := err == nil; got != want {
					t.Errorf("database allowed = %v (%v), domain = %v", got, err, want)
				}
			})
		}
	}
}

// TestEveryPaymentHasItsJob: single, grouped and batch writes enqueue
// every payment for processing exactly once, in the same transaction (a
// dispatch job per write), and write no timeline row (payment.created is
// the payment row itself).
func TestEveryPaymentHasItsJob(t *testing.T) {
	f := newLifecycleFixture(t)
	ctx := context.Background()
	grouped := postgres.NewStore(f.pool, postgres.StoreOptions{GroupWriters: 2})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, _, err := grouped.CreatePayments(ctx, command.PaymentWrite{UserID: f.user.ID,
				Payments: []command.NewPayment{{CustomerID: f.shop.ID, Amount: int64(1 + i), Currency: "EUR", ThirdParty: "G"}}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	batch := make([]command.NewPayment, 30)
	for i := range batch {
		batch[i] = command.NewPayment{CustomerID: f.shop.ID, Amount: 5, Currency: "SEK", ThirdParty: "B"}
	}
	if _, _, err := f.s.CreatePayments(ctx, command.PaymentWrite{UserID: f.user.ID, Payments: batch}); err != nil {
		t.Fatal(err)
	}
	f.pay(t, 7)
	if n := f.count(t, `SELECT count(*) FROM payments`); n != 51 {
		t.Fatalf("payments = %d, want 51", n)
	}
	if n := f.count(t, `SELECT count(*) FROM payments p WHERE (SELECT count(*) FROM `+dispatched+` AND d.id = p.id::text) <> 1`); n != 0 {
		t.Errorf("%d payments not in exactly one dispatch job", n)
	}
	if n := f.count(t, `SELECT count(*) FROM payment_events`); n != 0 {
		t.Errorf("creating payments wrote %d timeline rows, want none", n)
	}
	// A batch that fails leaves neither payments nor jobs.
	bad := append([]command.NewPayment(nil), batch[:2]...)
	bad[1].CustomerID = "00000000-0000-0000-0000-000000000001"
	if _, _, err := f.s.CreatePayments(ctx, command.PaymentWrite{UserID: f.user.ID, Payments: bad}); err == nil {
		t.Fatal("batch with an unlinked customer accepted")
	}
	if n := f.count(t, `SELECT count(*) FROM `+dispatched); n != 51 {
		t.Errorf("payments in dispatch jobs after a refused batch = %d, want 51", n)
	}
}

// TestCancelRacingProcessing: a cancel and the start of an attempt on the
// same pending payment end in exactly one of the two, every time.
func TestCancelRacingProcessing(t *testing.T) {
	f := newLifecycleFixture(t)
	ctx := context.Background()
	for i := range 40 {
		p := f.pay(t, int64(100+i))
		var (
			wg        sync.WaitGroup
			cancelErr error
			work      processing.Work
			startErr  error
		)
		wg.Go(func() { _, _, cancelErr = f.s.CancelPayment(ctx, f.user.ID, p.ID) })
		wg.Go(func() { work, startErr = f.ps.StartPayment(ctx, p.ID) })
		wg.Wait()
		if startErr != nil {
			t.Fatal(startErr)
		}
		canceled, started := cancelErr == nil, !work.Done
		if canceled == started {
			t.Fatalf("payment %d: canceled = %v (%v), attempt started = %v; want exactly one", i, canceled, cancelErr, started)
		}
		if !canceled && !errors.Is(cancelErr, command.ErrNotCancelable) {
			t.Fatalf("losing cancel: got %v, want not_cancelable", cancelErr)
		}
		var status string
		if err := f.pool.QueryRow(ctx, `SELECT status FROM payments WHERE id = $1`, p.ID).Scan(&status); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{true: "canceled", false: "processing"}[canceled]; status != want {
			t.Fatalf("status = %s, want %s", status, want)
		}
	}
}

// TestConcurrentRefundsNeverExceedTheAmount: many concurrent refunds of one
// payment; the accepted ones sum to at most its amount, and the refused
// ones are refund_exceeds_amount.
func TestConcurrentRefundsNeverExceedTheAmount(t *testing.T) {
	f := newLifecycleFixture(t)
	ctx := context.Background()
	p := f.pay(t, 1000)
	if _, _, err := f.s.CreateRefund(ctx, command.RefundWrite{UserID: f.user.ID, PaymentID: p.ID}); !errors.Is(err, command.ErrNotRefundable) {
		t.Fatalf("refund of a pending payment: got %v, want not_refundable", err)
	}
	f.succeed(t, p.ID)
	var (
		mu       sync.Mutex
		accepted int64
		refused  int
		wg       sync.WaitGroup
	)
	for i := range 24 {
		wg.Go(func() {
			amount := int64(70 + i%3*10) // 70, 80, 90
			_, _, err := f.s.CreateRefund(ctx, command.RefundWrite{UserID: f.user.ID, PaymentID: p.ID, Amount: &amount})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted += amount
			case errors.Is(err, command.ErrRefundExceedsAmount):
				refused++
			default:
				t.Errorf("refund: %v", err)
			}
		})
	}
	wg.Wait()
	if accepted > 1000 || refused == 0 {
		t.Fatalf("accepted %d of 1000 with %d refused", accepted, refused)
	}
	if sum := f.count(t, `SELECT coalesce(sum(amount), 0)::int FROM refunds WHERE payment_id = $1`, p.ID); int64(sum) != accepted {
		t.Errorf("refunds in the database sum to %d, accepted %d", sum, accepted)
	}
	// The rest (default amount) is refundable, then nothing is.
	r, _, err := f.s.CreateRefund(ctx, command.RefundWrite{UserID: f.user.ID, PaymentID: p.ID})
	if rest := 1000 - accepted; rest > 0 && (err != nil || r.Amount != rest) {
		t.Fatalf("refund of the rest: %+v, %v; want %d", r, err, rest)
	}
	if _, _, err := f.s.CreateRefund(ctx, command.RefundWrite{UserID: f.user.ID, PaymentID: p.ID}); !errors.Is(err, command.ErrRefundExceedsAmount) {
		t.Errorf("refund of a fully refunded payment: got %v, want refund_exceeds_amount", err)
	}
	// A failed refund frees its amount; a succeeded one is counted in the payment.
	if err := f.ps.RefundFailed(ctx, r.ID, processing.Outcome{Attempt: 1, Code: "do_not_honor"}); err != nil {
		t.Fatal(err)
	}
	again, _, err := f.s.CreateRefund(ctx, command.RefundWrite{UserID: f.user.ID, PaymentID: p.ID})
	if err != nil || again.Amount != r.Amount {
		t.Fatalf("refund after a failed one: %+v, %v", again, err)
	}
	if err := f.ps.RefundSucceeded(ctx, again.ID, processing.Outcome{Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT amount_refunded::int FROM payments WHERE id = $1`, p.ID); int64(n) != again.Amount {
		t.Errorf("amount_refunded = %d, want %d", n, again.Amount)
	}
}

// TestDeadLetterRetry: a dead letter is listed, re-driven once (pending
// with a new job), and a second retry is refused.
func TestDeadLetterRetry(t *testing.T) {
	f := newLifecycleFixture(t)
	ctx := context.Background()
	p := f.pay(t, 500)
	if _, _, err := f.s.RetryPayment(ctx, f.user.ID, p.ID); !errors.Is(err, command.ErrNotRetryable) {
		t.Fatalf("retry of a pending payment: got %v, want not_retryable", err)
	}
	if _, err := f.ps.StartPayment(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.ps.PaymentAttemptFailed(ctx, p.ID, processing.Outcome{Attempt: 1, Code: "http_503", Message: "transient http_503"}); err != nil {
		t.Fatal(err)
	}
	if w, err := f.ps.StartPayment(ctx, p.ID); err != nil || w.Attempt != 2 || w.LastError != "transient http_503" {
		t.Fatalf("second attempt: %+v, %v; want attempt 2 knowing the last error", w, err)
	}
	if err := f.ps.PaymentFailed(ctx, p.ID, processing.Outcome{Attempt: 3, Code: domain.FailureRetriesExhausted, Message: "3 attempts"}); err != nil {
		t.Fatal(err)
	}
	dl, err := f.s.DeadLetters(ctx, f.user.ID, nil, "", 10)
	if err != nil || len(dl) != 1 || dl[0].ID != p.ID || dl[0].FailureMessage == nil || *dl[0].FailureMessage != "3 attempts" {
		t.Fatalf("dead letters = %+v, %v", dl, err)
	}
	if other, err := f.s.DeadLetters(ctx, f.user.ID, []string{"00000000-0000-0000-0000-000000000001"}, "", 10); err != nil || len(other) != 0 {
		t.Fatalf("dead letters of another customer = %+v, %v", other, err)
	}
	got, _, err := f.s.RetryPayment(ctx, f.user.ID, p.ID)
	if err != nil || got.Status != domain.StatusPending || got.FailureCode != nil {
		t.Fatalf("retry: %+v, %v", got, err)
	}
	if n := f.count(t, `SELECT count(*) FROM `+dispatched+` AND d.id = $1`, p.ID); n != 2 {
		t.Errorf("jobs of the payment = %d, want 2 (creation and re-drive)", n)
	}
	w, err := f.ps.StartPayment(ctx, p.ID)
	if err != nil || w.Attempt != 1 || w.Drive != 1 || w.LastError != "" {
		t.Errorf("first attempt after the re-drive: %+v, %v; want attempt 1 of drive 1, no error of this drive yet", w, err)
	}
	if _, _, err := f.s.RetryPayment(ctx, f.user.ID, p.ID); !errors.Is(err, command.ErrNotRetryable) {
		t.Errorf("second retry: got %v, want not_retryable", err)
	}
	stranger, _, _ := f.s.CreateUser(ctx, command.NewUser{Email: "x@example.com", Name: "X", PasswordHash: "$h"})
	if _, _, err := f.s.CancelPayment(ctx, stranger.ID, p.ID); !errors.Is(err, command.ErrPaymentNotFound) {
		t.Errorf("cancel by a stranger: got %v, want payment_not_found", err)
	}
}
