// Package processing holds the processor's use cases (SPEC §9,
// docs/processing.md): executing a pending payment or refund through a
// Provider, classifying the outcome, retrying transient failures with the
// same provider idempotency key, resolving unknown outcomes by look-up
// before anything is marked failed, and turning exhausted retries into dead
// letters. It declares what it needs (Store, Provider); internal/postgres
// and the provider adapters implement them, internal/queue runs it from
// River jobs. It never imports a driver.
package processing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// Work is the state of a payment or refund at the start of an attempt.
type Work struct {
	ID         string
	PaymentID  string
	CustomerID string
	Amount     int64
	Currency   string
	ThirdParty string
	Reference  string    // the payment's payment_ref_id
	CreatedAt  time.Time // of the payment or refund: the maximum age counts from here
	// Attempt is the number of this attempt within the current drive (1 for
	// the first after creation or after a re-drive).
	Attempt int
	// Drive counts the hand re-drives of the payment (0 for the first
	// drive; a re-driven dead letter's key was closed by a negative look-up).
	Drive int
	// LastError is the message of the drive's last recorded failed attempt
	// ("" if none): the dead letter's explanation when an attempt finds the
	// retries exhausted before it starts (the previous one ended in a crash).
	LastError string
	// Done is set when there is nothing to do: the payment was canceled or
	// is settled already (a duplicate or late job).
	Done bool
}

// Outcome is how an attempt ended.
type Outcome struct {
	Attempt   int
	Receipt   Receipt // on success
	Code      string  // decline or failure code
	Message   string
	Retryable bool
}

// Store is what processing needs from the write model. Every method is one
// transaction that also appends the matching payment event, and each is
// idempotent: settling what is already settled changes nothing.
type Store interface {
	// StartPayment moves a pending payment to processing (first attempt)
	// or counts another attempt of a processing one, and returns it. A
	// canceled or settled payment comes back with Done set.
	StartPayment(ctx context.Context, paymentID string) (Work, error)
	// PaymentSucceeded settles a processing payment as succeeded.
	PaymentSucceeded(ctx context.Context, paymentID string, o Outcome) error
	// PaymentFailed settles a processing payment as failed with o.Code.
	PaymentFailed(ctx context.Context, paymentID string, o Outcome) error
	// PaymentAttemptFailed records a retryable failure of an attempt.
	PaymentAttemptFailed(ctx context.Context, paymentID string, o Outcome) error

	// StartRefund counts an attempt of a pending refund and returns it
	// (Done when it is settled already).
	StartRefund(ctx context.Context, refundID string) (Work, error)
	// RefundSucceeded settles the refund and adds it to the payment's
	// amount_refunded.
	RefundSucceeded(ctx context.Context, refundID string, o Outcome) error
	// RefundFailed settles the refund as failed; its amount becomes
	// refundable again.
	RefundFailed(ctx context.Context, refundID string, o Outcome) error
	// RefundAttemptFailed records a retryable failure of a refund attempt.
	RefundAttemptFailed(ctx context.Context, refundID string, o Outcome) error
}

// RetryLater is returned by Execute when an attempt failed transiently: the
// job is to run again after Delay.
type RetryLater struct {
	Delay time.Duration
	Cause Outcome
}

func (r *RetryLater) Error() string {
	return fmt.Sprintf("processing: attempt %d failed (%s: %s); retry in %s", r.Cause.Attempt, r.Cause.Code, r.Cause.Message, r.Delay)
}

// Hooks observe the processor for metrics; every field is optional.
type Hooks struct {
	Attempt    func(kind string)                      // an attempt starts (kind: payment, refund)
	Outcome    func(kind, outcome, code string)       // succeeded / failed / retry / dead_letter
	ProviderRT func(kind, op string, d time.Duration) // provider call latency (op: charge, refund, lookup)
}

// Service runs attempts. It is safe for concurrent use; several processors
// may run attempts of the same payment at once (a rescued job beside a slow
// one): the provider's idempotency key makes at most one charge, and the
// store settles a payment once.
type Service struct {
	store    Store
	provider Provider
	policy   RetryPolicy
	hooks    Hooks
	log      *slog.Logger
	now      func() time.Time
}

