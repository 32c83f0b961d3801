package projection

import (
	"testing"
	"time"
)

func TestCompactPlan(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	const window = 30 * time.Second
	// samples spans the window with n documents written in it.
	samples := func(span time.Duration, n uint64) []writeSample {
		return []writeSample{{now.Add(-span), 1000}, {now.Add(-span / 2), 1000 + n/2}, {now, 1000 + n}}
	}
	seg := func(live int, bytes int64) SegmentStats {
		return SegmentStats{Live: live, Bytes: bytes}
	}
	const gib = 1 << 30
	tests := []struct {
		name       string
		seg        SegmentStats
		samples    []writeSample
		notBefore  time.Time
		wantState  string
		wantTarget int
	}{
		{"few segments: nothing to do", seg(5, gib), samples(window, 0), time.Time{}, "", 0},
		{"quiet: merge into one", seg(15, gib/2), samples(window, 0), time.Time{}, CompactionMerging, 1},
		{"quiet below the rate", seg(15, gib/2), samples(window, 100*30-1), time.Time{}, CompactionMerging, 1},
		{"writes at the quiet rate", seg(15, gib/2), samples(window, 100*30), time.Time{}, CompactionPending, 0},
		{"busy", seg(15, gib/2), samples(window, 1_000_000), time.Time{}, CompactionPending, 0},
		{"window not seen whole yet", seg(15, gib/2), samples(window-time.Second, 0), time.Time{}, CompactionPending, 0},
		{"a single sample", seg(15, gib/2), []writeSample{{now, 5}}, time.Time{}, CompactionPending, 0},
		{"duty budget spent", seg(15, gib/2), samples(window, 0), now.Add(time.Second), CompactionPending, 0},
		{"duty budget renewed", seg(15, gib/2), samples(window, 0), now, CompactionMerging, 1},
		{"large: one segment per 2 GiB", seg(15, 9*gib), samples(window, 0), time.Time{}, CompactionMerging, 5},
		{"large and already at its target", seg(6, 11*gib), samples(window, 0), time.Time{}, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			state, target := compactPlan(now, tc.seg, tc.samples, window, 5, tc.notBefore)
			if state != tc.wantState || target != tc.wantTarget {
				t.Errorf("compactPlan = %q, %d; want %q, %d", state, target, tc.wantState, tc.wantTarget)
			}
		})
	}
}
