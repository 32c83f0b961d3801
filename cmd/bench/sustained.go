package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wildcat-payments/wildcat/client"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
)

// sustained: batch ingestion near the write side's maximum for a minute
// (issue 17: 10,000 payments/s as batches of 100 every 10 ms). Each batch's
// consistency token (its commit position) is searchable once the published
// position reaches it, so freshness is measured for every batch: from its
// 201 until the stack's projector has published its position. After the
// last batch, the lag is how long the published position takes to reach the
// last token. The rate achieved is reported too: when the write side cannot
// sustain the rate, the freshness figures hold for what it did sustain.
//
// long: one measurement (send at a rate, follow the published position,
// wait for the tail, report), read in order.
func (b *bench) sustained(ctx context.Context) error {
	if _, err := b.waitIndexed(ctx); err != nil {
		return err
	}
	const batch = 100
	rate, seconds := b.cfg.SustainedRate, b.cfg.SustainedSeconds
	var (
		mu      sync.Mutex
		pending []pendingBatch // in token order per client; drained by the follower
		last    uint64
		sent    int
	)
	rec := newRecorder()
	work := make(chan struct{}, rate/batch)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			c, err := b.api.newClient(client.Options{TokenSource: b.api.login})
			if err != nil {
				rec.fail("client")
				return
			}
			for range work {
				body := samples(batch, b.loadCustomers)
				if _, err := c.CreatePayments(ctx, body); err != nil {
					rec.fail("create_" + errorKind(err))
					continue
				}
				lsn, err := domain.DecodeConsistencyToken(c.ConsistencyToken())
				if err != nil {
					rec.fail("token")
					continue
				}
				mu.Lock()
				pending = append(pending, pendingBatch{lsn: lsn, at: time.Now()})
				last, sent = max(last, lsn), sent+batch
				mu.Unlock()
			}
		})
	}
	stop := make(chan struct{})
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		b.follow(ctx, &mu, &pending, rec, stop)
	}()
	start := time.Now()
	tick := time.NewTicker(time.Second * batch / time.Duration(rate))
	for time.Since(start) < time.Duration(seconds)*time.Second && ctx.Err() == nil {
		<-tick.C
		select {
		case work <- struct{}{}:
		default: // the clients are saturated: the achieved rate shows it
		}
	}
	tick.Stop()
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	mu.Lock()
	target := last
	mu.Unlock()
	drain, err := b.waitPublished(ctx, target, 2*time.Minute)
	close(stop)
	<-followed
	if err != nil {
		return err
	}
	st := rec.stats(elapsed, 1)
	st.PerSec = float64(sent) / elapsed.Seconds()
	b.add(Result{Scenario: fmt.Sprintf("sustained batch ingestion at %d/s for %ds", rate, seconds), Product: st,
		Note: fmt.Sprintf("per batch of %d: 201 → its position published (searchable); achieved %.0f payments/s; lag back to zero %.2f s after the last batch",
			batch, st.PerSec, drain.Seconds())})
	return nil
}

type pendingBatch struct {
	lsn uint64
	at  time.Time
}

// follow polls the published position every 10 ms and records each
// pending batch's freshness once the position reaches its token.
func (b *bench) follow(ctx context.Context, mu *sync.Mutex, pending *[]pendingBatch, rec *recorder, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
		applied, err := b.published(ctx)
		if err != nil {
			continue
		}
		now := time.Now()
		mu.Lock()
		kept := (*pending)[:0]
		for _, p := range *pending {
			if p.lsn <= applied {
				rec.ok(now.Sub(p.at))
			} else {
				kept = append(kept, p)
			}
		}
		*pending = kept
		mu.Unlock()
	}
}

// published returns the stack projector's published position.
func (b *bench) published(ctx context.Context) (uint64, error) {
	var doc struct {
		Source projection.StateDoc `json:"_source"`
	}
	url := b.cfg.SearchURL + "/" + projection.StateIndex(b.cfg.IndexPrefix) + "/_doc/" + projection.StateDocID
	if _, err := b.getJSON(ctx, url, &doc); err != nil {
		return 0, err
	}
	return doc.Source.AppliedLSN, nil
}

// waitPublished waits until the published position reaches lsn and
// returns how long that took.
func (b *bench) waitPublished(ctx context.Context, lsn uint64, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		if applied, err := b.published(ctx); err == nil && applied >= lsn {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return 0, fmt.Errorf("the published position did not reach %s within %s", domain.FormatLSN(lsn), limit)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
