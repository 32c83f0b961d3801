package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildcat-payments/wildcat/internal/command"
)

// Webhook endpoints and their delivery log, as the command API manages them
// (SPEC §10). Deliveries themselves are written by the database (the
// webhook_outbox triggers of migration 00009) and sent by the processor
// (WebhookStore in webhook_delivery.go).
const (
	endpointColumns = `e.id, e.customer_id, e.url, e.description, e.events, e.enabled, e.disabled_reason,
       e.consecutive_failures, e.created_at, e.updated_at`

	sqlCreateEndpoint = `WITH e AS (
    INSERT INTO webhook_endpoints (customer_id, url, description, events, secret, created_by)
    SELECT $2::uuid, $3, $4, $5, $6, $1::uuid WHERE ` + sqlLinked + `
    RETURNING *
)
SELECT ` + endpointColumns + ` FROM e`

	sqlEndpoints = `SELECT ` + endpointColumns + ` FROM webhook_endpoints e
WHERE e.customer_id = $2::uuid AND ` + sqlLinked + ` ORDER BY e.id DESC`

	sqlEndpoint = `SELECT ` + endpointColumns + ` FROM webhook_endpoints e
WHERE e.id = $3::uuid AND e.customer_id = $2::uuid AND ` + sqlLinked

	sqlUpdateEndpoint = `UPDATE webhook_endpoints e SET
    url = coalesce($4, e.url),
    description = coalesce($5, e.description),
    events = coalesce($6, e.events),
    enabled = coalesce($7, e.enabled),
    consecutive_failures = CASE WHEN $7 THEN 0 ELSE e.consecutive_failures END,
    disabled_reason = CASE WHEN $7 IS NULL THEN e.disabled_reason WHEN $7 THEN NULL ELSE 'disabled by a user' END,
    updated_at = now()
WHERE e.id = $3::uuid AND e.customer_id = $2::uuid AND ` + sqlLinked + `
RETURNING ` + endpointColumns

	sqlDeleteEndpoint = `DELETE FROM webhook_endpoints e
WHERE e.id = $3::uuid AND e.customer_id = $2::uuid AND ` + sqlLinked + ` RETURNING e.id`

	deliveryColumns = `d.id, d.endpoint_id, d.event_id, d.event_type, d.payment_id, d.status, d.attempts, d.next_attempt_at,
       d.created_at, d.updated_at, d.delivered_at, d.payload,
       coalesce((SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'started_at', a.started_at,
           'duration_ms', a.duration_ms, 'status_code', a.status_code, 'error', a.error, 'response_body', a.response_body)
           ORDER BY a.attempt) FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]')`

	// Newest first: ids are UUIDv7, so id order is creation order.
	sqlDeliveries = `SELECT ` + deliveryColumns + ` FROM webhook_deliveries d
WHERE d.endpoint_id = (SELECT e.id FROM webhook_endpoints e WHERE e.id = $3::uuid AND e.customer_id = $2::uuid AND ` + sqlLinked + `)
  AND ($4::uuid IS NULL OR d.id < $4::uuid)
ORDER BY d.id DESC LIMIT $5`

	// sqlRedeliver puts the delivery back to pending and off the queue, so
	// the relay enqueues it again (the relay runs in the processor, which
	// owns the queue's workers).
	sqlRedeliver = `UPDATE webhook_deliveries d SET status = 'pending', enqueued = false, generation = d.generation + 1, next_attempt_at = now(),
    updated_at = now()
WHERE d.id = $4::uuid AND d.endpoint_id = (
    SELECT e.id FROM webhook_endpoints e WHERE e.id = $3::uuid AND e.customer_id = $2::uuid AND ` + sqlLinked + `)
RETURNING ` + deliveryColumns
)

func scanEndpoint(row pgx.Row, e *command.WebhookEndpoint) error {
	return row.Scan(&e.ID, &e.CustomerID, &e.URL, &e.Description, &e.Events, &e.Enabled, &e.DisabledReason,
		&e.ConsecutiveFailures, &e.CreatedAt, &e.UpdatedAt)
}

type attemptJSON struct {
	Attempt      int       `json:"attempt"`
	StartedAt    time.Time `json:"started_at"`
	DurationMS   int       `json:"duration_ms"`
	StatusCode   *int      `json:"status_code"`
	Error        *string   `json:"error"`
	ResponseBody string    `json:"response_body"`
}

func scanDelivery(row pgx.Row, d *command.WebhookDelivery) error {
	var payload string
	var attempts []byte
	if err := row.Scan(&d.ID, &d.EndpointID, &d.EventID, &d.EventType, &d.PaymentID, &d.Status, &d.Attempts,
		&d.NextAttemptAt, &d.CreatedAt, &d.UpdatedAt, &d.DeliveredAt, &payload, &attempts); err != nil {
		return err
	}
	d.Payload = json.RawMessage(payload)
	var as []attemptJSON
	if err := json.Unmarshal(attempts, &as); err != nil {
		return err
	}
	d.Responses = make([]command.WebhookAttempt, len(as))
	for i, a := range as {
		d.Responses[i] = command.WebhookAttempt{Attempt: a.Attempt, StartedAt: a.StartedAt, DurationMS: a.DurationMS,
			StatusCode: a.StatusCode, Error: a.Error, ResponseBody: a.ResponseBody}
	}
	return nil
}

