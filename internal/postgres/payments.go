package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
)

// The payment writes check authorization, insert the payments and record
// the Idempotency-Key in ONE statement. The key row carries the ids of the
// payments it created (payment_ids); a replay renders the original response
// from those rows as they were created (asCreated: processing changes only
// the processing state, which every payment starts without).
//
// Concurrency: a second request with the same key inserts its payment, then
// blocks on the key's unique index until the first commits, then fails with
// a unique violation: its whole statement, payment included, rolls back.
// The session's lock_timeout bounds that wait.
const (
	paymentColumns = `id, payment_ref_id, customer_id, user_id, amount, currency, third_party, description, status, date, created_at, updated_at, ` +
		`failure_code, failure_message, attempts, processed_at, amount_refunded, api_key_id`

	sqlInsertPayment = `WITH ins AS (
    INSERT INTO payments (payment_ref_id, customer_id, user_id, amount, currency, third_party, description, date, api_key_id)
    SELECT coalesce($3::uuid, uuid_v7()), $2::uuid, $1::uuid, $4::bigint, $5::text, $6::text, $7::text,
           coalesce($8::timestamptz, now()), $12::uuid
    WHERE CASE WHEN $12::uuid IS NULL
               THEN EXISTS (SELECT 1 FROM customer_users WHERE customer_id = $2::uuid AND user_id = $1::uuid)
               ELSE EXISTS (SELECT 1 FROM api_keys k WHERE k.id = $12::uuid AND k.customer_id = $2::uuid AND k.revoked_at IS NULL)
          END
    RETURNING ` + paymentColumns + `
), idem AS (
    INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, payment_ids, expires_at)
    SELECT $1::uuid, $9::text, $10::bytea, 201, ARRAY[ins.id], now() + $11::bigint * interval '1 millisecond'
    FROM ins WHERE $9::text IS NOT NULL
)
SELECT ` + paymentColumns + ` FROM ins`

	sqlInsertPayments = `WITH input AS MATERIALIZED (
    SELECT t.ord, t.customer_id, coalesce(t.payment_ref_id, uuid_v7()) AS payment_ref_id, t.amount, t.currency,
           t.third_party, t.description, coalesce(t.date, now()) AS date
    FROM unnest($2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
         WITH ORDINALITY AS t(customer_id, payment_ref_id, amount, currency, third_party, description, date, ord)
), ins AS (
    INSERT INTO payments (payment_ref_id, customer_id, user_id, amount, currency, third_party, description, date, api_key_id)
    SELECT payment_ref_id, customer_id, $1::uuid, amount, currency, third_party, description, date, $12::uuid
    FROM input
    WHERE NOT EXISTS (
        SELECT 1 FROM (SELECT DISTINCT customer_id FROM input) c
        WHERE CASE WHEN $12::uuid IS NULL
                   THEN NOT EXISTS (SELECT 1 FROM customer_users cu WHERE cu.customer_id = c.customer_id AND cu.user_id = $1::uuid)
                   ELSE NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.id = $12::uuid AND k.customer_id = c.customer_id AND k.revoked_at IS NULL)
              END)
    ORDER BY ord
    RETURNING ` + paymentColumns + `
), out AS MATERIALIZED (
    SELECT input.ord, ins.* FROM ins JOIN input USING (customer_id, payment_ref_id)
), idem AS (
    INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, payment_ids, expires_at)
    SELECT $1::uuid, $9::text, $10::bytea, 201, array_agg(out.id ORDER BY out.ord), now() + $11::bigint * interval '1 millisecond'
    FROM out WHERE $9::text IS NOT NULL
    HAVING count(*) > 0
)
SELECT ` + paymentColumns + ` FROM out ORDER BY ord`

	// A write made with an API key ($12) is authorized by the key instead of
	// a link: the key's customer, while it is not revoked, checked in the
	// writing transaction itself, so a revocation that committed first
	// always wins.
	sqlNotLinked = `SELECT array_agg(DISTINCT c::text) FROM unnest($2::uuid[]) AS c
WHERE CASE WHEN $3::uuid IS NULL
           THEN NOT EXISTS (SELECT 1 FROM customer_users cu WHERE cu.customer_id = c AND cu.user_id = $1::uuid)
           ELSE NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.id = $3::uuid AND k.customer_id = c AND k.revoked_at IS NULL)
      END`

	// The record's payments, as JSON in the order the request listed them:
	// rendered from the rows (payment_ids) as they were created (every
	// payment starts pending, unprocessed: a replay answers exactly what the
	// first request answered, whatever processing did since), or the
	// snapshot of a record written before migration 00005.
	sqlIdempotencyRecord = `SELECT k.request_hash, k.status_code,
       coalesce(k.response_body, convert_to(coalesce((
           SELECT jsonb_agg(to_jsonb(p) || ` + asCreated + ` ORDER BY u.ord)
           FROM unnest(k.payment_ids) WITH ORDINALITY AS u(id, ord) JOIN payments p ON p.id = u.id), '[]')::text, 'UTF8')),
       k.expires_at <= now(), pg_current_wal_flush_lsn()::text
FROM idempotency_keys k WHERE k.user_id = $1 AND k.key = $2`

	// asCreated overrides a payment row's processing state (of row p) with
	// the state every payment is created in.
	asCreated = `jsonb_build_object('status', 'pending', 'failure_code', NULL, 'failure_message', NULL, 'attempts', 0,
           'processed_at', NULL, 'amount_refunded', 0, 'updated_at', p.created_at)`

	sqlDeleteExpiredKey = `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND expires_at <= now()`

	sqlDeleteExpiredKeys = `DELETE FROM idempotency_keys WHERE (user_id, key) IN (
    SELECT user_id, key FROM idempotency_keys WHERE expires_at <= now() ORDER BY expires_at LIMIT $1)`
)

