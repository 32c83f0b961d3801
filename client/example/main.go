// Command example is a complete ingestion client of Wildcat built on
// package client: it signs up (or logs in) a user, creates a customer and
// an API key for it, creates payments with the key, and reads them back
// from the query API with read-your-writes. Against the local stack:
//
//	source .run/stack.env
//	go run ./client/example
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/wildcat-payments/wildcat/client"
)

func main() {
	if err := run(context.Background(), env("COMMAND_API", "http://127.0.0.1:8081"), env("QUERY_API", "http://127.0.0.1:8082")); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// run is the walk-through.
//
// long: one story told top to bottom, as docs/client.md points readers to it.
func run(ctx context.Context, commandURL, queryURL string) error {
	// 1. A person signs up and logs in; Login renews the access token.
	email, password := "example-"+randHex(4)+"@example.com", "example-password-"+randHex(8)
	anon, err := client.New(client.Options{CommandURL: commandURL})
	if err != nil {
		return err
	}
	if _, err := anon.SignUp(ctx, client.SignUp{Email: email, Password: password, Name: "Example"}); err != nil {
		return fmt.Errorf("sign up: %w", err)
	}
	user, err := client.New(client.Options{CommandURL: commandURL, QueryURL: queryURL, TokenSource: client.Login(email, password)})
	if err != nil {
		return err
	}
	shop, err := user.CreateCustomer(ctx, client.NewCustomer{Name: "Corner Shop"})
	if err != nil {
		return fmt.Errorf("create customer: %w", err)
	}

	// 2. They give their ingestion service an API key (shown once).
	key, err := user.CreateAPIKey(ctx, shop.Id, "ingestion", client.ScopePaymentsWrite, client.ScopePaymentsRead)
	if err != nil {
		return fmt.Errorf("create API key: %w", err)
	}
	fmt.Printf("API key %s… for %s\n", key.Prefix, shop.Name)

	// 3. The service ingests with the key. Each create carries an
	// Idempotency-Key, kept across the client's retries; an order id makes
	// it safe across restarts of the service too.
	svc, err := client.New(client.Options{CommandURL: commandURL, QueryURL: queryURL, APIKey: key.Secret})
	if err != nil {
		return err
	}
	p, err := svc.CreatePayment(ctx, client.NewPayment{CustomerId: shop.Id, Amount: 1250, Currency: "DKK",
		ThirdParty: "ACME A/S", Description: client.Ptr("Invoice 4711")}, client.WithIdempotencyKey("order-4711-"+randHex(4)))
	if err != nil {
		return fmt.Errorf("create payment: %w", err)
	}
	fmt.Printf("payment %s: %d %s, %s, executed by %s %q\n", p.Id, p.Amount, p.Currency, p.Status, p.ExecutedBy.Type, p.ExecutedBy.Name)
	batch := make([]client.NewPayment, 3)
	for i := range batch {
		batch[i] = client.NewPayment{CustomerId: shop.Id, Amount: int64(100 * (i + 1)), Currency: "EUR", ThirdParty: "Nordic Freight"}
	}
	if _, err := svc.CreatePayments(ctx, batch); err != nil {
		return fmt.Errorf("create batch: %w", err)
	}

	// A refusal is a *client.Error with the problem's code and fields.
	_, err = svc.CreatePayment(ctx, client.NewPayment{CustomerId: shop.Id, Amount: 0, Currency: "dkk", ThirdParty: "x"})
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Printf("refused as expected: %d %s, %d field error(s)\n", apiErr.Status, apiErr.Code, len(apiErr.Fields))
	}

	// 4. Read-your-writes: this search waits until the writes above are
	// searchable, because the client passes its newest consistency token.
	page, err := svc.SearchPayments(ctx, &client.SearchParams{CustomerId: &[]string{shop.Id}})
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	fmt.Printf("the query API has %d payments of %s\n", page.Total, shop.Name)
	sum, err := svc.Summarize(ctx, &client.SummaryParams{From: client.Ptr(time.Now().Add(-time.Hour))})
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	fmt.Printf("summary: %d payments, sums %v\n", sum.Count, sum.SumByCurrency)
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
