package main

import (
	"strings"
	"testing"

	"github.com/wildcat-payments/wildcat/internal/config"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // substrings of the error; none means valid
	}{
		{name: "Defaults", env: map[string]string{}},
		{name: "Tuned", env: map[string]string{"PROJECTOR_BULK_DOCS": "500", "PROJECTOR_FLUSH_INTERVAL": "20ms", "PROJECTOR_REFRESH": "wait_for", "INDEX_PREFIX": "t1_"}},
		{
			name: "EveryProblemAtOnce",
			env: map[string]string{"REPLICATION_SLOT": "Bad-Slot", "INDEX_PREFIX": "UPPER", "PROJECTOR_REFRESH": "sometimes",
				"PROJECTOR_BULK_DOCS": "0", "PROJECTOR_STATUS_INTERVAL": "1m", "PROJECTOR_FLUSH_INTERVAL": "soon"},
			want: []string{"REPLICATION_SLOT", "INDEX_PREFIX", "PROJECTOR_REFRESH", "PROJECTOR_BULK_DOCS", "PROJECTOR_STATUS_INTERVAL", "PROJECTOR_FLUSH_INTERVAL"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cfg Config
			err := config.Load(&cfg, func(k string) string { return tc.env[k] })
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Load: %v, want valid", err)
				}
				if cfg.Slot != "wildcat_projector" || cfg.Publication != "wildcat_projection" {
					t.Errorf("defaults: slot %q publication %q", cfg.Slot, cfg.Publication)
				}
				return
			}
			if err == nil {
				t.Fatal("Load succeeded, want errors")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}