// paymentDest returns the scan destinations of paymentColumns in p.
func paymentDest(p *domain.Payment) []any {
	return []any{&p.ID, &p.PaymentRefID, &p.CustomerID, &p.UserID, &p.Amount, &p.Currency, &p.ThirdParty,
		&p.Description, &p.Status, &p.Date, &p.CreatedAt, &p.UpdatedAt,
		&p.FailureCode, &p.FailureMessage, &p.Attempts, &p.ProcessedAt, &p.AmountRefunded, &p.APIKeyID}
}

func scanPayment(row pgx.Row, p *domain.Payment) error { return row.Scan(paymentDest(p)...) }

// CreatePayments implements command.PaymentStore. With group commit on
// (StoreOptions.GroupWriters), single payments go through the grouper.
func (s *Store) CreatePayments(ctx context.Context, w command.PaymentWrite) ([]domain.Payment, command.Commit, error) {
	if len(w.Payments) == 1 && s.group != nil {
		return s.group.create(ctx, w)
	}
	return s.createPayments(ctx, w)
}

// createPayments writes w in its own transaction.
func (s *Store) createPayments(ctx context.Context, w command.PaymentWrite) ([]domain.Payment, command.Commit, error) {
	n := len(w.Payments)
	if n == 0 {
		return nil, command.Commit{}, domain.Errorf(domain.EINVALID, "No payments to create.")
	}
	var key, hash, ttl any // NULL without an idempotency key
	if w.Idempotency != nil {
		key, hash, ttl = w.Idempotency.Key, w.Idempotency.RequestHash, w.Idempotency.TTL.Milliseconds()
	}
	out := make([]domain.Payment, 0, n)
	c, err := s.writeEnqueue(ctx, "create payments", func(b *pgx.Batch) {
		if n == 1 {
			p := w.Payments[0]
			b.Queue(sqlInsertPayment, w.UserID, p.CustomerID, nullString(p.PaymentRefID), p.Amount, p.Currency,
				p.ThirdParty, p.Description, p.Date, key, hash, ttl, nullString(w.APIKeyID))
			return
		}
		cols := paymentArrays(w.Payments)
		b.Queue(sqlInsertPayments, w.UserID, cols.customerIDs, cols.refIDs, cols.amounts, cols.currencies,
			cols.thirdParties, cols.descriptions, cols.dates, key, hash, ttl, nullString(w.APIKeyID))
	}, func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p domain.Payment
			if err := scanPayment(rows, &p); err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	}, func(ctx context.Context, tx pgx.Tx) error {
		return s.jobs.Payments(ctx, tx, paymentIDs(out))
	})
	if err != nil {
		return nil, command.Commit{}, s.paymentWriteError(err, w)
	}
	if len(out) == 0 { // the authorization check let nothing through
		return nil, command.Commit{}, s.notLinked(ctx, w)
	}
	if len(out) != n {
		return nil, command.Commit{}, fmt.Errorf("postgres: create payments: inserted %d of %d", len(out), n)
	}
	return out, c, nil
}

func paymentIDs(ps []domain.Payment) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type paymentColumnArrays struct {
	customerIDs, refIDs, currencies, thirdParties, descriptions []*string
	amounts                                                     []int64
	dates                                                       []*time.Time
}

