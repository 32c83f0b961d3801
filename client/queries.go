package client

import (
	"context"
	"net/http"
)

// The query API's reads carry the client's newest consistency token until
// one of them has seen it (read-your-writes): a payment the client just
// created is in the next search.

// SearchPayments returns one page of the payments matching p (nil: all the
// caller may see, newest first). Walk pages with p.Cursor = page.NextCursor.
func (c *Client) SearchPayments(ctx context.Context, p *SearchParams) (*PaymentPage, error) {
	if p == nil {
		p = &SearchParams{}
	}
	res, err := c.qry.SearchPaymentsWithResponse(ctx, p)
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusOK, res.JSON200)
}

// GetPayment returns one payment from the read model (404 *Error if it is
// not visible to the caller).
func (c *Client) GetPayment(ctx context.Context, id string) (*PaymentView, error) {
	res, err := c.qry.GetPaymentWithResponse(ctx, id, nil)
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusOK, res.JSON200)
}

// PaymentEvents returns a payment's timeline, oldest first.
func (c *Client) PaymentEvents(ctx context.Context, id string) ([]PaymentEvent, error) {
	res, err := c.qry.ListPaymentEventsWithResponse(ctx, id, nil)
	if err != nil {
		return nil, err
	}
	out, err := expect(res.HTTPResponse, res.Body, http.StatusOK, res.JSON200)
	if err != nil {
		return nil, err
	}
	return out.Data, nil
}

// Summarize returns counts, sums per currency and a histogram of the
// payments matching p (nil: all).
func (c *Client) Summarize(ctx context.Context, p *SummaryParams) (*Summary, error) {
	if p == nil {
		p = &SummaryParams{}
	}
	res, err := c.qry.SummarizePaymentsWithResponse(ctx, p)
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusOK, res.JSON200)
}

// ListCustomers returns the customers the caller may see, with their
// linked users.
func (c *Client) ListCustomers(ctx context.Context) ([]CustomerView, error) {
	res, err := c.qry.ListCustomersWithResponse(ctx, nil)
	if err != nil {
		return nil, err
	}
	out, err := expect(res.HTTPResponse, res.Body, http.StatusOK, res.JSON200)
	if err != nil {
		return nil, err
	}
	return out.Data, nil
}
