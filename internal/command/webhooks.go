package command

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// WebhookEventTypes are the events an endpoint may ask for: every type of
// the payment timeline, and payment.created.
var WebhookEventTypes = []string{
	string(domain.EventPaymentCreated), string(domain.EventPaymentProcessing), string(domain.EventPaymentAttemptFailed),
	string(domain.EventPaymentSucceeded), string(domain.EventPaymentFailed), string(domain.EventPaymentCanceled),
	string(domain.EventPaymentRetried), string(domain.EventRefundCreated), string(domain.EventRefundSucceeded),
	string(domain.EventRefundFailed),
}

const (
	webhookSecretPrefix    = "whsec_"
	webhookURLMax          = 2048
	webhookDescriptionMax  = 500
	defaultDeliveryPage    = 25
	maxDeliveryPage        = 100
	webhookSecretRandomLen = 43
)

// Errors of the webhook use cases.
var (
	ErrWebhookEndpointNotFound = &domain.Error{Code: domain.ENOTFOUND, Reason: ReasonWebhookEndpointNotFound,
		Message: "This customer has no webhook endpoint with this id."}
	ErrWebhookDeliveryNotFound = &domain.Error{Code: domain.ENOTFOUND, Reason: ReasonWebhookDeliveryNotFound,
		Message: "This webhook endpoint has no delivery with this id."}
)

