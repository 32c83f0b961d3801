package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The event types an endpoint can subscribe to.
const (
	EventPaymentCreated       = "payment.created"
	EventPaymentProcessing    = "payment.processing"
	EventPaymentAttemptFailed = "payment.attempt_failed"
	EventPaymentSucceeded     = "payment.succeeded"
	EventPaymentFailed        = "payment.failed"
	EventPaymentCanceled      = "payment.canceled"
	EventPaymentRetried       = "payment.retried"
	EventRefundCreated        = "refund.created"
	EventRefundSucceeded      = "refund.succeeded"
	EventRefundFailed         = "refund.failed"
)

// Event is the body of a delivery.
type Event struct {
	// ID identifies the event: the same on every retry and redelivery,
	// and for every endpoint that receives it.
	ID string `json:"id"`
	// Type is one of the Event* constants.
	Type string `json:"type"`
	// CreatedAt is when the event happened (not when it was delivered).
	CreatedAt time.Time `json:"created_at"`
	Data      EventData `json:"data"`
}

// EventData is what the event is about.
type EventData struct {
	// Object is the payment as the API shows it, after the event.
	Object json.RawMessage `json:"object"`
	// Details is what the event adds (a refund's amount, a failure's
	// code…); absent for some types.
	Details json.RawMessage `json:"details,omitempty"`
}

// ParseEvent verifies body against header (see Verify) with the current
// time and decodes it. The error is one of Verify's, or a decoding error.
func ParseEvent(secret, header string, body []byte, tolerance time.Duration) (Event, error) {
	if err := Verify(secret, header, body, tolerance, time.Now()); err != nil {
		return Event{}, err
	}
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return Event{}, fmt.Errorf("webhook: decode event: %w", err)
	}
	return e, nil
}

// DefaultMaxBodyBytes is the largest body a Handler reads when its
// MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 1 << 20

// Handler is an http.Handler for a webhook endpoint. It reads the body,
// verifies it with any of Secrets (several during a rotation) and passes
// the event to Receive. It answers 405 to anything but POST, 413 to a body
// over MaxBodyBytes, 400 to a signature that does not verify or a body
// that is not an event, 500 when Receive returns an error (Wildcat then
// retries the delivery later), and 204 otherwise. Receive should be quick
// and idempotent: Wildcat waits at most 10 s for the answer, and may
// deliver an event again. A Handler is safe for concurrent use if Receive
// is.
type Handler struct {
	Secrets      []string
	Tolerance    time.Duration // zero: DefaultTolerance
	MaxBodyBytes int64         // zero: DefaultMaxBodyBytes
	Receive      func(ctx context.Context, e Event) error
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	e, err := h.parse(r.Header.Get(SignatureHeader), body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := h.Receive(r.Context(), e); err != nil {
		http.Error(w, "not processed", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// parse tries each secret. When none verifies, the most telling error
// wins: a signature that matched but is too old says more than the other
// secrets' mismatches.
func (h *Handler) parse(header string, body []byte) (Event, error) {
	err := ErrBadSignature
	for _, s := range h.Secrets {
		e, perr := ParseEvent(s, header, body, h.Tolerance)
		if perr == nil {
			return e, nil
		}
		if !errors.Is(perr, ErrBadSignature) {
			err = perr
		}
	}
	return Event{}, err
}
