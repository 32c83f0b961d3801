package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
)

// The lifecycle writes of the command API (SPEC §9). Each is one statement
// that checks the caller's link, changes the row only from the state the
// action needs (the payments_guard trigger backs this up), and appends the
// payment event; the row lock serializes it against the processor, so a
// cancel racing an attempt ends in exactly one of the two.
const (
	// sqlVisiblePayment: the payment p is the caller's to act on: a user
	// ($1) linked to its customer, or, for a write made with an API key
	// ($3, $8 for refunds: see visibleTo), that key while it is live and
	// of the payment's customer.
	sqlVisiblePayment = `CASE WHEN $3::uuid IS NULL
        THEN EXISTS (SELECT 1 FROM customer_users cu WHERE cu.customer_id = p.customer_id AND cu.user_id = $1::uuid)
        ELSE EXISTS (SELECT 1 FROM api_keys k WHERE k.id = $3::uuid AND k.customer_id = p.customer_id AND k.revoked_at IS NULL)
    END`
	// refundVisible is sqlVisiblePayment with the key as $8.
	refundVisible = `CASE WHEN $8::uuid IS NULL
        THEN EXISTS (SELECT 1 FROM customer_users cu WHERE cu.customer_id = p.customer_id AND cu.user_id = $1::uuid)
        ELSE EXISTS (SELECT 1 FROM api_keys k WHERE k.id = $8::uuid AND k.customer_id = p.customer_id AND k.revoked_at IS NULL)
    END`

	sqlCancelPayment = `WITH upd AS (
    UPDATE payments p SET status = 'canceled', updated_at = now()
    WHERE p.id = $2::uuid AND p.status = 'pending' AND ` + sqlVisiblePayment + `
    RETURNING ` + paymentColumns + `
), ev AS (
    INSERT INTO payment_events (payment_id, type, data) SELECT id, 'payment.canceled', jsonb_build_object('user_id', $1::text) FROM upd
)
SELECT ` + paymentColumns + ` FROM upd`

	sqlRetryPayment = `WITH upd AS (
    UPDATE payments p SET status = 'pending', failure_code = NULL, failure_message = NULL, processed_at = NULL, updated_at = now()
    WHERE p.id = $2::uuid AND p.status = 'failed' AND p.failure_code = 'retries_exhausted' AND ` + sqlVisiblePayment + `
    RETURNING ` + paymentColumns + `
), ev AS (
    INSERT INTO payment_events (payment_id, type, data)
    SELECT id, 'payment.retried', jsonb_build_object('user_id', $1::text, 'attempt_base', attempts) FROM upd
)
SELECT ` + paymentColumns + ` FROM upd`

	// sqlPaymentState tells a lifecycle write that changed nothing why:
	// no row (not visible) or the status it found.
	sqlPaymentState = `SELECT p.status FROM payments p WHERE p.id = $2::uuid AND ` + sqlVisiblePayment

	refundColumns = `r.id, r.payment_id, r.amount, pay.currency, r.reason, r.status, r.failure_code, r.failure_message, r.attempts, r.created_at, r.updated_at`

	// sqlCreateRefund inserts the refund (the refunds_guard trigger locks
	// the payment and enforces "succeeded" and "never more than the
	// amount"), its event and the Idempotency-Key with the response body.
	sqlCreateRefund = `WITH pay AS MATERIALIZED (
    SELECT p.id, p.amount, p.currency FROM payments p WHERE p.id = $2::uuid AND ` + refundVisible + `
), ins AS (
    INSERT INTO refunds (payment_id, user_id, amount, reason)
    SELECT pay.id, $1::uuid, coalesce($3::bigint, pay.amount - (
        SELECT coalesce(sum(amount), 0) FROM refunds WHERE payment_id = pay.id AND status <> 'failed')), $4::text
    FROM pay
    RETURNING *
), out AS MATERIALIZED (
    SELECT ` + refundColumns + ` FROM ins r CROSS JOIN pay
), ev AS (
    INSERT INTO payment_events (payment_id, type, data)
    SELECT payment_id, 'refund.created', jsonb_build_object('refund_id', id, 'amount', amount, 'user_id', $1::text) FROM out
), idem AS (
    INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response_body, expires_at)
    SELECT $1::uuid, $5::text, $6::bytea, 201, convert_to(to_jsonb(out)::text, 'UTF8'), now() + $7::bigint * interval '1 millisecond'
    FROM out WHERE $5::text IS NOT NULL
)
SELECT * FROM out`

	sqlStoredResponse = `SELECT k.request_hash, k.status_code, coalesce(k.response_body, ''::bytea), k.expires_at <= now(),
       pg_current_wal_flush_lsn()::text
FROM idempotency_keys k WHERE k.user_id = $1 AND k.key = $2`

	sqlDeadLetters = `SELECT ` + paymentColumns + ` FROM payments p
WHERE p.failure_code = 'retries_exhausted'
  AND CASE WHEN $5::uuid IS NULL
           THEN p.customer_id IN (SELECT customer_id FROM customer_users WHERE user_id = $1::uuid)
           ELSE p.customer_id = (SELECT customer_id FROM api_keys WHERE id = $5::uuid AND revoked_at IS NULL)
      END
  AND (cardinality($2::uuid[]) = 0 OR p.customer_id = ANY($2::uuid[]))
  AND p.id > $3::uuid
ORDER BY p.id LIMIT $4`
)

