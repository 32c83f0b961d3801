package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// QueueWebhooks is the queue of webhook deliveries.
const QueueWebhooks = "webhooks"

// DeliverWebhook asks the processor to send one delivery of the webhook
// outbox (generation: see webhook_deliveries.generation).
type DeliverWebhook struct {
	DeliveryID string `json:"delivery_id"`
	Generation int    `json:"generation"`
}

// Kind implements river.JobArgs.
func (DeliverWebhook) Kind() string { return "deliver_webhook" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (DeliverWebhook) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueWebhooks, MaxAttempts: MaxAttempts}
}

// WebhookDeliverer is what the webhook worker runs: processing.Webhooks.
type WebhookDeliverer interface {
	Deliver(ctx context.Context, deliveryID string, generation int) error
}

type webhookWorker struct {
	river.WorkerDefaults[DeliverWebhook]
	d       WebhookDeliverer
	timeout time.Duration
}

// Timeout bounds a delivery job by its own limit (the HTTP timeout and the
// database writes around it), not by the payment jobs'.
func (w *webhookWorker) Timeout(*river.Job[DeliverWebhook]) time.Duration { return w.timeout }

func (w *webhookWorker) Work(ctx context.Context, job *river.Job[DeliverWebhook]) error {
	return outcome(w.d.Deliver(ctx, job.Args.DeliveryID, job.Args.Generation))
}

// relayBatch is how many outbox rows the relay moves per transaction.
const relayBatch = 1000

// sqlClaimOutbox takes outbox rows no job exists for yet. SKIP LOCKED lets
// several processors relay at once without taking the same rows.
const sqlClaimOutbox = `SELECT id, generation FROM webhook_deliveries WHERE NOT enqueued
ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`

// Relay moves the webhook outbox onto the queue: the database writes a
// delivery row in the transaction of its event (migration 00009's
// triggers) and notifies wildcat_webhooks; the relay enqueues one
// DeliverWebhook job per row and marks the row enqueued in one
// transaction, so each generation of a delivery gets exactly one job, even
// across crashes.
type Relay struct {
	pool     *pgxpool.Pool
	client   *river.Client[pgx.Tx]
	interval time.Duration
	logger   *slog.Logger
}

// NewRelay returns a relay that also polls every interval (a missed
// notification, a processor that was down).
func NewRelay(pool *pgxpool.Pool, client *river.Client[pgx.Tx], interval time.Duration, logger *slog.Logger) *Relay {
	return &Relay{pool: pool, client: client, interval: interval, logger: logger}
}

// Run relays until ctx ends.
func (r *Relay) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := r.listen(ctx); err != nil && ctx.Err() == nil {
			r.logger.Warn("webhook relay", "error", err.Error())
			select {
			case <-ctx.Done():
			case <-time.After(r.interval):
			}
		}
	}
}

// listen holds a connection listening on wildcat_webhooks and relays after
// every notification and every interval.
func (r *Relay) listen(ctx context.Context) error {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN wildcat_webhooks"); err != nil {
		return err
	}
	defer func() {
		// The connection goes back to the pool: stop listening first.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_, _ = conn.Exec(uctx, "UNLISTEN *")
	}()
	for {
		if _, err := r.RelayOnce(ctx); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, r.interval)
		_, err := conn.Conn().WaitForNotification(wctx)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}

// RelayOnce enqueues every outbox row without a job, and returns how many.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := r.relayBatch(ctx)
		total += n
		if err != nil || n < relayBatch {
			return total, err
		}
	}
}

func (r *Relay) relayBatch(ctx context.Context) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlClaimOutbox, relayBatch)
		if err != nil {
			return err
		}
		var ids []string
		var params []river.InsertManyParams
		for rows.Next() {
			var a DeliverWebhook
			if err := rows.Scan(&a.DeliveryID, &a.Generation); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, a.DeliveryID)
			params = append(params, river.InsertManyParams{Args: a})
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return err
		}
		if _, err := r.client.InsertManyFastTx(ctx, tx, params); err != nil {
			return fmt.Errorf("enqueue %d deliveries: %w", len(ids), err)
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET enqueued = true WHERE id = ANY($1::uuid[])`, ids)
		n = len(ids)
		return err
	})
	return n, err
}
