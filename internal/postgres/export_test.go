package postgres

import (
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Test hooks into the grouper of a Store with group commit on.

// SetBeforeFlush makes s call f with the size of each group before it is
// written; f may block to hold the writer.
func SetBeforeFlush(s *Store, f func(n int)) {
	s.group.beforeFlush = func(items []*groupItem) { f(len(items)) }
}

// Queued returns how many requests wait for a group writer.
func Queued(s *Store) int {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return len(s.group.queue)
}

// GroupFallbacks returns how many groups failed and were written one by one.
func GroupFallbacks(s *Store) float64 { return testutil.ToFloat64(s.group.fallbacks) }
