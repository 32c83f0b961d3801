package processing

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Provider executes money movements at a payment provider (an acquirer). The
// processor talks to every provider through this interface; adapters live
// in their own packages (internal/provider/sim is the one for
// cmd/provider-sim). Implementations must be safe for concurrent use.
//
// Every call carries an idempotency key. A provider must never move money
// twice for one key: a repeated Charge or Refund with a key it has seen
// returns the first outcome (a success, or the same decline).
type Provider interface {
	// Charge moves the payment's amount. Errors: *Decline (final, nothing
	// moved), *Transient (retry with the same key; Unknown says whether
	// money may have moved).
	Charge(ctx context.Context, c Charge) (Receipt, error)
	// Refund returns money of an earlier charge. Errors as for Charge.
	Refund(ctx context.Context, r Refund) (Receipt, error)
	// Lookup reports what the provider recorded for key: found=false means
	// no money moved under that key (and none will: the key is burnt, so a
	// late delivery of the lost request cannot charge either). Any error
	// means the question is unanswered.
	Lookup(ctx context.Context, key string) (r Receipt, found bool, err error)
}

// Charge is one charge request.
type Charge struct {
	Key        string // provider idempotency key: the same on every attempt
	PaymentID  string
	Amount     int64 // minor units
	Currency   string
	ThirdParty string
	Reference  string // our payment_ref_id
	// Drive counts the hand re-drives of a dead letter (0 for the first
	// drive). A re-drive follows a look-up that proved nothing moved under
	// Key and may have closed it; a newer drive may reopen it, while a late
	// request of the drive that closed it stays refused. Still at most one
	// charge per key: the look-up proved none happened before.
	Drive int
}

// Refund is one refund request.
type Refund struct {
	Key       string // provider idempotency key of the refund
	ChargeKey string // idempotency key of the charge being refunded
	RefundID  string
	Amount    int64
	Currency  string
}

// Receipt is a provider's record of a successful movement, or of a decline
// (Declined set) when returned by Lookup.
type Receipt struct {
	Reference   string // the provider's id of the movement
	Amount      int64
	Currency    string
	Declined    bool
	DeclineCode string
}

// Decline is a final refusal: retrying cannot change it. Code is the
// provider's reason (insufficient_funds, do_not_honor, invalid_account, …).
type Decline struct {
	Code    string
	Message string
}

func (d *Decline) Error() string { return fmt.Sprintf("declined: %s: %s", d.Code, d.Message) }

// Transient is a failure worth retrying with the same key: a timeout, a
// connection error, a 5xx or a 429. Unknown reports that the provider may
// have moved money before the answer was lost (a timeout after sending, a
// dropped connection, a 500/502/504); with Unknown false it certainly did
// not (429, 503 that the provider documents as "not processed", a refused
// connection).
type Transient struct {
	Code       string        // short classification: timeout, connection, http_503, rate_limited, …
	Unknown    bool          // the outcome is unknown: money may have moved
	RetryAfter time.Duration // the provider's Retry-After, if any
	Err        error
}

func (t *Transient) Error() string {
	if t.Err != nil {
		return fmt.Sprintf("transient %s: %v", t.Code, t.Err)
	}
	return "transient " + t.Code
}

func (t *Transient) Unwrap() error { return t.Err }

// AsDecline returns the *Decline in err's chain, if any.
func AsDecline(err error) (*Decline, bool) {
	var d *Decline
	ok := errors.As(err, &d)
	return d, ok
}

// AsTransient returns the *Transient in err's chain; any other error that
// is not a *Decline counts as an unknown-outcome transient failure, because
// the safe assumption about an unclassified error is that money may have
// moved.
func AsTransient(err error) *Transient {
	var t *Transient
	if errors.As(err, &t) {
		return t
	}
	return &Transient{Code: "error", Unknown: true, Err: err}
}

// ChargeKey is the provider idempotency key of a payment: the same on every
// attempt, in every processor, across crashes and re-drives.
func ChargeKey(paymentID string) string { return "pay_" + paymentID }

// RefundKey is the provider idempotency key of a refund.
func RefundKey(refundID string) string { return "ref_" + refundID }
