package client_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/wildcat-payments/wildcat/client"
)

// An ingestion client with an API key: create a payment (with an automatic
// Idempotency-Key, retried on failures that allow it), then find it in the
// query API, which waits for the write to be searchable (read-your-writes).
func Example() {
	c, err := client.New(client.Options{
		CommandURL: "http://127.0.0.1:8081",
		QueryURL:   "http://127.0.0.1:8082",
		APIKey:     os.Getenv("WILDCAT_API_KEY"), // wc_…
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	p, err := c.CreatePayment(ctx, client.NewPayment{
		CustomerId:  os.Getenv("WILDCAT_CUSTOMER_ID"),
		Amount:      1250, // DKK 12.50, in minor units
		Currency:    "DKK",
		ThirdParty:  "ACME A/S",
		Description: client.Ptr("Invoice 4711"),
	})
	if err != nil {
		log.Fatal(err) // a *client.Error for an API's refusal: client.ErrorCode(err) == "invalid", …
	}
	page, err := c.SearchPayments(ctx, &client.SearchParams{PaymentRefId: &p.PaymentRefId})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.Data[0].Id == p.Id, page.Data[0].Status)
}

// A user logs in with email and password; the client renews the access
// token before it expires.
func ExampleLogin() {
	c, err := client.New(client.Options{
		CommandURL:  "http://127.0.0.1:8081",
		TokenSource: client.Login("alice@example.com", os.Getenv("WILDCAT_PASSWORD")),
	})
	if err != nil {
		log.Fatal(err)
	}
	key, err := c.CreateAPIKey(context.Background(), os.Getenv("WILDCAT_CUSTOMER_ID"), "ingestion", client.ScopePaymentsWrite, client.ScopePaymentsRead)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("store this secret now, it is shown once:", key.Secret)
}
