package client

import (
	"context"
	"net/http"

	"github.com/wildcat-payments/wildcat/client/commandapi"
)

// CallOption adjusts one call.
type CallOption func(*callOptions)

type callOptions struct {
	idempotencyKey string
}

// WithIdempotencyKey sends key as the Idempotency-Key of a create instead
// of a generated one. Use a key derived from your own record (an order id)
// to make a create safe to repeat across process restarts, not only across
// the client's own retries.
func WithIdempotencyKey(key string) CallOption {
	return func(o *callOptions) { o.idempotencyKey = key }
}

func idempotencyKey(opts []CallOption) *string {
	var o callOptions
	for _, f := range opts {
		f(&o)
	}
	if o.idempotencyKey == "" {
		return nil // the transport generates one
	}
	return &o.idempotencyKey
}

// expect returns v when the response has status want, and the response's
// *Error otherwise.
func expect[T any](hr *http.Response, body []byte, want int, v *T) (*T, error) {
	if hr.StatusCode != want || v == nil {
		return nil, newError(hr, body)
	}
	return v, nil
}

// expectNoContent returns nil for a 204 and the response's *Error
// otherwise.
func expectNoContent(hr *http.Response, body []byte) error {
	if hr.StatusCode != http.StatusNoContent {
		return newError(hr, body)
	}
	return nil
}

// SignUp creates a user (POST /v1/users); no credentials needed.
func (c *Client) SignUp(ctx context.Context, u SignUp) (*User, error) {
	res, err := c.cmd.SignUpWithResponse(ctx, u)
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusCreated, res.JSON201)
}

// Me returns the calling user (a user token only).
func (c *Client) Me(ctx context.Context) (*User, error) {
	res, err := c.cmd.MeWithResponse(ctx)
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusOK, res.JSON200)
}

// CreateCustomer creates a customer linked to the calling user.
func (c *Client) CreateCustomer(ctx context.Context, nc NewCustomer) (*Customer, error) {
	res, err := c.cmd.CreateCustomerWithResponse(ctx, nc)
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusCreated, res.JSON201)
}

// CreatePayment creates a payment (POST /v1/payments) with an
// Idempotency-Key, so that retrying it (the client does, on failures that
// allow it) never creates a second payment.
func (c *Client) CreatePayment(ctx context.Context, p NewPayment, opts ...CallOption) (*Payment, error) {
	res, err := c.cmd.CreatePaymentWithResponse(ctx, &commandapi.CreatePaymentParams{IdempotencyKey: idempotencyKey(opts)}, p)
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusCreated, res.JSON201)
}

// CreatePayments creates up to 1,000 payments atomically (POST
// /v1/payments/batch) with an Idempotency-Key, and returns them in request
// order. One invalid item fails the whole batch with an *Error whose
// Fields name every bad item.
func (c *Client) CreatePayments(ctx context.Context, ps []NewPayment, opts ...CallOption) ([]Payment, error) {
	res, err := c.cmd.CreatePaymentsWithResponse(ctx, &commandapi.CreatePaymentsParams{IdempotencyKey: idempotencyKey(opts)},
		commandapi.CreatePaymentsJSONRequestBody{Payments: ps})
	if err != nil {
		return nil, err
	}
	out, err := expect(res.HTTPResponse, res.Body, http.StatusCreated, res.JSON201)
	if err != nil {
		return nil, err
	}
	return out.Payments, nil
}

// CancelPayment cancels a pending payment (409 not_cancelable once
// processing started).
func (c *Client) CancelPayment(ctx context.Context, id string) (*Payment, error) {
	res, err := c.cmd.CancelPaymentWithResponse(ctx, id)
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusOK, res.JSON200)
}

// RetryPayment re-drives a dead letter.
func (c *Client) RetryPayment(ctx context.Context, id string) (*Payment, error) {
	res, err := c.cmd.RetryPaymentWithResponse(ctx, id)
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusOK, res.JSON200)
}

// CreateRefund refunds a succeeded payment, in whole (a zero NewRefund) or
// in part, with an Idempotency-Key.
func (c *Client) CreateRefund(ctx context.Context, paymentID string, r NewRefund, opts ...CallOption) (*Refund, error) {
	res, err := c.cmd.CreateRefundWithResponse(ctx, paymentID, &commandapi.CreateRefundParams{IdempotencyKey: idempotencyKey(opts)}, r)
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusCreated, res.JSON201)
}
