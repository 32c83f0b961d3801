package domain

import (
	"encoding/json"
	"time"
)

// Status is the processing state of a payment (SPEC §9).
type Status string

// Payment statuses. A payment is created pending, a processor moves it to
// processing before it calls the provider, and the provider's answer
// settles it. Only a pending payment can be canceled.
const (
	StatusPending    Status = "pending"
	StatusProcessing Status = "processing"
	StatusSucceeded  Status = "succeeded"
	StatusFailed     Status = "failed"
	StatusCanceled   Status = "canceled"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusPending, StatusProcessing, StatusSucceeded, StatusFailed, StatusCanceled}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusProcessing, StatusSucceeded, StatusFailed, StatusCanceled:
		return true
	}
	return false
}

// Final reports whether s is a settled state that processing never leaves
// (a failed payment may still be re-driven by hand when it is a dead
// letter; see CanTransition).
func (s Status) Final() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCanceled
}

// CanTransition reports whether a payment with status s and failure code
// failureCode may move to next. The same rules are enforced by the database
// (migrations/00006_processing.sql, payments_guard):
//
//	pending    → processing | canceled
//	processing → succeeded | failed
//	failed     → pending      only a dead letter (retries_exhausted), re-driven
func (s Status) CanTransition(failureCode string, next Status) bool {
	switch s {
	case StatusPending:
		return next == StatusProcessing || next == StatusCanceled
	case StatusProcessing:
		return next == StatusSucceeded || next == StatusFailed
	case StatusFailed:
		return next == StatusPending && failureCode == FailureRetriesExhausted
	}
	return false
}

// Failure codes of our own; others are the provider's decline codes.
const (
	// FailureRetriesExhausted marks a dead letter: every attempt failed
	// transiently (or the maximum age passed) and the provider confirmed
	// that no money moved.
	FailureRetriesExhausted = "retries_exhausted"
)

// RefundStatus is the state of a refund.
type RefundStatus string

// Refund statuses.
const (
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// Refund returns money of a succeeded payment. Amount is in the payment's
// currency's minor units.
type Refund struct {
	ID             string       `json:"id"`
	PaymentID      string       `json:"payment_id"`
	Amount         int64        `json:"amount"`
	Currency       string       `json:"currency"`
	Reason         string       `json:"reason"`
	Status         RefundStatus `json:"status"`
	FailureCode    *string      `json:"failure_code"`
	FailureMessage *string      `json:"failure_message"`
	Attempts       int          `json:"attempts"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
}

// MaxReasonLen is the longest refund reason, in code points.
const MaxReasonLen = 500

// EventType names an entry of a payment's timeline.
type EventType string

// Event types (SPEC §2). PaymentRetried records a dead letter re-driven by
// hand.
const (
	EventPaymentCreated       EventType = "payment.created"
	EventPaymentProcessing    EventType = "payment.processing"
	EventPaymentAttemptFailed EventType = "payment.attempt_failed"
	EventPaymentSucceeded     EventType = "payment.succeeded"
	EventPaymentFailed        EventType = "payment.failed"
	EventPaymentCanceled      EventType = "payment.canceled"
	EventPaymentRetried       EventType = "payment.retried"
	EventRefundCreated        EventType = "refund.created"
	EventRefundSucceeded      EventType = "refund.succeeded"
	EventRefundFailed         EventType = "refund.failed"
)

// PaymentEvent is one append-only entry of a payment's timeline, written
// in the same transaction as the change it records. Data holds the
// details: attempt number, codes, messages, provider reference, refund id
// and amount.
type PaymentEvent struct {
	ID        int64           `json:"id"`
	PaymentID string          `json:"payment_id"`
	Type      EventType       `json:"type"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

// EventData is the content of PaymentEvent.Data; every field is optional.
type EventData struct {
	Attempt           int    `json:"attempt,omitempty"`
	Code              string `json:"code,omitempty"`
	Message           string `json:"message,omitempty"`
	ProviderReference string `json:"provider_reference,omitempty"`
	RefundID          string `json:"refund_id,omitempty"`
	Amount            int64  `json:"amount,omitempty"`
	UserID            string `json:"user_id,omitempty"`
}
