// Package queue adapts River (github.com/riverqueue/river), the
// PostgreSQL-backed job queue that drives payment processing: the job
// kinds, their insert options, and an Inserter that enqueues them inside a
// caller's transaction, so that a payment exists exactly when its job does
// (SPEC §9). The processor's workers are in cmd/processor and
// internal/processing.
package queue

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// Queue names.
const (
	QueuePayments = "payments"
	QueueRefunds  = "refunds"
)

// MaxAttempts is River's attempt limit on our jobs. It is deliberately out
// of reach: the processor's retry policy (attempts, maximum age) decides
// when a payment becomes a dead letter, and only after the provider has
// confirmed that no money moved; River must never discard a job on its own.
const MaxAttempts = 10_000

// ExecutePayment asks the processor to execute a pending payment.
type ExecutePayment struct {
	PaymentID string `json:"payment_id"`
}

// Kind implements river.JobArgs.
func (ExecutePayment) Kind() string { return "execute_payment" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ExecutePayment) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueuePayments, MaxAttempts: MaxAttempts}
}

// ExecuteRefund asks the processor to execute a pending refund.
type ExecuteRefund struct {
	RefundID string `json:"refund_id"`
}

// Kind implements river.JobArgs.
func (ExecuteRefund) Kind() string { return "execute_refund" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ExecuteRefund) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueRefunds, MaxAttempts: MaxAttempts}
}

// Inserter enqueues jobs in a caller's transaction. It is an insert-only
// River client (no queues, no workers) and is safe for concurrent use.
type Inserter struct {
	client *river.Client[pgx.Tx]
}

// NewInserter returns an Inserter for the River tables reachable through
// pool.
func NewInserter(pool *pgxpool.Pool) (*Inserter, error) {
	c, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	return &Inserter{client: c}, nil
}

// Payments enqueues one ExecutePayment job per id in tx, with one
// statement.
func (in *Inserter) Payments(ctx context.Context, tx pgx.Tx, ids []string) error {
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: ExecutePayment{PaymentID: id}}
	}
	return in.insert(ctx, tx, params)
}

// Refund enqueues an ExecuteRefund job in tx.
func (in *Inserter) Refund(ctx context.Context, tx pgx.Tx, id string) error {
	return in.insert(ctx, tx, []river.InsertManyParams{{Args: ExecuteRefund{RefundID: id}}})
}

func (in *Inserter) insert(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	n, err := in.client.InsertManyFastTx(ctx, tx, params)
	if err != nil {
		return fmt.Errorf("queue: enqueue: %w", err)
	}
	if n != len(params) {
		return fmt.Errorf("queue: enqueue: inserted %d of %d jobs", n, len(params))
	}
	return nil
}
