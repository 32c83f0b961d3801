package client

import (
	"github.com/wildcat-payments/wildcat/client/commandapi"
	"github.com/wildcat-payments/wildcat/client/queryapi"
)

// The wrapper's types are the generated ones, under shorter names. Types
// of the query API's read model carry "View" where the command API has a
// type of the same name (a PaymentView also has the customer's and the
// executing user's names).
type (
	SignUp                 = commandapi.SignUp
	User                   = commandapi.User
	NewCustomer            = commandapi.NewCustomer
	Customer               = commandapi.Customer
	NewPayment             = commandapi.NewPayment
	Payment                = commandapi.Payment
	PaymentStatus          = commandapi.PaymentStatus
	ExecutedBy             = commandapi.ExecutedBy
	NewRefund              = commandapi.NewRefund
	Refund                 = commandapi.Refund
	Scope                  = commandapi.Scope
	APIKey                 = commandapi.ApiKey
	CreatedAPIKey          = commandapi.CreatedApiKey
	NewWebhookEndpoint     = commandapi.NewWebhookEndpoint
	WebhookEndpoint        = commandapi.WebhookEndpoint
	CreatedWebhookEndpoint = commandapi.CreatedWebhookEndpoint
	WebhookEndpointPatch   = commandapi.WebhookEndpointPatch
	WebhookEventType       = commandapi.WebhookEventType
	WebhookDelivery        = commandapi.WebhookDelivery
	WebhookDeliveryPage    = commandapi.WebhookDeliveryPage

	PaymentView   = queryapi.Payment
	PaymentPage   = queryapi.PaymentPage
	SearchParams  = queryapi.SearchPaymentsParams
	SummaryParams = queryapi.SummarizePaymentsParams
	Summary       = queryapi.Summary
	PaymentEvent  = queryapi.PaymentEvent
	CustomerView  = queryapi.Customer
)

// API key scopes.
const (
	ScopePaymentsRead  = commandapi.PaymentsRead
	ScopePaymentsWrite = commandapi.PaymentsWrite
)

// Ptr returns a pointer to v, for the optional fields of requests:
// NewPayment{…, Description: client.Ptr("Invoice 4711")}.
func Ptr[T any](v T) *T { return &v }
