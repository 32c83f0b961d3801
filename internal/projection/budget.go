package projection

import "sync"

// Budget bounds the decoded changes in flight between the replication
// reader and the indexer by their number rather than by transactions: the
// reader takes a transaction's (or chunk's) Weight before handing it over
// and the indexer gives it back once the transaction is merged into a
// plan (a plan keeps only ids and versions, not the rows). While the budget
// is exhausted the reader stops reading; the WAL waits in the slot.
//
// A Budget is safe for concurrent use.
type Budget struct {
	mu    sync.Mutex
	limit int
	used  int
	freed chan struct{}
}

// NewBudget returns a budget of limit changes (at least 1).
func NewBudget(limit int) *Budget {
	return &Budget{limit: max(limit, 1), freed: make(chan struct{}, 1)}
}

// TryTake reserves n and reports whether it could. An item larger than the
// whole budget is admitted when nothing else is in flight, so progress
// never stalls.
func (b *Budget) TryTake(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used > 0 && b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}

// Release gives n back and wakes a waiting reader.
func (b *Budget) Release(n int) {
	b.mu.Lock()
	b.used = max(b.used-n, 0)
	b.mu.Unlock()
	select {
	case b.freed <- struct{}{}:
	default:
	}
}

// Used returns the reserved amount.
func (b *Budget) Used() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Freed is signalled after a Release; wait on it, then TryTake again.
func (b *Budget) Freed() <-chan struct{} { return b.freed }
