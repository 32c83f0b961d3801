package client

import (
	"context"
	"net/http"

	"github.com/wildcat-payments/wildcat/client/commandapi"
)

// CreateAPIKey creates an API key for customerID (a user token only). The
// secret (CreatedAPIKey.Secret) is returned only here.
func (c *Client) CreateAPIKey(ctx context.Context, customerID, name string, scopes ...Scope) (*CreatedAPIKey, error) {
	res, err := c.cmd.CreateApiKeyWithResponse(ctx, customerID, commandapi.NewApiKey{Name: name, Scopes: scopes})
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusCreated, res.JSON201)
}

// ListAPIKeys lists customerID's API keys, newest first, revoked ones
// included.
func (c *Client) ListAPIKeys(ctx context.Context, customerID string) ([]APIKey, error) {
	res, err := c.cmd.ListApiKeysWithResponse(ctx, customerID)
	if err != nil {
		return nil, err
	}
	out, err := expect(res.HTTPResponse, res.Body, http.StatusOK, res.JSON200)
	if err != nil {
		return nil, err
	}
	return out.Data, nil
}

// RevokeAPIKey revokes an API key (idempotent).
func (c *Client) RevokeAPIKey(ctx context.Context, customerID, keyID string) error {
	res, err := c.cmd.RevokeApiKeyWithResponse(ctx, customerID, keyID)
	if err != nil {
		return err
	}
	return expectNoContent(res.HTTPResponse, res.Body)
}

// CreateWebhookEndpoint registers a webhook endpoint for customerID. The
// signing secret (CreatedWebhookEndpoint.Secret) is returned only here;
// verify deliveries with package client/webhook.
func (c *Client) CreateWebhookEndpoint(ctx context.Context, customerID string, e NewWebhookEndpoint) (*CreatedWebhookEndpoint, error) {
	res, err := c.cmd.CreateWebhookEndpointWithResponse(ctx, customerID, e)
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusCreated, res.JSON201)
}

// ListWebhookEndpoints lists customerID's webhook endpoints.
func (c *Client) ListWebhookEndpoints(ctx context.Context, customerID string) ([]WebhookEndpoint, error) {
	res, err := c.cmd.ListWebhookEndpointsWithResponse(ctx, customerID)
	if err != nil {
		return nil, err
	}
	out, err := expect(res.HTTPResponse, res.Body, http.StatusOK, res.JSON200)
	if err != nil {
		return nil, err
	}
	return out.Data, nil
}

// UpdateWebhookEndpoint changes an endpoint; nil fields of p stay as they
// are. Enabled: Ptr(true) re-enables a disabled endpoint.
func (c *Client) UpdateWebhookEndpoint(ctx context.Context, customerID, endpointID string, p WebhookEndpointPatch) (*WebhookEndpoint, error) {
	res, err := c.cmd.UpdateWebhookEndpointWithResponse(ctx, customerID, endpointID, p)
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusOK, res.JSON200)
}

// DeleteWebhookEndpoint deletes an endpoint and its deliveries.
func (c *Client) DeleteWebhookEndpoint(ctx context.Context, customerID, endpointID string) error {
	res, err := c.cmd.DeleteWebhookEndpointWithResponse(ctx, customerID, endpointID)
	if err != nil {
		return err
	}
	return expectNoContent(res.HTTPResponse, res.Body)
}

// ListWebhookDeliveries returns one page of an endpoint's deliveries,
// newest first; pass the page's NextCursor as cursor for the next ("" for
// the first page), limit 0 for the default (25).
func (c *Client) ListWebhookDeliveries(ctx context.Context, customerID, endpointID, cursor string, limit int) (*WebhookDeliveryPage, error) {
	params := &commandapi.ListWebhookDeliveriesParams{}
	if cursor != "" {
		params.Cursor = &cursor
	}
	if limit > 0 {
		params.Limit = Ptr(int64(limit))
	}
	res, err := c.cmd.ListWebhookDeliveriesWithResponse(ctx, customerID, endpointID, params)
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusOK, res.JSON200)
}

// Redeliver sends a delivery again now (same payload and event id).
func (c *Client) Redeliver(ctx context.Context, customerID, endpointID, deliveryID string) (*WebhookDelivery, error) {
	res, err := c.cmd.RedeliverWebhookWithResponse(ctx, customerID, endpointID, deliveryID)
	if err != nil {
		return nil, err
	}
	return expect(res.HTTPResponse, res.Body, http.StatusAccepted, res.JSON202)
}
