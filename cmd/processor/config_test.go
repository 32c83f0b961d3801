package main

import (
	"strings"
	"testing"

	"github.com/wildcat-payments/wildcat/internal/config"
)

func TestConfig(t *testing.T) {
	load := func(vars map[string]string) (Config, error) {
		var c Config
		err := config.Load(&c, func(k string) string { return vars[k] })
		return c, err
	}
	t.Run("Defaults", func(t *testing.T) {
		c, err := load(nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Addr != "127.0.0.1:8084" || c.ProviderURL != "http://127.0.0.1:8090" || c.RetryPolicy().Validate() != nil {
			t.Errorf("defaults %+v", c)
		}
	})
	t.Run("Routes", func(t *testing.T) {
		c, err := load(map[string]string{"PROVIDER_ROUTES": "JPY=http://127.0.0.1:9001, SEK=https://acq.example"})
		if err != nil {
			t.Fatal(err)
		}
		if r := c.Routes(); len(r) != 2 || r["JPY"] != "http://127.0.0.1:9001" || r["SEK"] != "https://acq.example" {
			t.Errorf("routes %v", r)
		}
	})
	t.Run("EveryBadValueReported", func(t *testing.T) {
		_, err := load(map[string]string{
			"RETRY_STRATEGY": "fibonacci", "PROVIDER_URL": "ftp://x", "PROVIDER_ROUTES": "yen=http://x",
			"PROCESSOR_JOB_TIMEOUT": "1s", "PROVIDER_TIMEOUT": "2s", "PROCESSOR_PAYMENT_WORKERS": "0",
		})
		if err == nil {
			t.Fatal("accepted")
		}
		for _, want := range []string{"RETRY_", "PROVIDER_URL", "PROVIDER_ROUTES", "PROCESSOR_JOB_TIMEOUT", "PROCESSOR_PAYMENT_WORKERS"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
		}
	})
}
