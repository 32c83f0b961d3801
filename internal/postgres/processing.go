package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/processing"
)

// ProcessingStore implements processing.Store. Every method is one
// statement (one round trip, one transaction) that changes the row and
// appends the payment event together; the guards in each WHERE clause make
// them idempotent, and the payments_guard trigger refuses any transition the
// lifecycle does not allow. It is safe for concurrent use.
type ProcessingStore struct {
	Pool *pgxpool.Pool
}

var _ processing.Store = (*ProcessingStore)(nil)

// sqlStartPayment locks the payment, moves it to processing (or counts one
// more attempt), and reads what the attempt needs. A re-driven dead letter
// counts its attempts and its age from the re-drive (payment.retried).
const sqlStartPayment = `WITH cur AS MATERIALIZED (
    SELECT id, status FROM payments WHERE id = $1 FOR UPDATE
), drive AS MATERIALIZED (
    SELECT coalesce(max((data->>'attempt_base')::int), 0) AS base, max(created_at) AS since, count(*)::int AS drive
    FROM payment_events WHERE payment_id = $1 AND type = 'payment.retried'
), upd AS (
    UPDATE payments p SET status = 'processing', attempts = p.attempts + 1, updated_at = now()
    FROM cur WHERE p.id = cur.id AND cur.status IN ('pending', 'processing')
    RETURNING p.id, p.customer_id, p.amount, p.currency, p.third_party, p.payment_ref_id, p.created_at, p.attempts
), ev AS (
    INSERT INTO payment_events (payment_id, type, data)
    SELECT upd.id, 'payment.processing', jsonb_build_object('attempt', upd.attempts - drive.base)
    FROM upd, drive, cur WHERE cur.status = 'pending'
)
SELECT cur.status, upd.id IS NOT NULL, coalesce(upd.customer_id::text, ''), coalesce(upd.amount, 0), coalesce(upd.currency, ''),
       coalesce(upd.third_party, ''), coalesce(upd.payment_ref_id::text, ''), coalesce(drive.since, upd.created_at, now()),
       coalesce(upd.attempts - drive.base, 0), drive.drive,
       coalesce((SELECT e.data->>'message' FROM payment_events e WHERE e.payment_id = $1 AND e.type = 'payment.attempt_failed'
                 AND e.data->>'refund_id' IS NULL AND e.created_at >= coalesce(drive.since, '-infinity') ORDER BY e.id DESC LIMIT 1), '')
FROM cur CROSS JOIN drive LEFT JOIN upd ON true`

// StartPayment implements processing.Store.
func (s *ProcessingStore) StartPayment(ctx context.Context, paymentID string) (processing.Work, error) {
	w := processing.Work{ID: paymentID, PaymentID: paymentID}
	var status string
	var started bool
	err := s.Pool.QueryRow(ctx, sqlStartPayment, paymentID).Scan(&status, &started, &w.CustomerID, &w.Amount, &w.Currency,
		&w.ThirdParty, &w.Reference, &w.CreatedAt, &w.Attempt, &w.Drive, &w.LastError)
	if isNoRows(err) {
		return w, fmt.Errorf("%w: payment %s", processing.ErrNotFound, paymentID)
	}
	if err != nil {
		return w, fmt.Errorf("postgres: start payment: %w", err)
	}
	w.Done = !started
	return w, nil
}

const sqlSettlePayment = `WITH upd AS (
    UPDATE payments SET status = $2, failure_code = $3, failure_message = $4, processed_at = now(), updated_at = now()
    WHERE id = $1 AND status = 'processing'
    RETURNING id
)
INSERT INTO payment_events (payment_id, type, data) SELECT id, $5, $6::jsonb FROM upd`

// PaymentSucceeded implements processing.Store.
func (s *ProcessingStore) PaymentSucceeded(ctx context.Context, paymentID string, o processing.Outcome) error {
	return s.exec(ctx, "payment succeeded", sqlSettlePayment, paymentID, domain.StatusSucceeded, nil, nil,
		domain.EventPaymentSucceeded, eventData(o))
}

// PaymentFailed implements processing.Store.
func (s *ProcessingStore) PaymentFailed(ctx context.Context, paymentID string, o processing.Outcome) error {
	return s.exec(ctx, "payment failed", sqlSettlePayment, paymentID, domain.StatusFailed, o.Code, o.Message,
		domain.EventPaymentFailed, eventData(o))
}

// PaymentAttemptFailed implements processing.Store.
func (s *ProcessingStore) PaymentAttemptFailed(ctx context.Context, paymentID string, o processing.Outcome) error {
	return s.exec(ctx, "payment attempt failed", `INSERT INTO payment_events (payment_id, type, data)
SELECT id, $2, $3::jsonb FROM payments WHERE id = $1 AND status = 'processing'`, paymentID, domain.EventPaymentAttemptFailed, eventData(o))
}

