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
	"strings"

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

// DispatchPayments carries the payments of one write (a single payment, a
// group commit or a batch) into the queue: the command API enqueues one of
// these per transaction instead of one job per payment, and a processor
// turns it into one ExecutePayment per payment, atomically (dispatchWorker).
// Measured: a River job row costs about as much as the payment row itself
// (its GIN indexes on args and metadata), so per-payment jobs on the write
// path cut ingestion to a third. PaymentIDs is comma-separated: one string
// is one entry of the args index however many payments it names.
type DispatchPayments struct {
	PaymentIDs string `json:"payment_ids"`
}

// Kind implements river.JobArgs.
func (DispatchPayments) Kind() string { return "dispatch_payments" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (DispatchPayments) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueuePayments, MaxAttempts: MaxAttempts}
}

// IDs returns the payment ids.
func (d DispatchPayments) IDs() []string {
	if d.PaymentIDs == "" {
		return nil
	}
	return strings.Split(d.PaymentIDs, ",")
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

// Payments enqueues the processing of the payments ids in tx: one
// DispatchPayments job for all of them.
func (in *Inserter) Payments(ctx context.Context, tx pgx.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return in.insert(ctx, tx, []river.InsertManyParams{{Args: DispatchPayments{PaymentIDs: strings.Join(ids, ",")}}})
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
