package projection

import (
	"context"
	"time"
)

// Compaction. A sorted, filtered search pays for every segment of the
// payments index. The engine's merge policy keeps about ten segments per
// size tier, which suits indexing: after ingesting 1 M payments the index
// had 15 searchable segments, and the bench's search mix ran at 370/s
// (16 clients, the engine alone); merged into one segment, at 600/s. So
// once writes pause, the projector merges the payments index down to a few
// segments. The rules, decided by compactPlan:
//
//   - only the streaming leader compacts;
//   - only when more segments than Config.CompactSegments hold documents;
//   - only when writes are quiet: fewer than compactQuietRate documents/s
//     were written over the last Config.CompactAfter;
//   - down to one segment per compactSegmentBytes, so that no segment
//     outgrows what the engine's merge policy still merges (5 GB);
//   - merging takes at most a tenth of the time: after a merge that took d,
//     the next waits 9·d.
const (
	compactQuietRate    = 100 // documents/s
	compactSegmentBytes = 2 << 30
	compactDuty         = 10
)

// Compaction states reported by Status (empty: nothing to do, or not
// compacting on this instance).
const (
	CompactionPending = "pending" // more segments than wanted; waiting for quiet writes or the duty budget
	CompactionMerging = "merging"
)

// writeSample is the projector's count of written documents at a time.
type writeSample struct {
	at      time.Time
	written uint64
}

// compactPlan decides from the segments, the write samples of at least the
// last window (oldest first; the first at or before now-window) and the
// earliest time the duty budget allows a merge: the state to report and,
// when a merge is due now, the number of segments to merge down to.
func compactPlan(now time.Time, seg SegmentStats, samples []writeSample, window time.Duration, maxSegments int, notBefore time.Time) (state string, target int) {
	target = mergeTarget(seg)
	if seg.Live <= max(maxSegments, target) {
		return "", 0
	}
	if len(samples) < 2 || now.Before(notBefore) {
		return CompactionPending, 0
	}
	first, last := samples[0], samples[len(samples)-1]
	span := last.at.Sub(first.at)
	if span < window || float64(last.written-first.written) >= compactQuietRate*span.Seconds() {
		return CompactionPending, 0
	}
	return CompactionMerging, target
}

// mergeTarget is the number of segments to merge an index of seg down to:
// one per compactSegmentBytes, at least one.
func mergeTarget(seg SegmentStats) int {
	return max(1, int((seg.Bytes+compactSegmentBytes-1)/compactSegmentBytes))
}

// compact runs until ctx ends, merging the payments index by compactPlan.
// It never fails the session: an engine error only delays compaction.
func (p *Projector) compact(ctx context.Context, w IndexWriter) {
	window := p.cfg.CompactAfter
	if window <= 0 {
		return
	}
	defer p.setCompaction("")
	t := time.NewTicker(min(max(window/6, 100*time.Millisecond), 5*time.Second))
	defer t.Stop()
	alias := PaymentsAlias(p.cfg.IndexPrefix)
	var samples []writeSample
	var notBefore time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		samples = append(samples, writeSample{now, p.written.Load()})
		for len(samples) > 2 && !samples[1].at.After(now.Add(-window)) {
			samples = samples[1:]
		}
		seg, err := w.Segments(ctx, alias)
		if err != nil {
			if ctx.Err() == nil {
				p.logger.Debug("compaction: reading the segments failed", "error", err.Error())
			}
			continue
		}
		p.m.segments.Set(float64(seg.Live))
		state, target := compactPlan(now, seg, samples, window, p.cfg.CompactSegments, notBefore)
		p.setCompaction(state)
		if state != CompactionMerging {
			continue
		}
		start := time.Now()
		err = w.ForceMerge(ctx, alias, target)
		if err == nil {
			// A merged segment is searchable after the next refresh.
			err = w.Refresh(ctx, []string{alias})
		}
		took := time.Since(start)
		notBefore = time.Now().Add((compactDuty - 1) * took)
		if err != nil {
			if ctx.Err() == nil {
				p.logger.Warn("compaction failed; searches stay correct, only slower", "error", err.Error())
			}
			continue
		}
		p.m.compactions.Inc()
		p.logger.Info("payments index compacted", "segments_before", seg.Live, "segments", target,
			"bytes", seg.Bytes, "seconds", took.Seconds())
	}
}

func (p *Projector) setCompaction(state string) {
	p.mu.Lock()
	p.compaction = state
	p.mu.Unlock()
}