// New returns a Service.
func New(store Store, provider Provider, policy RetryPolicy, hooks Hooks, log *slog.Logger) (*Service, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	return &Service{store: store, provider: provider, policy: policy, hooks: hooks, log: log, now: time.Now}, nil
}

// ExecutePayment runs one attempt of a payment. It returns nil when the
// payment is settled (or was already), *RetryLater after a transient
// failure, and any other error when the attempt could not even be made or
// recorded (the job is then retried by the queue's own policy).
func (s *Service) ExecutePayment(ctx context.Context, paymentID string) error {
	return s.execute(ctx, paymentOp{s: s, id: paymentID})
}

// ExecuteRefund runs one attempt of a refund, as ExecutePayment.
func (s *Service) ExecuteRefund(ctx context.Context, refundID string) error {
	return s.execute(ctx, refundOp{s: s, id: refundID})
}

// operation is a payment or a refund as execute drives it.
type operation interface {
	kind() string
	kind2call() string // the provider operation: charge or refund
	start(ctx context.Context) (Work, error)
	call(ctx context.Context, w Work) (Receipt, error)
	key(w Work) string
	succeeded(ctx context.Context, o Outcome) error
	failed(ctx context.Context, o Outcome) error
	attemptFailed(ctx context.Context, o Outcome) error
}

func (s *Service) execute(ctx context.Context, op operation) error {
	w, err := op.start(ctx)
	if err != nil || w.Done {
		return err
	}
	if s.hooks.Attempt != nil {
		s.hooks.Attempt(op.kind())
	}
	age := s.now().Sub(w.CreatedAt)
	if w.Attempt > s.policy.MaxAttempts || (s.policy.MaxAge > 0 && age >= s.policy.MaxAge) {
		// Out of attempts before this one could start (the previous run
		// ended without a look-up, e.g. a crash): settle by look-up only.
		last := cmp.Or(w.LastError, "out of attempts")
		return s.resolve(ctx, op, w, Outcome{Attempt: w.Attempt, Code: "retries_exhausted", Message: last, Retryable: true})
	}
	began := s.now()
	rec, err := op.call(ctx, w)
	s.observe(op.kind(), op.kind2call(), s.now().Sub(began))
	if err == nil {
		return s.settle(ctx, op, Outcome{Attempt: w.Attempt, Receipt: rec}, true)
	}
	if d, ok := AsDecline(err); ok {
		return s.settle(ctx, op, Outcome{Attempt: w.Attempt, Code: d.Code, Message: d.Message}, false)
	}
	if ctx.Err() != nil { // shutting down: abandon; the next run repeats the same key
		return ctx.Err()
	}
	t := AsTransient(err)
	o := Outcome{Attempt: w.Attempt, Code: t.Code, Message: t.Error(), Retryable: true}
	if s.policy.Exhausted(w.Attempt, age) {
		return s.resolve(ctx, op, w, o)
	}
	if err := op.attemptFailed(ctx, o); err != nil {
		return err
	}
	delay := max(s.policy.Delay(w.Attempt), t.RetryAfter)
	s.outcome(op.kind(), "retry", t.Code)
	return &RetryLater{Delay: delay, Cause: o}
}

// resolve settles an operation whose retries are exhausted. Before anything
// is marked failed the provider must confirm that nothing moved under the
// key; if it cannot answer, the look-up is retried later (at the cap delay)
// instead of guessing.
func (s *Service) resolve(ctx context.Context, op operation, w Work, last Outcome) error {
	began := s.now()
	rec, found, err := s.provider.Lookup(ctx, op.key(w))
	s.observe(op.kind(), "lookup", s.now().Sub(began))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("look-up failed; the operation stays unsettled", "kind", op.kind(), "id", w.ID, "err", err)
		s.outcome(op.kind(), "retry", "lookup_failed")
		return &RetryLater{Delay: s.policy.Cap, Cause: Outcome{Attempt: w.Attempt, Code: "lookup_failed", Message: err.Error(), Retryable: true}}
	}
	switch {
	case found && !rec.Declined:
		return s.settle(ctx, op, Outcome{Attempt: w.Attempt, Receipt: rec}, true)
	case found:
		return s.settle(ctx, op, Outcome{Attempt: w.Attempt, Code: rec.DeclineCode, Message: "declined (found by look-up)"}, false)
	}
	o := Outcome{Attempt: w.Attempt, Code: domain.FailureRetriesExhausted,
		Message: truncate(fmt.Sprintf("%d attempts; last error: %s", w.Attempt, last.Message), 500)}
	if err := op.failed(ctx, o); err != nil {
		return err
	}
	s.outcome(op.kind(), "dead_letter", last.Code)
	return nil
}

