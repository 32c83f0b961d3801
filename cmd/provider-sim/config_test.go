package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/config"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr []string // every one must be mentioned; none: valid
	}{
		{name: "Defaults"},
		{name: "LoopbackV6", env: map[string]string{"SIM_ADDR": "[::1]:0"}},
		{name: "Localhost", env: map[string]string{"SIM_ADDR": "localhost:9000"}},
		{name: "EveryInterfaceRefused", env: map[string]string{"SIM_ADDR": "0.0.0.0:8090"}, wantErr: []string{"SIM_ADDR"}},
		{name: "EmptyHostRefused", env: map[string]string{"SIM_ADDR": ":8090"}, wantErr: []string{"SIM_ADDR"}},
		{name: "PublicAddressRefused", env: map[string]string{"SIM_ADDR": "192.0.2.1:8090"}, wantErr: []string{"SIM_ADDR"}},
		{name: "RemoteAllowedExplicitly", env: map[string]string{"SIM_ADDR": "0.0.0.0:8090", "SIM_ALLOW_REMOTE": "true"}},
		{name: "EveryProblemAtOnce", env: map[string]string{
			"SIM_ADDR": "nonsense", "SIM_TRANSIENT_RATE": "1.5", "SIM_UNKNOWN_RATE": "-0.1", "SIM_SEED": "abc",
			"SIM_DECLINE_CODES": " , ", "SIM_LATENCY": "soon",
		}, wantErr: []string{"SIM_ADDR", "SIM_TRANSIENT_RATE must be 0..1", "SIM_UNKNOWN_RATE must be 0..1", "SIM_SEED", "SIM_DECLINE_CODES", "SIM_LATENCY"}},
		{name: "RatesOverOne", env: map[string]string{"SIM_TRANSIENT_RATE": "0.5", "SIM_UNKNOWN_RATE": "0.3", "SIM_DECLINE_RATE": "0.3"},
			wantErr: []string{"at most 1"}},
		{name: "NotProcessedIsReserved", env: map[string]string{"SIM_DECLINE_CODES": "do_not_honor,not_processed"}, wantErr: []string{"reserved"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg Config
			err := config.Load(&cfg, func(k string) string { return tc.env[k] })
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("got %v, want a valid config", err)
				}
				return
			}
			if err == nil {
				t.Fatal("got no error, want one")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestRunServesAndStops: run listens where SIM_ADDR says, answers
// /readyz, and returns nil when its context ends.
func TestRunServesAndStops(t *testing.T) {
	url := testenv.MustServe(t, 10*time.Second, func(ctx context.Context, ready func(string)) error {
		return run(ctx, nil, func(k string) string { return map[string]string{"SIM_ADDR": "127.0.0.1:0"}[k] }, io.Discard, ready)
	})
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/v1/ledger"} {
		res, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: got %d, want 200", path, res.StatusCode)
		}
	}
	if err := run(context.Background(), []string{"serve"}, func(string) string { return "" }, io.Discard, nil); err == nil {
		t.Error("run with arguments: got no error, want one")
	}
}