const sqlStartRefund = `WITH upd AS (
    UPDATE refunds SET attempts = attempts + 1, updated_at = now() WHERE id = $1 AND status = 'pending'
    RETURNING id, attempts
)
SELECT upd.id IS NOT NULL, r.payment_id::text, p.customer_id::text, r.amount, p.currency, p.third_party, p.payment_ref_id::text,
       r.created_at, coalesce(upd.attempts, 0),
       coalesce((SELECT e.data->>'message' FROM payment_events e WHERE e.payment_id = r.payment_id
                 AND e.type = 'payment.attempt_failed' AND e.data->>'refund_id' = r.id::text ORDER BY e.id DESC LIMIT 1), '')
FROM refunds r JOIN payments p ON p.id = r.payment_id LEFT JOIN upd ON upd.id = r.id
WHERE r.id = $1`

// StartRefund implements processing.Store.
func (s *ProcessingStore) StartRefund(ctx context.Context, refundID string) (processing.Work, error) {
	w := processing.Work{ID: refundID}
	var started bool
	err := s.Pool.QueryRow(ctx, sqlStartRefund, refundID).Scan(&started, &w.PaymentID, &w.CustomerID, &w.Amount, &w.Currency,
		&w.ThirdParty, &w.Reference, &w.CreatedAt, &w.Attempt, &w.LastError)
	if isNoRows(err) {
		return w, fmt.Errorf("%w: refund %s", processing.ErrNotFound, refundID)
	}
	if err != nil {
		return w, fmt.Errorf("postgres: start refund: %w", err)
	}
	w.Done = !started
	return w, nil
}

// sqlSettleRefund settles a pending refund; a success adds its amount to
// the payment's amount_refunded in the same statement.
const sqlSettleRefund = `WITH r AS (
    UPDATE refunds SET status = $2, failure_code = $3, failure_message = $4, updated_at = now()
    WHERE id = $1 AND status = 'pending'
    RETURNING id, payment_id, amount
), p AS (
    UPDATE payments p SET amount_refunded = p.amount_refunded + r.amount, updated_at = now()
    FROM r WHERE p.id = r.payment_id AND $2 = 'succeeded'
    RETURNING p.id
)
INSERT INTO payment_events (payment_id, type, data)
SELECT r.payment_id, $5, $6::jsonb || jsonb_build_object('refund_id', r.id, 'amount', r.amount) FROM r`

// RefundSucceeded implements processing.Store.
func (s *ProcessingStore) RefundSucceeded(ctx context.Context, refundID string, o processing.Outcome) error {
	return s.exec(ctx, "refund succeeded", sqlSettleRefund, refundID, string(domain.RefundSucceeded), nil, nil,
		domain.EventRefundSucceeded, eventData(o))
}

// RefundFailed implements processing.Store.
func (s *ProcessingStore) RefundFailed(ctx context.Context, refundID string, o processing.Outcome) error {
	return s.exec(ctx, "refund failed", sqlSettleRefund, refundID, string(domain.RefundFailed), o.Code, o.Message,
		domain.EventRefundFailed, eventData(o))
}

// RefundAttemptFailed implements processing.Store: the event goes on the
// refund's payment's timeline.
func (s *ProcessingStore) RefundAttemptFailed(ctx context.Context, refundID string, o processing.Outcome) error {
	return s.exec(ctx, "refund attempt failed", `INSERT INTO payment_events (payment_id, type, data)
SELECT payment_id, $2, $3::jsonb || jsonb_build_object('refund_id', id) FROM refunds WHERE id = $1 AND status = 'pending'`,
		refundID, domain.EventPaymentAttemptFailed, eventData(o))
}

func (s *ProcessingStore) exec(ctx context.Context, what, sql string, args ...any) error {
	if _, err := s.Pool.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	return nil
}

// eventData renders an outcome as the data of its payment event.
func eventData(o processing.Outcome) []byte {
	b, _ := json.Marshal(domain.EventData{Attempt: o.Attempt, Code: o.Code, Message: o.Message,
		ProviderReference: o.Receipt.Reference})
	return b
}

// PendingJobs reports the processing queue's depth and the age of its
// oldest available job, for the processor's metrics.
func PendingJobs(ctx context.Context, pool *pgxpool.Pool) (depth int64, oldest time.Duration, err error) {
	var age float64
	err = pool.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM now() - min(scheduled_at)), 0)
FROM river_job WHERE state IN ('available', 'retryable', 'scheduled') AND scheduled_at <= now()`).Scan(&depth, &age)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: pending jobs: %w", err)
	}
	return depth, time.Duration(age * float64(time.Second)), nil
}
