package command_test

import (
	"slices"
	"testing"

	"github.com/wildcat-payments/wildcat/client/webhook"
	"github.com/wildcat-payments/wildcat/internal/command"
)

// TestWebhookEventTypesMatchTheReceiverPackage keeps the event names that
// receivers compare with (client/webhook) equal to the ones endpoints
// subscribe to.
func TestWebhookEventTypesMatchTheReceiverPackage(t *testing.T) {
	public := []string{
		webhook.EventPaymentCreated, webhook.EventPaymentProcessing, webhook.EventPaymentAttemptFailed,
		webhook.EventPaymentSucceeded, webhook.EventPaymentFailed, webhook.EventPaymentCanceled, webhook.EventPaymentRetried,
		webhook.EventRefundCreated, webhook.EventRefundSucceeded, webhook.EventRefundFailed,
	}
	if !slices.Equal(public, command.WebhookEventTypes) {
		t.Fatalf("client/webhook %v, command %v", public, command.WebhookEventTypes)
	}
}
