package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/client/webhook"
)

// A receiver that checks each delivery itself: read the raw body, verify
// it, then decode it. Answer 2xx only once the event is safely handled;
// anything else makes Wildcat retry.
func ExampleVerify() {
	secret := "whsec_…" // the endpoint's secret, from your configuration
	mux := http.NewServeMux()
	mux.HandleFunc("POST /wildcat", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		err = webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), body, 5*time.Minute, time.Now())
		switch {
		case errors.Is(err, webhook.ErrTooOld):
			http.Error(w, "replayed or delayed", http.StatusBadRequest)
			return
		case err != nil:
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		var e webhook.Event
		if err := json.Unmarshal(body, &e); err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		// Deliveries can repeat: deduplicate on e.ID before acting.
		fmt.Println("received", e.Type, e.ID)
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// What Wildcat sends, for the example's sake.
	body := `{"id":"evt_1","type":"payment.succeeded","created_at":"2026-01-02T03:04:05Z","data":{"object":{"id":"pay_1"}}}`
	for _, header := range []string{webhook.Sign(secret, time.Now(), []byte(body)), webhook.Sign("wrong", time.Now(), []byte(body))} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/wildcat", strings.NewReader(body))
		req.Header.Set(webhook.SignatureHeader, header)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		res.Body.Close()
		fmt.Println(res.StatusCode)
	}
	// Output:
	// received payment.succeeded evt_1
	// 204
	// 400
}

// The same receiver with Handler, which verifies and decodes for you.
func ExampleHandler() {
	h := &webhook.Handler{
		Secrets: []string{"whsec_…"},
		Receive: func(_ context.Context, e webhook.Event) error {
			fmt.Println("received", e.Type, e.ID)
			return nil
		},
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	body := `{"id":"evt_2","type":"refund.created","created_at":"2026-01-02T03:04:05Z","data":{"object":{},"details":{}}}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
	req.Header.Set(webhook.SignatureHeader, webhook.Sign("whsec_…", time.Now(), []byte(body)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	res.Body.Close()
	fmt.Println(res.StatusCode)
	// Output:
	// received refund.created evt_2
	// 204
}