// WebhookEndpoint is a customer's URL receiving events.
type WebhookEndpoint struct {
	ID                  string
	CustomerID          string
	URL                 string
	Description         string
	Events              []string
	Enabled             bool
	DisabledReason      *string
	ConsecutiveFailures int
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// NewWebhookEndpoint is an endpoint to store.
type NewWebhookEndpoint struct {
	URL         string
	Description string
	Events      []string
	Secret      string
}

// WebhookEndpointUpdate changes the fields that are not nil; Enabled true
// also clears the failure run and the reason it was disabled.
type WebhookEndpointUpdate struct {
	URL         *string
	Description *string
	Events      []string
	Enabled     *bool
}

// WebhookDelivery is one event sent (or to be sent) to one endpoint.
type WebhookDelivery struct {
	ID            string
	EndpointID    string
	EventID       string
	EventType     string
	PaymentID     *string
	Status        string
	Attempts      int
	NextAttemptAt *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	DeliveredAt   *time.Time
	Payload       json.RawMessage
	Responses     []WebhookAttempt
}

// WebhookAttempt is one POST of a delivery and what came back.
type WebhookAttempt struct {
	Attempt      int
	StartedAt    time.Time
	DurationMS   int
	StatusCode   *int
	Error        *string
	ResponseBody string
}

// WebhookStore keeps webhook endpoints and their deliveries. Methods taking
// userID answer ErrCustomerNotFound unless the user is linked to the
// customer, and ErrWebhookEndpointNotFound for an endpoint of another.
type WebhookStore interface {
	CreateWebhookEndpoint(ctx context.Context, userID, customerID string, e NewWebhookEndpoint) (WebhookEndpoint, Commit, error)
	WebhookEndpoints(ctx context.Context, userID, customerID string) ([]WebhookEndpoint, error)
	WebhookEndpoint(ctx context.Context, userID, customerID, endpointID string) (WebhookEndpoint, error)
	UpdateWebhookEndpoint(ctx context.Context, userID, customerID, endpointID string, u WebhookEndpointUpdate) (WebhookEndpoint, Commit, error)
	DeleteWebhookEndpoint(ctx context.Context, userID, customerID, endpointID string) (Commit, error)
	// WebhookDeliveries lists an endpoint's deliveries newest first, after
	// the cursor (the id of the last delivery of the previous page).
	WebhookDeliveries(ctx context.Context, userID, customerID, endpointID, after string, limit int) ([]WebhookDelivery, error)
	// Redeliver puts a delivery back on the queue (status pending).
	Redeliver(ctx context.Context, userID, customerID, endpointID, deliveryID string) (WebhookDelivery, Commit, error)
}

// WebhookEndpointInput is the body of an endpoint creation or update.
type WebhookEndpointInput struct {
	URL         *string  `json:"url"`
	Description *string  `json:"description"`
	Events      []string `json:"events"`
	Enabled     *bool    `json:"enabled"`
}

// CreatedWebhookEndpoint is a new endpoint with its signing secret, shown
// this once.
type CreatedWebhookEndpoint struct {
	WebhookEndpoint
	Secret string
}

// DeliveryPage is one page of an endpoint's deliveries.
type DeliveryPage struct {
	Data       []WebhookDelivery
	NextCursor *string
}

func (s *Integrations) checkURL(v *domain.Validation, raw string) {
	if len(raw) > webhookURLMax {
		v.Add("url", "must be at most %d characters", webhookURLMax)
		return
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		v.Add("url", "must be an absolute https:// URL")
		return
	}
	if s.opts.ValidateWebhookURL != nil {
		if err := s.opts.ValidateWebhookURL(raw, s.opts.AllowPrivateWebhooks); err != nil {
			v.Add("url", "%s", err.Error())
		}
	} else if u.Scheme != "https" && !s.opts.AllowPrivateWebhooks {
		v.Add("url", "must be an https:// URL")
	}
}

func checkEvents(v *domain.Validation, events []string) []string {
	if len(events) == 0 {
		v.Add("events", "must list at least one event type")
		return nil
	}
	var out []string
	for i, e := range events {
		switch {
		case !slices.Contains(WebhookEventTypes, e):
			v.Add(fmt.Sprintf("events[%d]", i), "must be one of %s", strings.Join(WebhookEventTypes, ", "))
		case slices.Contains(out, e):
			v.Add(fmt.Sprintf("events[%d]", i), "is listed twice")
		default:
			out = append(out, e)
		}
	}
	return out
}

// CreateWebhookEndpoint validates and stores an endpoint with a new signing
// secret.
func (s *Integrations) CreateWebhookEndpoint(ctx context.Context, userID, customerID string, in WebhookEndpointInput) (CreatedWebhookEndpoint, Commit, error) {
	if !domain.IsUUID(customerID) {
		return CreatedWebhookEndpoint{}, Commit{}, ErrCustomerNotFound
	}
	var v domain.Validation
	e := NewWebhookEndpoint{}
	if in.URL == nil {
		v.Add("url", "is required")
	} else {
		e.URL = strings.TrimSpace(*in.URL)
		s.checkURL(&v, e.URL)
	}
	if in.Description != nil {
		e.Description = *in.Description
		domain.ValidateMultilineText(&v, "description", e.Description, 0, webhookDescriptionMax)
	}
	e.Events = checkEvents(&v, in.Events)
	if in.Enabled != nil && !*in.Enabled {
		v.Add("enabled", "a new endpoint is enabled; disable it afterwards")
	}
	if err := v.Err(); err != nil {
		return CreatedWebhookEndpoint{}, Commit{}, err
	}
	secret, err := randomBase62(webhookSecretRandomLen)
	if err != nil {
		return CreatedWebhookEndpoint{}, Commit{}, err
	}
	e.Secret = webhookSecretPrefix + secret
	out, c, err := s.store.CreateWebhookEndpoint(ctx, userID, customerID, e)
	if err != nil {
		return CreatedWebhookEndpoint{}, Commit{}, err
	}
	return CreatedWebhookEndpoint{WebhookEndpoint: out, Secret: e.Secret}, c, nil
}

// WebhookEndpoints lists the customer's endpoints.
func (s *Integrations) WebhookEndpoints(ctx context.Context, userID, customerID string) ([]WebhookEndpoint, error) {
	if !domain.IsUUID(customerID) {
		return nil, ErrCustomerNotFound
	}
	return s.store.WebhookEndpoints(ctx, userID, customerID)
}

// WebhookEndpoint returns one endpoint.
func (s *Integrations) WebhookEndpoint(ctx context.Context, userID, customerID, endpointID string) (WebhookEndpoint, error) {
	if err := endpointIDs(customerID, endpointID); err != nil {
		return WebhookEndpoint{}, err
	}
	return s.store.WebhookEndpoint(ctx, userID, customerID, endpointID)
}

func endpointIDs(customerID, endpointID string) error {
	if !domain.IsUUID(customerID) {
		return ErrCustomerNotFound
	}
	if !domain.IsUUID(endpointID) {
		return ErrWebhookEndpointNotFound
	}
	return nil
}

// UpdateWebhookEndpoint changes an endpoint; enabling it re-enables a
// disabled endpoint.
func (s *Integrations) UpdateWebhookEndpoint(ctx context.Context, userID, customerID, endpointID string, in WebhookEndpointInput) (WebhookEndpoint, Commit, error) {
	if err := endpointIDs(customerID, endpointID); err != nil {
		return WebhookEndpoint{}, Commit{}, err
	}
	var v domain.Validation
	u := WebhookEndpointUpdate{Enabled: in.Enabled, Description: in.Description}
	if in.URL != nil {
		raw := strings.TrimSpace(*in.URL)
		s.checkURL(&v, raw)
		u.URL = &raw
	}
	if in.Description != nil {
		domain.ValidateMultilineText(&v, "description", *in.Description, 0, webhookDescriptionMax)
	}
	if in.Events != nil {
		u.Events = checkEvents(&v, in.Events)
	}
	if err := v.Err(); err != nil {
		return WebhookEndpoint{}, Commit{}, err
	}
	return s.store.UpdateWebhookEndpoint(ctx, userID, customerID, endpointID, u)
}

// DeleteWebhookEndpoint deletes an endpoint with its delivery log.
func (s *Integrations) DeleteWebhookEndpoint(ctx context.Context, userID, customerID, endpointID string) (Commit, error) {
	if err := endpointIDs(customerID, endpointID); err != nil {
		return Commit{}, err
	}
	return s.store.DeleteWebhookEndpoint(ctx, userID, customerID, endpointID)
}

// WebhookDeliveries returns one page of an endpoint's delivery log.
func (s *Integrations) WebhookDeliveries(ctx context.Context, userID, customerID, endpointID, cursor string, limit int) (DeliveryPage, error) {
	if err := endpointIDs(customerID, endpointID); err != nil {
		return DeliveryPage{}, err
	}
	var v domain.Validation
	if cursor != "" && !domain.IsUUID(cursor) {
		v.Add("cursor", "must be a next_cursor of an earlier page")
	}
	if limit == 0 {
		limit = defaultDeliveryPage
	}
	if limit < 1 || limit > maxDeliveryPage {
		v.Add("limit", "must be 1 to %d", maxDeliveryPage)
	}
	if err := v.Err(); err != nil {
		return DeliveryPage{}, err
	}
	ds, err := s.store.WebhookDeliveries(ctx, userID, customerID, endpointID, cursor, limit+1)
	if err != nil {
		return DeliveryPage{}, err
	}
	page := DeliveryPage{Data: ds}
	if len(ds) > limit {
		page.Data = ds[:limit]
		next := ds[limit-1].ID
		page.NextCursor = &next
	}
	return page, nil
}

// Redeliver sends a delivery again (with the same event id and body).
func (s *Integrations) Redeliver(ctx context.Context, userID, customerID, endpointID, deliveryID string) (WebhookDelivery, Commit, error) {
	if err := endpointIDs(customerID, endpointID); err != nil {
		return WebhookDelivery{}, Commit{}, err
	}
	if !domain.IsUUID(deliveryID) {
		return WebhookDelivery{}, Commit{}, ErrWebhookDeliveryNotFound
	}
	return s.store.Redeliver(ctx, userID, customerID, endpointID, deliveryID)
}