// actingKey is the id of the API key the request is made with (the
// command use cases put it on the context), or nil for a user.
func actingKey(ctx context.Context) any {
	if k, ok := command.KeyActorFrom(ctx); ok {
		return k.ID
	}
	return nil
}

// CancelPayment implements command.LifecycleStore.
func (s *Store) CancelPayment(ctx context.Context, userID, paymentID string) (domain.Payment, command.Commit, error) {
	return s.transition(ctx, "cancel payment", sqlCancelPayment, userID, paymentID, command.ErrNotCancelable, nil)
}

// RetryPayment implements command.LifecycleStore.
func (s *Store) RetryPayment(ctx context.Context, userID, paymentID string) (domain.Payment, command.Commit, error) {
	return s.transition(ctx, "retry payment", sqlRetryPayment, userID, paymentID, command.ErrNotRetryable,
		func(ctx context.Context, tx pgx.Tx) error { return s.jobs.Payments(ctx, tx, []string{paymentID}) })
}

// transition runs one lifecycle statement; when it changes nothing, the
// payment is either not visible (ErrPaymentNotFound) or in a state the
// action does not apply to (refused).
func (s *Store) transition(ctx context.Context, what, sql, userID, paymentID string, refused error,
	enqueue func(ctx context.Context, tx pgx.Tx) error) (domain.Payment, command.Commit, error) {
	var p domain.Payment
	found := false
	key := actingKey(ctx)
	queue := func(b *pgx.Batch) { b.Queue(sql, userID, paymentID, key) }
	read := func(br pgx.BatchResults) error {
		err := scanPayment(br.QueryRow(), &p)
		if isNoRows(err) {
			return nil
		}
		found = err == nil
		return err
	}
	var c command.Commit
	var err error
	if enqueue == nil {
		c, err = s.write(ctx, what, queue, read)
	} else {
		c, err = s.writeEnqueue(ctx, what, queue, read, func(ctx context.Context, tx pgx.Tx) error {
			if !found {
				return nil
			}
			return enqueue(ctx, tx)
		})
	}
	if err != nil {
		return p, command.Commit{}, translate(err, what)
	}
	if found {
		return p, c, nil
	}
	var status string
	err = s.pool.QueryRow(ctx, sqlPaymentState, userID, paymentID, key).Scan(&status)
	if isNoRows(err) {
		return p, command.Commit{}, command.ErrPaymentNotFound
	}
	if err != nil {
		return p, command.Commit{}, translate(err, what)
	}
	return p, command.Commit{}, refused
}

