package postgres

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/processing"
)

// WebhookStore implements processing.WebhookStore: the processor's side of
// webhook deliveries.
type WebhookStore struct {
	pool *pgxpool.Pool
}

// NewWebhookStore returns the delivery store on pool.
func NewWebhookStore(pool *pgxpool.Pool) *WebhookStore { return &WebhookStore{pool: pool} }

var _ processing.WebhookStore = (*WebhookStore)(nil)

const (
	sqlWebhookTarget = `SELECT d.id, d.generation, d.event_id, d.status, d.attempts, d.created_at, d.payload,
       e.url, e.secret, e.enabled
FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
WHERE d.id = $1::uuid`

	// sqlRecordWebhookAttempt writes the attempt, moves the delivery on and
	// keeps the endpoint's run of consecutive failures, disabling it at
	// $9 failures; all only while the delivery is still of generation $2.
	sqlRecordWebhookAttempt = `WITH d AS (
    UPDATE webhook_deliveries d SET
        attempts = d.attempts + 1,
        status = CASE WHEN $3 THEN 'succeeded' WHEN $4 THEN 'failed' ELSE 'pending' END,
        delivered_at = CASE WHEN $3 THEN now() ELSE d.delivered_at END,
        next_attempt_at = $10,
        updated_at = now()
    WHERE d.id = $1::uuid AND d.generation = $2 AND d.status = 'pending'
    RETURNING d.id, d.endpoint_id, d.attempts
), a AS (
    INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, response_body)
    SELECT d.id, d.attempts, $5, $6, $7, $8, $11 FROM d
), e AS (
    UPDATE webhook_endpoints e SET
        consecutive_failures = CASE WHEN $3 THEN 0 ELSE e.consecutive_failures + 1 END,
        enabled = e.enabled AND ($3 OR e.consecutive_failures + 1 < $9),
        disabled_reason = CASE WHEN e.enabled AND NOT $3 AND e.consecutive_failures + 1 >= $9
            THEN format('disabled after %s consecutive failed deliveries', e.consecutive_failures + 1)
            ELSE e.disabled_reason END,
        updated_at = CASE WHEN e.enabled AND NOT $3 AND e.consecutive_failures + 1 >= $9 THEN now() ELSE e.updated_at END
    FROM d WHERE e.id = d.endpoint_id
    RETURNING e.enabled
)
SELECT coalesce((SELECT NOT enabled FROM e), false)`

	sqlEndWebhookDelivery = `UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, updated_at = now()
WHERE id = $1::uuid AND generation = $2 AND status = 'pending'`

	// A delivery whose endpoint gets disabled by its attempt is failed: no
	// attempt follows until the endpoint is re-enabled and it is redelivered.
	sqlFailDisabled = `UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL
WHERE id = $1::uuid AND generation = $2 AND status = 'pending'`
)

// WebhookTarget implements processing.WebhookStore.
func (s *WebhookStore) WebhookTarget(ctx context.Context, id string) (processing.WebhookTarget, error) {
	var t processing.WebhookTarget
	var payload string
	err := s.pool.QueryRow(ctx, sqlWebhookTarget, id).Scan(&t.DeliveryID, &t.Generation, &t.EventID, &t.Status,
		&t.Attempts, &t.CreatedAt, &payload, &t.URL, &t.Secret, &t.Enabled)
	if isNoRows(err) {
		return t, processing.ErrNotFound
	}
	if err != nil {
		return t, translate(err, "webhook target")
	}
	t.Payload = []byte(payload)
	return t, nil
}

// RecordWebhookAttempt implements processing.WebhookStore.
func (s *WebhookStore) RecordWebhookAttempt(ctx context.Context, a processing.WebhookAttempt) (bool, error) {
	var code *int
	if a.Result.StatusCode != 0 {
		code = &a.Result.StatusCode
	}
	var errText *string
	if a.Result.Err != nil {
		e := truncate(a.Result.Err.Error(), 500)
		errText = &e
	} else if !a.Delivered {
		e := "non-2xx response"
		if a.Result.StatusCode >= 300 && a.Result.StatusCode < 400 {
			e = "redirect not followed"
		}
		errText = &e
	}
	var disabled bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, sqlRecordWebhookAttempt, a.DeliveryID, a.Generation, a.Delivered, a.GiveUp,
			a.StartedAt, a.Result.Duration.Milliseconds(), code, errText, a.DisableAfter, a.NextAttempt,
			truncate(a.Result.ResponseBody, 1024)).Scan(&disabled); err != nil {
			return err
		}
		if disabled {
			_, err := tx.Exec(ctx, sqlFailDisabled, a.DeliveryID, a.Generation)
			return err
		}
		return nil
	})
	return disabled, translate(err, "record webhook attempt")
}

// EndWebhookDelivery implements processing.WebhookStore.
func (s *WebhookStore) EndWebhookDelivery(ctx context.Context, id string, generation int) error {
	_, err := s.pool.Exec(ctx, sqlEndWebhookDelivery, id, generation)
	return translate(err, "end webhook delivery")
}

// truncate cuts s to at most n bytes on a rune boundary, as valid UTF-8
// (PostgreSQL text refuses invalid bytes and NUL).
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
