package main

import (
	"strings"
	"testing"

	"github.com/wildcat-payments/wildcat/internal/projection"

	"github.com/wildcat-payments/wildcat/internal/config"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // substrings of the error; none means valid
	}{
		{name: "Defaults", env: map[string]string{}},
		{name: "Tuned", env: map[string]string{"PROJECTOR_BULK_DOCS": "500", "PROJECTOR_FLUSH_INTERVAL": "20ms", "PROJECTOR_REFRESH": "wait_for", "INDEX_PREFIX": "t1_",
			"PROJECTOR_QUEUE_CHANGES": "5000", "PROJECTOR_MEMORY_LIMIT": "256MiB"}},
		{name: "NoMemoryLimit", env: map[string]string{"PROJECTOR_MEMORY_LIMIT": "0"}},
		{name: "MemoryLimitTooSmall", env: map[string]string{"PROJECTOR_MEMORY_LIMIT": "1MiB"}, want: []string{"PROJECTOR_MEMORY_LIMIT"}},
		{name: "MemoryLimitNotASize", env: map[string]string{"PROJECTOR_MEMORY_LIMIT": "lots"}, want: []string{"PROJECTOR_MEMORY_LIMIT"}},
		{name: "QueueChangesZero", env: map[string]string{"PROJECTOR_QUEUE_CHANGES": "0"}, want: []string{"PROJECTOR_QUEUE_CHANGES"}},
		{name: "CompactAfterNegative", env: map[string]string{"PROJECTOR_COMPACT_AFTER": "-1s"}, want: []string{"PROJECTOR_COMPACT_AFTER"}},
		{name: "RequestTimeoutTooShort", env: map[string]string{"PROJECTOR_REQUEST_TIMEOUT": "10ms"}, want: []string{"PROJECTOR_REQUEST_TIMEOUT"}},
		{name: "CompactSegmentsZero", env: map[string]string{"PROJECTOR_COMPACT_SEGMENTS": "0"}, want: []string{"PROJECTOR_COMPACT_SEGMENTS"}},
		{
			name: "EveryProblemAtOnce",
			env: map[string]string{"REPLICATION_SLOT": "Bad-Slot", "INDEX_PREFIX": "UPPER", "PROJECTOR_REFRESH": "sometimes",
				"PROJECTOR_BULK_DOCS": "0", "PROJECTOR_STATUS_INTERVAL": "1m", "PROJECTOR_FLUSH_INTERVAL": "soon"},
			want: []string{"REPLICATION_SLOT", "INDEX_PREFIX", "PROJECTOR_REFRESH", "PROJECTOR_BULK_DOCS", "PROJECTOR_STATUS_INTERVAL", "PROJECTOR_FLUSH_INTERVAL"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaultConfig()
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

func TestByteSize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ByteSize
		bad  bool
	}{
		{name: "Plain", in: "1000", want: 1000},
		{name: "Bytes", in: "512B", want: 512},
		{name: "KiB", in: "64KiB", want: 64 << 10},
		{name: "MiB", in: "96MiB", want: 96 << 20},
		{name: "GiB", in: "2GiB", want: 2 << 30},
		{name: "MB", in: "100MB", want: 100_000_000},
		{name: "Spaces", in: " 8 MiB ", want: 8 << 20},
		{name: "Zero", in: "0", want: 0},
		{name: "Negative", in: "-1MiB", bad: true},
		{name: "Unit only", in: "MiB", bad: true},
		{name: "Unknown unit", in: "5TB", bad: true},
		{name: "Overflow", in: "9999999999999GiB", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b ByteSize
			err := b.UnmarshalText([]byte(tc.in))
			if tc.bad {
				if err == nil {
					t.Fatalf("UnmarshalText(%q) = %d, want error", tc.in, b)
				}
				return
			}
			if err != nil || b != tc.want {
				t.Fatalf("UnmarshalText(%q) = %d, %v; want %d", tc.in, b, err, tc.want)
			}
		})
	}
}

// The projector's tunables are read into the embedded projection.Config,
// and what is not set keeps projection.DefaultConfig's value.
func TestConfigFillsTheUseCaseConfig(t *testing.T) {
	cfg := defaultConfig()
	env := map[string]string{"PROJECTOR_BULK_DOCS": "500", "PROJECTOR_COMPACT_AFTER": "0", "INDEX_PREFIX": "t1_"}
	if err := config.Load(&cfg, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	def := projection.DefaultConfig()
	if cfg.BulkDocs != 500 || cfg.CompactAfter != 0 || cfg.IndexPrefix != "t1_" {
		t.Errorf("set: bulk %d, compact after %s, prefix %q; want 500, 0s, t1_", cfg.BulkDocs, cfg.CompactAfter, cfg.IndexPrefix)
	}
	if cfg.FlushInterval != def.FlushInterval || cfg.QueueChanges != def.QueueChanges || cfg.Slot != def.Slot {
		t.Errorf("unset: flush %s, queue %d, slot %q; want projection.DefaultConfig's", cfg.FlushInterval, cfg.QueueChanges, cfg.Slot)
	}
}
