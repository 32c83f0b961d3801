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
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/wildcat-payments/wildcat/internal/processing"
)

// Executor is what the workers run: processing.Service.
type Executor interface {
	ExecutePayment(ctx context.Context, paymentID string) error
	ExecuteRefund(ctx context.Context, refundID string) error
}

// WorkerConfig configures the processor's River client.
type WorkerConfig struct {
	PaymentWorkers int // concurrent payment attempts per processor
	RefundWorkers  int // concurrent refund attempts per processor
	WebhookWorkers int // concurrent webhook deliveries per processor
	// Webhooks delivers webhook events; nil leaves the webhooks queue alone.
	Webhooks WebhookDeliverer
	// WebhookJobTimeout bounds one delivery job (the HTTP timeout plus the
	// database writes around it).
	WebhookJobTimeout time.Duration
	JobTimeout        time.Duration // one attempt, provider call included
	// RescueAfter is how long a job may stay running before River
	// considers its processor dead and runs it again (a SIGKILLed
	// processor's jobs). It must exceed JobTimeout.
	RescueAfter  time.Duration
	PollInterval time.Duration // how often idle workers look for jobs besides LISTEN/NOTIFY
	// ErrorDelay is the retry delay for errors that are not provider
	// failures (the database unreachable, say): River's retry policy.
	ErrorDelay processing.RetryPolicy
}

// NewWorkerClient returns a River client that works the payments and
// refunds queues with exec. Start it with Start; stop it with Stop (waits
// for running attempts) or StopAndCancel.
func NewWorkerClient(pool *pgxpool.Pool, exec Executor, cfg WorkerConfig, logger *slog.Logger) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &paymentWorker{exec: exec}); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &refundWorker{exec: exec}); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	queues := map[string]river.QueueConfig{
		QueuePayments: {MaxWorkers: cfg.PaymentWorkers},
		QueueRefunds:  {MaxWorkers: cfg.RefundWorkers},
	}
	if cfg.Webhooks != nil {
		if err := river.AddWorkerSafely(workers, &webhookWorker{d: cfg.Webhooks, timeout: cfg.WebhookJobTimeout}); err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		queues[QueueWebhooks] = river.QueueConfig{MaxWorkers: cfg.WebhookWorkers}
	}
	dispatch := &dispatchWorker{pool: pool}
	if err := river.AddWorkerSafely(workers, dispatch); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	c, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:               queues,
		Workers:              workers,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(cfg.PollInterval, 10*time.Millisecond),
		RetryPolicy:          retryPolicy(cfg.ErrorDelay),
		Logger:               logger,
	})
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	dispatch.client = c
	return c, nil
}

// dispatchWorker fans a DispatchPayments job out into one ExecutePayment
// per payment, and completes itself, in one transaction: either every
// payment has its job and the dispatch is done, or nothing happened and it
// runs again.
type dispatchWorker struct {
	river.WorkerDefaults[DispatchPayments]
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
}

func (w *dispatchWorker) Work(ctx context.Context, job *river.Job[DispatchPayments]) error {
	ids := job.Args.IDs()
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: ExecutePayment{PaymentID: id}}
	}
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		if _, err := w.client.InsertManyFastTx(ctx, tx, params); err != nil {
			return fmt.Errorf("queue: dispatch %d payments: %w", len(ids), err)
		}
		if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
			return fmt.Errorf("queue: complete dispatch: %w", err)
		}
		return nil
	})
}

type paymentWorker struct {
	river.WorkerDefaults[ExecutePayment]
	exec Executor
}

func (w *paymentWorker) Work(ctx context.Context, job *river.Job[ExecutePayment]) error {
	return outcome(w.exec.ExecutePayment(ctx, job.Args.PaymentID))
}

type refundWorker struct {
	river.WorkerDefaults[ExecuteRefund]
	exec Executor
}

func (w *refundWorker) Work(ctx context.Context, job *river.Job[ExecuteRefund]) error {
	return outcome(w.exec.ExecuteRefund(ctx, job.Args.RefundID))
}

// outcome maps an attempt's result onto River: a provider's transient
// failure snoozes the job for the policy's delay (River does not count a
// snooze against the job's attempts: the processing policy counts attempts
// itself, in the payment row); a missing row cannot come back, so its job
// is cancelled; anything else is an error River retries.
func outcome(err error) error {
	var later *processing.RetryLater
	switch {
	case err == nil:
		return nil
	case errors.As(err, &later):
		return river.JobSnooze(later.Delay)
	case errors.Is(err, processing.ErrNotFound):
		return river.JobCancel(err)
	}
	return err
}

// retryPolicy adapts a processing.RetryPolicy to River, for errors that
// are not the provider's.
type retryPolicy processing.RetryPolicy

func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(processing.RetryPolicy(p).Delay(job.Attempt))
}
