package processing

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Webhook deliveries (SPEC §10): the processor POSTs each outbox row to its
// endpoint, retrying with the webhook retry policy until it is delivered or
// too old, and disables an endpoint after a run of failed attempts.

// WebhookTarget is a delivery with what sending it needs.
type WebhookTarget struct {
	DeliveryID string
	Generation int
	EventID    string
	Status     string // pending, succeeded, failed
	Attempts   int
	CreatedAt  time.Time
	Payload    []byte
	URL        string
	Secret     string
	Enabled    bool
}

// WebhookResult is what one POST came back with.
type WebhookResult struct {
	StatusCode   int // 0 when there was no answer
	Duration     time.Duration
	ResponseBody string
	Err          error
}

// OK reports a 2xx answer.
func (r WebhookResult) OK() bool { return r.Err == nil && r.StatusCode >= 200 && r.StatusCode < 300 }

// WebhookAttempt records one attempt and its consequence.
type WebhookAttempt struct {
	DeliveryID   string
	Generation   int
	StartedAt    time.Time
	Result       WebhookResult
	Delivered    bool
	GiveUp       bool       // no more attempts: the delivery is failed
	NextAttempt  *time.Time // when the next attempt is due
	DisableAfter int        // consecutive failed attempts that disable the endpoint
}

// WebhookStore is what deliveries need from the write model.
type WebhookStore interface {
	// WebhookTarget returns the delivery; ErrNotFound if it is gone (its
	// endpoint was deleted).
	WebhookTarget(ctx context.Context, deliveryID string) (WebhookTarget, error)
	// RecordWebhookAttempt stores the attempt, the delivery's new state and
	// the endpoint's failure run, in one transaction, unless the delivery
	// moved to another generation (a redelivery) meanwhile. It reports
	// whether the endpoint got disabled by this attempt.
	RecordWebhookAttempt(ctx context.Context, a WebhookAttempt) (disabled bool, err error)
	// EndWebhookDelivery marks a pending delivery failed without an attempt
	// (its endpoint is disabled).
	EndWebhookDelivery(ctx context.Context, deliveryID string, generation int) error
}

// WebhookSender POSTs a signed event.
type WebhookSender interface {
	Send(ctx context.Context, url, secret, eventID string, body []byte) WebhookResult
}

// WebhookHooks observe deliveries for metrics; every field is optional.
type WebhookHooks struct {
	Attempt  func(r WebhookResult, latency time.Duration) // latency: event created → this attempt ended
	Disabled func()
	GaveUp   func()
}

// Webhooks delivers webhook events.
type Webhooks struct {
	store        WebhookStore
	sender       WebhookSender
	policy       RetryPolicy
	disableAfter int
	hooks        WebhookHooks
	now          func() time.Time
}

// NewWebhooks returns the delivery use case. policy.MaxAge bounds how long
// a delivery is retried (3 days by default); disableAfter consecutive failed
// attempts of an endpoint disable it.
func NewWebhooks(store WebhookStore, sender WebhookSender, policy RetryPolicy, disableAfter int, hooks WebhookHooks) *Webhooks {
	return &Webhooks{store: store, sender: sender, policy: policy, disableAfter: disableAfter, hooks: hooks, now: time.Now}
}

// Deliver makes one attempt of the delivery's generation. A failed attempt
// that is to be retried returns *RetryLater; a delivery that is done (sent,
// given up, superseded by a redelivery, or gone) returns nil.
func (w *Webhooks) Deliver(ctx context.Context, deliveryID string, generation int) error {
	t, err := w.store.WebhookTarget(ctx, deliveryID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if t.Generation != generation || t.Status != "pending" {
		return nil
	}
	if !t.Enabled {
		return w.store.EndWebhookDelivery(ctx, deliveryID, generation)
	}
	start := w.now()
	res := w.sender.Send(ctx, t.URL, t.Secret, t.EventID, t.Payload)
	end := w.now()
	if w.hooks.Attempt != nil {
		w.hooks.Attempt(res, end.Sub(t.CreatedAt))
	}
	a := WebhookAttempt{DeliveryID: deliveryID, Generation: generation, StartedAt: start, Result: res,
		Delivered: res.OK(), DisableAfter: w.disableAfter}
	var delay time.Duration
	if !a.Delivered {
		attempt := t.Attempts + 1
		if w.policy.MaxAge > 0 && end.Sub(t.CreatedAt) >= w.policy.MaxAge {
			a.GiveUp = true
		} else {
			delay = w.policy.Delay(attempt)
			next := end.Add(delay)
			a.NextAttempt = &next
		}
	}
	disabled, err := w.store.RecordWebhookAttempt(ctx, a)
	if err != nil {
		return fmt.Errorf("processing: record webhook attempt: %w", err)
	}
	if disabled && w.hooks.Disabled != nil {
		w.hooks.Disabled()
	}
	if a.GiveUp && w.hooks.GaveUp != nil {
		w.hooks.GaveUp()
	}
	if a.Delivered || a.GiveUp || disabled {
		return nil
	}
	return &RetryLater{Delay: delay, Cause: Outcome{Attempt: t.Attempts + 1, Code: "webhook_failed", Message: describe(res)}}
}

func describe(r WebhookResult) string {
	if r.Err != nil {
		return r.Err.Error()
	}
	return fmt.Sprintf("HTTP %d", r.StatusCode)
}