// CreateRefund implements command.LifecycleStore.
func (s *Store) CreateRefund(ctx context.Context, w command.RefundWrite) (domain.Refund, command.Commit, error) {
	var key, hash, ttl any
	if w.Idempotency != nil {
		key, hash, ttl = w.Idempotency.Key, w.Idempotency.RequestHash, w.Idempotency.TTL.Milliseconds()
	}
	var r domain.Refund
	found := false
	c, err := s.writeEnqueue(ctx, "create refund", func(b *pgx.Batch) {
		b.Queue(sqlCreateRefund, w.UserID, w.PaymentID, w.Amount, w.Reason, key, hash, ttl, actingKey(ctx))
	}, func(br pgx.BatchResults) error {
		err := br.QueryRow().Scan(&r.ID, &r.PaymentID, &r.Amount, &r.Currency, &r.Reason, &r.Status, &r.FailureCode,
			&r.FailureMessage, &r.Attempts, &r.CreatedAt, &r.UpdatedAt)
		if isNoRows(err) {
			return nil
		}
		found = err == nil
		return err
	}, func(ctx context.Context, tx pgx.Tx) error {
		if !found {
			return nil
		}
		return s.jobs.Refund(ctx, tx, r.ID)
	})
	if pe, ok := pgError(err); ok {
		switch {
		case pe.ConstraintName == "refunds_not_refundable":
			return r, command.Commit{}, command.ErrNotRefundable
		case pe.ConstraintName == "refunds_exceed_amount" || pe.ConstraintName == "refunds_amount_check":
			return r, command.Commit{}, command.ErrRefundExceedsAmount
		case pe.Code == pgUniqueViolation && pe.ConstraintName == "idempotency_keys_pkey":
			return r, command.Commit{}, command.ErrIdempotencyKeyExists
		}
	}
	if err != nil {
		return r, command.Commit{}, translate(err, "create refund")
	}
	if !found {
		return r, command.Commit{}, command.ErrPaymentNotFound
	}
	return r, c, nil
}

// StoredResponse implements command.LifecycleStore.
func (s *Store) StoredResponse(ctx context.Context, userID, key string) (command.StoredResponse, error) {
	var rec command.StoredResponse
	var lsnText string
	err := s.pool.QueryRow(ctx, sqlStoredResponse, userID, key).Scan(&rec.RequestHash, &rec.StatusCode, &rec.Body, &rec.Expired, &lsnText)
	if isNoRows(err) {
		return rec, domain.Errorf(domain.ENOTFOUND, "No such idempotency key.")
	}
	if err != nil {
		return rec, translate(err, "stored response")
	}
	if !json.Valid(rec.Body) {
		rec.Body = nil // the key recorded a payment write (its body is rendered from the rows)
	}
	rec.Commit.LSN, err = domain.ParseLSN(lsnText)
	return rec, err
}

// DeadLetters implements command.LifecycleStore.
func (s *Store) DeadLetters(ctx context.Context, userID string, customerIDs []string, afterID string, limit int) ([]domain.Payment, error) {
	if afterID == "" {
		afterID = zeroUUID
	}
	if customerIDs == nil {
		customerIDs = []string{}
	}
	rows, err := s.pool.Query(ctx, sqlDeadLetters, userID, customerIDs, afterID, limit, actingKey(ctx))
	if err != nil {
		return nil, translate(err, "dead letters")
	}
	defer rows.Close()
	var out []domain.Payment
	for rows.Next() {
		var p domain.Payment
		if err := scanPayment(rows, &p); err != nil {
			return nil, translate(err, "dead letters")
		}
		out = append(out, p)
	}
	return out, translate(rows.Err(), "dead letters")
}

// PaymentCustomer implements command.LifecycleStore.
func (s *Store) PaymentCustomer(ctx context.Context, paymentID string) (string, error) {
	var c string
	err := s.pool.QueryRow(ctx, `SELECT customer_id::text FROM payments WHERE id = $1::uuid`, paymentID).Scan(&c)
	if isNoRows(err) {
		return "", command.ErrPaymentNotFound
	}
	if err != nil {
		return "", translate(err, "payment customer")
	}
	return c, nil
}