func (s *Service) settle(ctx context.Context, op operation, o Outcome, ok bool) error {
	o.Message = truncate(o.Message, 500)
	if ok {
		if err := op.succeeded(ctx, o); err != nil {
			return err
		}
		s.outcome(op.kind(), "succeeded", "")
		return nil
	}
	if err := op.failed(ctx, o); err != nil {
		return err
	}
	s.outcome(op.kind(), "failed", o.Code)
	return nil
}

func (s *Service) outcome(kind, outcome, code string) {
	if s.hooks.Outcome != nil {
		s.hooks.Outcome(kind, outcome, code)
	}
}

func (s *Service) observe(kind, op string, d time.Duration) {
	if s.hooks.ProviderRT != nil {
		s.hooks.ProviderRT(kind, op, d)
	}
}

// truncate cuts s to at most n code points.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

type paymentOp struct {
	s  *Service
	id string
}

func (p paymentOp) kind() string                            { return "payment" }
func (p paymentOp) kind2call() string                       { return "charge" }
func (p paymentOp) start(ctx context.Context) (Work, error) { return p.s.store.StartPayment(ctx, p.id) }
func (p paymentOp) key(w Work) string                       { return ChargeKey(w.PaymentID) }
func (p paymentOp) call(ctx context.Context, w Work) (Receipt, error) {
	return p.s.provider.Charge(ctx, Charge{Key: p.key(w), PaymentID: w.PaymentID, Amount: w.Amount, Currency: w.Currency,
		ThirdParty: w.ThirdParty, Reference: w.Reference, Drive: w.Drive})
}
func (p paymentOp) succeeded(ctx context.Context, o Outcome) error {
	return p.s.store.PaymentSucceeded(ctx, p.id, o)
}
func (p paymentOp) failed(ctx context.Context, o Outcome) error {
	return p.s.store.PaymentFailed(ctx, p.id, o)
}
func (p paymentOp) attemptFailed(ctx context.Context, o Outcome) error {
	return p.s.store.PaymentAttemptFailed(ctx, p.id, o)
}

type refundOp struct {
	s  *Service
	id string
}

func (r refundOp) kind() string                            { return "refund" }
func (r refundOp) kind2call() string                       { return "refund" }
func (r refundOp) start(ctx context.Context) (Work, error) { return r.s.store.StartRefund(ctx, r.id) }
func (r refundOp) key(w Work) string                       { return RefundKey(w.ID) }
func (r refundOp) call(ctx context.Context, w Work) (Receipt, error) {
	return r.s.provider.Refund(ctx, Refund{Key: r.key(w), ChargeKey: ChargeKey(w.PaymentID), RefundID: w.ID,
		Amount: w.Amount, Currency: w.Currency})
}
func (r refundOp) succeeded(ctx context.Context, o Outcome) error {
	return r.s.store.RefundSucceeded(ctx, r.id, o)
}
func (r refundOp) failed(ctx context.Context, o Outcome) error {
	return r.s.store.RefundFailed(ctx, r.id, o)
}
func (r refundOp) attemptFailed(ctx context.Context, o Outcome) error {
	return r.s.store.RefundAttemptFailed(ctx, r.id, o)
}

// ErrNotFound is returned by a Store for an id that does not exist (a job
// whose row was never committed cannot exist: jobs are enqueued in the
// same transaction).
var ErrNotFound = errors.New("processing: not found")