func paymentArrays(ps []command.NewPayment) paymentColumnArrays {
	n := len(ps)
	a := paymentColumnArrays{customerIDs: make([]*string, n), refIDs: make([]*string, n), currencies: make([]*string, n),
		thirdParties: make([]*string, n), descriptions: make([]*string, n), amounts: make([]int64, n), dates: make([]*time.Time, n)}
	for i := range ps {
		p := &ps[i]
		a.customerIDs[i], a.currencies[i], a.thirdParties[i], a.descriptions[i] = &p.CustomerID, &p.Currency, &p.ThirdParty, &p.Description
		if p.PaymentRefID != "" {
			a.refIDs[i] = &p.PaymentRefID
		}
		a.amounts[i] = p.Amount
		a.dates[i] = p.Date
	}
	return a
}

// paymentWriteError classifies a failed payment write.
func (s *Store) paymentWriteError(err error, w command.PaymentWrite) error {
	pe, ok := pgError(err)
	if !ok {
		return translate(err, "create payments")
	}
	switch {
	case pe.Code == pgUniqueViolation && pe.ConstraintName == "idempotency_keys_pkey":
		return command.ErrIdempotencyKeyExists
	case pe.Code == pgUniqueViolation && pe.ConstraintName == constraintPaymentRef:
		return &command.DuplicateRefError{Indexes: duplicateIndexes(pe.Detail, w.Payments)}
	case pe.Code == pgLockNotAvailable:
		return command.ErrLockTimeout
	}
	return translate(err, "create payments")
}

// constraintPaymentRef makes payment_ref_id unique per customer (migration
// 00010): another tenant's references are invisible, not conflicts.
const constraintPaymentRef = "payments_customer_id_payment_ref_id_key"

// duplicateIndexes finds the payments named by a unique violation's detail,
// `Key (customer_id, payment_ref_id)=(…, …) already exists.`
func duplicateIndexes(detail string, ps []command.NewPayment) []int {
	_, rest, ok := strings.Cut(detail, ")=(")
	if !ok {
		return nil
	}
	key, _, ok := strings.Cut(rest, ")")
	if !ok {
		return nil
	}
	customer, ref, ok := strings.Cut(key, ", ")
	if !ok {
		return nil
	}
	var idx []int
	for i, p := range ps {
		if p.CustomerID == customer && p.PaymentRefID == ref {
			idx = append(idx, i)
		}
	}
	return idx
}

// notLinked finds which payments' customers the user may not use, after
// the insert let nothing through.
func (s *Store) notLinked(ctx context.Context, w command.PaymentWrite) error {
	ids := make([]string, len(w.Payments))
	for i, p := range w.Payments {
		ids[i] = p.CustomerID
	}
	var denied []string
	if err := s.pool.QueryRow(ctx, sqlNotLinked, w.UserID, ids, nullString(w.APIKeyID)).Scan(&denied); err != nil {
		return translate(err, "not linked customers")
	}
	set := make(map[string]bool, len(denied))
	for _, d := range denied {
		set[d] = true
	}
	e := &command.NotLinkedError{}
	for i, id := range ids {
		if set[id] {
			e.Indexes = append(e.Indexes, i)
		}
	}
	return e
}

// IdempotencyRecord implements command.PaymentStore.
func (s *Store) IdempotencyRecord(ctx context.Context, userID, key string) (command.IdempotencyRecord, error) {
	var rec command.IdempotencyRecord
	var body []byte
	var lsnText string
	err := s.pool.QueryRow(ctx, sqlIdempotencyRecord, userID, key).Scan(&rec.RequestHash, &rec.StatusCode, &body, &rec.Expired, &lsnText)
	if isNoRows(err) {
		return rec, domain.Errorf(domain.ENOTFOUND, "No such idempotency key.")
	}
	if err != nil {
		return rec, translate(err, "idempotency record")
	}
	if err := json.Unmarshal(body, &rec.Payments); err != nil {
		// Not a payment write's record (a refund's body is one object):
		// its request hash names another endpoint, so the key is "reused".
		rec.Payments = nil
	}
	if rec.Commit.LSN, err = domain.ParseLSN(lsnText); err != nil {
		return rec, err
	}
	return rec, nil
}

// DeleteExpiredIdempotencyKey implements command.PaymentStore.
func (s *Store) DeleteExpiredIdempotencyKey(ctx context.Context, userID, key string) error {
	_, err := s.pool.Exec(ctx, sqlDeleteExpiredKey, userID, key)
	return translate(err, "delete expired idempotency key")
}

// DeleteExpiredIdempotencyKeys implements command.PaymentStore.
func (s *Store) DeleteExpiredIdempotencyKeys(ctx context.Context, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, sqlDeleteExpiredKeys, limit)
	if err != nil {
		return 0, translate(err, "delete expired idempotency keys")
	}
	return int(tag.RowsAffected()), nil
}
