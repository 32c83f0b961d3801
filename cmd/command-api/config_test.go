package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/wildcat-payments/wildcat/internal/config"
)

func TestConfigReportsEveryProblem(t *testing.T) {
	env := map[string]string{
		"DB_MAX_CONNS":      "0",
		"IDEMPOTENCY_TTL":   "1h",
		"TOKEN_TTL":         "forever",
		"LOGIN_EMAIL_LIMIT": "-1",
		"TRUSTED_PROXIES":   "not-an-ip",
	}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard, nil)
	if err == nil {
		t.Fatal("run accepted an invalid configuration")
	}
	for _, name := range []string{"DB_MAX_CONNS", "IDEMPOTENCY_TTL", "TOKEN_TTL", "LOGIN_EMAIL_LIMIT", "TRUSTED_PROXIES"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestConfigDefaultsAreValid(t *testing.T) {
	var cfg Config
	if err := config.Load(&cfg, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if cfg.IdempotencyTTL.Hours() != 24 || cfg.DBMaxConns != 16 || cfg.TokenTTL.Minutes() != 15 {
		t.Errorf("defaults %+v", cfg)
	}
}
