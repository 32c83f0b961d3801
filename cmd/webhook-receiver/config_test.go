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
		{name: "LoopbackV6", env: map[string]string{"RECEIVER_ADDR": "[::1]:0"}},
		{name: "Localhost", env: map[string]string{"RECEIVER_ADDR": "localhost:9000"}},
		{name: "Secrets", env: map[string]string{"RECEIVER_SECRETS": "whsec_a,whsec_b"}},
		{name: "Behaviour", env: map[string]string{"RECEIVER_FAIL_FIRST": "2", "RECEIVER_DROP_FIRST": "1", "RECEIVER_FAIL_STATUS": "503", "RECEIVER_DELAY": "20ms"}},
		{name: "EveryInterfaceRefused", env: map[string]string{"RECEIVER_ADDR": "0.0.0.0:8095"}, wantErr: []string{"RECEIVER_ADDR"}},
		{name: "PublicAddressRefused", env: map[string]string{"RECEIVER_ADDR": "192.0.2.1:8095"}, wantErr: []string{"RECEIVER_ADDR"}},
		{name: "RemoteAllowedExplicitly", env: map[string]string{"RECEIVER_ADDR": "0.0.0.0:8095", "RECEIVER_ALLOW_REMOTE": "true"}},
		{name: "SuccessIsNotAFailureStatus", env: map[string]string{"RECEIVER_FAIL_STATUS": "200"}, wantErr: []string{"RECEIVER_FAIL_STATUS", "300..599"}},
		{name: "EveryProblemAtOnce", env: map[string]string{
			"RECEIVER_ADDR": "nonsense", "RECEIVER_SECRETS": "a,,b", "RECEIVER_TOLERANCE": "-1s", "RECEIVER_FAIL_FIRST": "-1",
			"RECEIVER_MAX_RECORDS": "-5", "RECEIVER_DELAY": "soon",
		}, wantErr: []string{"RECEIVER_ADDR", "RECEIVER_SECRETS", "RECEIVER_TOLERANCE", "must not be negative", "RECEIVER_MAX_RECORDS", "RECEIVER_DELAY"}},
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

// TestRunServesAndStops: run listens where RECEIVER_ADDR says, answers
// /healthz, and returns nil when its context ends.
func TestRunServesAndStops(t *testing.T) {
	url := testenv.MustServe(t, 10*time.Second, func(ctx context.Context, ready func(string)) error {
		return run(ctx, nil, func(k string) string { return map[string]string{"RECEIVER_ADDR": "127.0.0.1:0"}[k] }, io.Discard, ready)
	})
	for _, path := range []string{"/healthz", "/_admin/received", "/_admin/behaviour"} {
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