// CreateWebhookEndpoint implements command.WebhookStore.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, userID, customerID string, ne command.NewWebhookEndpoint) (command.WebhookEndpoint, command.Commit, error) {
	var e command.WebhookEndpoint
	found := false
	c, err := s.write(ctx, "create webhook endpoint", func(b *pgx.Batch) {
		b.Queue(sqlCreateEndpoint, userID, customerID, ne.URL, ne.Description, ne.Events, ne.Secret)
	}, func(br pgx.BatchResults) error {
		err := scanEndpoint(br.QueryRow(), &e)
		if isNoRows(err) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return e, command.Commit{}, translate(err, "create webhook endpoint")
	}
	if !found {
		return e, command.Commit{}, command.ErrCustomerNotFound
	}
	return e, c, nil
}

// WebhookEndpoints implements command.WebhookStore.
func (s *Store) WebhookEndpoints(ctx context.Context, userID, customerID string) ([]command.WebhookEndpoint, error) {
	if err := s.mustBeLinked(ctx, userID, customerID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, sqlEndpoints, userID, customerID)
	if err != nil {
		return nil, translate(err, "webhook endpoints")
	}
	defer rows.Close()
	out := []command.WebhookEndpoint{}
	for rows.Next() {
		var e command.WebhookEndpoint
		if err := scanEndpoint(rows, &e); err != nil {
			return nil, translate(err, "webhook endpoints")
		}
		out = append(out, e)
	}
	return out, translate(rows.Err(), "webhook endpoints")
}

// endpointMissing tells ErrCustomerNotFound from ErrWebhookEndpointNotFound
// after a statement found no endpoint.
func (s *Store) endpointMissing(ctx context.Context, userID, customerID string) error {
	if err := s.mustBeLinked(ctx, userID, customerID); err != nil {
		return err
	}
	return command.ErrWebhookEndpointNotFound
}

// WebhookEndpoint implements command.WebhookStore.
func (s *Store) WebhookEndpoint(ctx context.Context, userID, customerID, endpointID string) (command.WebhookEndpoint, error) {
	var e command.WebhookEndpoint
	err := scanEndpoint(s.pool.QueryRow(ctx, sqlEndpoint, userID, customerID, endpointID), &e)
	if isNoRows(err) {
		return e, s.endpointMissing(ctx, userID, customerID)
	}
	return e, translate(err, "webhook endpoint")
}

// UpdateWebhookEndpoint implements command.WebhookStore.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, userID, customerID, endpointID string, u command.WebhookEndpointUpdate) (command.WebhookEndpoint, command.Commit, error) {
	var e command.WebhookEndpoint
	found := false
	c, err := s.write(ctx, "update webhook endpoint", func(b *pgx.Batch) {
		b.Queue(sqlUpdateEndpoint, userID, customerID, endpointID, u.URL, u.Description, u.Events, u.Enabled)
	}, func(br pgx.BatchResults) error {
		err := scanEndpoint(br.QueryRow(), &e)
		if isNoRows(err) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return e, command.Commit{}, translate(err, "update webhook endpoint")
	}
	if !found {
		return e, command.Commit{}, s.endpointMissing(ctx, userID, customerID)
	}
	return e, c, nil
}

// DeleteWebhookEndpoint implements command.WebhookStore.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, userID, customerID, endpointID string) (command.Commit, error) {
	found := false
	c, err := s.write(ctx, "delete webhook endpoint", func(b *pgx.Batch) {
		b.Queue(sqlDeleteEndpoint, userID, customerID, endpointID)
	}, func(br pgx.BatchResults) error {
		var id string
		err := br.QueryRow().Scan(&id)
		if isNoRows(err) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return command.Commit{}, translate(err, "delete webhook endpoint")
	}
	if !found {
		return command.Commit{}, s.endpointMissing(ctx, userID, customerID)
	}
	return c, nil
}

// WebhookDeliveries implements command.WebhookStore.
func (s *Store) WebhookDeliveries(ctx context.Context, userID, customerID, endpointID, after string, limit int) ([]command.WebhookDelivery, error) {
	if _, err := s.WebhookEndpoint(ctx, userID, customerID, endpointID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, sqlDeliveries, userID, customerID, endpointID, nullString(after), limit)
	if err != nil {
		return nil, translate(err, "webhook deliveries")
	}
	defer rows.Close()
	out := []command.WebhookDelivery{}
	for rows.Next() {
		var d command.WebhookDelivery
		if err := scanDelivery(rows, &d); err != nil {
			return nil, translate(err, "webhook deliveries")
		}
		out = append(out, d)
	}
	return out, translate(rows.Err(), "webhook deliveries")
}

// Redeliver implements command.WebhookStore.
func (s *Store) Redeliver(ctx context.Context, userID, customerID, endpointID, deliveryID string) (command.WebhookDelivery, command.Commit, error) {
	var d command.WebhookDelivery
	found := false
	c, err := s.write(ctx, "redeliver", func(b *pgx.Batch) {
		b.Queue(sqlRedeliver, userID, customerID, endpointID, deliveryID)
		b.Queue(`SELECT pg_notify('wildcat_webhooks', '')`)
	}, func(br pgx.BatchResults) error {
		err := scanDelivery(br.QueryRow(), &d)
		if isNoRows(err) {
			err = nil
		} else {
			found = err == nil
		}
		if err != nil {
			return err
		}
		_, err = br.Exec()
		return err
	})
	if err != nil {
		return d, command.Commit{}, translate(err, "redeliver")
	}
	if !found {
		if _, err := s.WebhookEndpoint(ctx, userID, customerID, endpointID); err != nil {
			return d, command.Commit{}, err
		}
		return d, command.Commit{}, command.ErrWebhookDeliveryNotFound
	}
	return d, c, nil
}
