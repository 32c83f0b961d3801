package search

import (
	"strings"
	"testing"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		status int
		hasErr bool
		msg    string
		want   projection.ItemStatus
	}{
		{"Created", 201, false, "", projection.ItemApplied},
		{"Updated", 200, false, "", projection.ItemApplied},
		{"DeleteOfMissingDocument", 404, false, "", projection.ItemApplied},
		{"VersionConflict", 409, true, "version_conflict_engine_exception: [p1]", projection.ItemConflict},
		{"AliasMissing", 404, true, "index_not_found_exception: no such index", projection.ItemMissingIndex},
		{"Overloaded", 429, true, "es_rejected_execution_exception: queue full", projection.ItemRetry},
		{"ShardUnavailable", 503, true, "unavailable_shards_exception", projection.ItemRetry},
		{"ReadOnlyBlock", 403, true, "cluster_block_exception: index [payments_v1] blocked by: [FORBIDDEN/12/index read-only / allow delete (api)]", projection.ItemRetry},
		{"MappingRejection", 400, true, "mapper_parsing_exception: failed to parse", projection.ItemFailed},
		{"ImmenseTerm", 400, true, "illegal_argument_exception: immense term", projection.ItemFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.status, tc.hasErr, tc.msg); got != tc.want {
				t.Errorf("classify(%d, %q) = %d, want %d", tc.status, tc.msg, got, tc.want)
			}
		})
	}
}

func TestWithSettings(t *testing.T) {
	body, err := withSettings(projection.PaymentsMapping, map[string]any{"refresh_interval": "-1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(body); !strings.Contains(got, `"refresh_interval":"-1"`) || !strings.Contains(got, `"dynamic":"strict"`) {
		t.Errorf("settings not applied or mapping lost: %s", got)
	}
}
