package projection

import (
	"context"
	"sync"
)

// lane runs the stream's bulk requests in the background, at most
// cap(sem) at once, so that the next plan is read from PostgreSQL while the
// engine indexes the previous ones and the engine's write threads are all
// busy (one bulk request to a one-shard index keeps one busy).
//
// Ordering: bulks of different documents may land in any order (each
// document carries its own external version); the acknowledgement stays
// ordered because the loop drains the lane before it refreshes and
// publishes. Two bulks never carry the same document at once: a bulk that
// would waits until the lane is empty, so a document's writes land in the
// order of their versions (a delete's tombstone cannot be outlived by an
// older write retried for longer than index.gc_deletes).
type lane struct {
	sem chan struct{}
	wg  sync.WaitGroup

	mu  sync.Mutex
	ids map[string]int // alias + "/" + id → bulks in flight that carry it
	st  Stats
	err error
}

func newLane(n int) *lane {
	return &lane{sem: make(chan struct{}, n), ids: map[string]int{}}
}

func laneKey(op IndexOp) string { return op.Index + "/" + op.ID }

// dispatch sends ops in the background with write; it fails with the first
// error of an earlier bulk.
func (l *lane) dispatch(ctx context.Context, ops []IndexOp, write func(context.Context, []IndexOp) (Stats, error)) error {
	if l.overlaps(ops) {
		l.wg.Wait()
	}
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		<-l.sem
		return l.err
	}
	for _, op := range ops {
		l.ids[laneKey(op)]++
	}
	l.mu.Unlock()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		s, err := write(ctx, ops)
		l.mu.Lock()
		l.st.add(s)
		if err != nil && l.err == nil {
			l.err = err
		}
		for _, op := range ops {
			k := laneKey(op)
			if l.ids[k]--; l.ids[k] <= 0 {
				delete(l.ids, k)
			}
		}
		l.mu.Unlock()
		<-l.sem
	}()
	return nil
}

func (l *lane) overlaps(ops []IndexOp) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ids) == 0 {
		return false
	}
	for _, op := range ops {
		if l.ids[laneKey(op)] > 0 {
			return true
		}
	}
	return false
}

// drain waits for every bulk in flight and returns what they did since the
// last drain, and the first error (which stays: the session must end).
func (l *lane) drain() (Stats, error) {
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.st
	l.st = Stats{}
	return st, l.err
}
