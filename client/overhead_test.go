package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wildcat-payments/wildcat/client"
)

// BenchmarkCreatePayment measures what the client costs per create next to
// a hand-written request of the same payment (pre-encoded JSON, as
// cmd/bench sent before it used the client), against a local server that
// answers at once: the difference is the client's own overhead (encoding,
// the generated request builder and response parser, the transport).
//
//	go test ./client -run '^$' -bench CreatePayment -benchmem
func BenchmarkCreatePayment(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Consistency-Token", "c1.0000000000000010")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, paymentJSON)
	}))
	defer srv.Close()
	hc := srv.Client()
	ctx := context.Background()
	p := newPayment
	p.Description = client.Ptr("invoice 1234")

	b.Run("Raw", func(b *testing.B) {
		body, _ := json.Marshal(p)
		for b.Loop() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/payments", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer wc_x")
			req.Header.Set("Idempotency-Key", "0190c0de-0000-7000-8000-000000000001")
			res, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	})
	b.Run("Client", func(b *testing.B) {
		c, err := client.New(client.Options{CommandURL: srv.URL, APIKey: "wc_x", HTTPClient: hc, Retry: client.NoRetry})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := c.CreatePayment(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
