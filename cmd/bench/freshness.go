package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

// freshness: create payments at a steady rate and measure, for every one,
// the time from the API's 201 (after commit) until a search on the engine
// finds it. Rates come from BENCH_FRESHNESS_RATES; the first is the target
// (1,000/s), the others probe how far the pipeline goes.
func (b *bench) freshness(ctx context.Context) error {
	// Start from a caught-up projector, not from the batch scenario's backlog.
	if _, err := b.waitIndexed(ctx); err != nil {
		return err
	}
	for _, rate := range b.cfg.Rates {
		st, sent, err := b.freshnessAt(ctx, rate)
		if err != nil {
			return err
		}
		b.add(Result{Scenario: fmt.Sprintf("freshness at %d/s", rate), Product: st,
			Note: fmt.Sprintf("commit → searchable; achieved %.0f creates/s", sent)})
	}
	return nil
}

// freshnessAt measures commit → searchable latency while writing rate
// payments/s.
//
// long: one measurement scenario (write at a rate, probe, wait, report), read in order.
func (b *bench) freshnessAt(ctx context.Context, rate int) (Stats, float64, error) {
	var (
		mu      sync.Mutex
		pending = map[string]time.Time{}
	)
	rec := newRecorder()
	work := make(chan struct{}, rate)
	var wg sync.WaitGroup
	sentCount := 0
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for range work {
				p, err := b.api.cl.CreatePayment(ctx, paymentBody(r, b.loadCustomers[r.IntN(len(b.loadCustomers))]))
				if kind := errorKind(err); kind != "" {
					rec.fail("create_" + kind)
					continue
				}
				mu.Lock()
				pending[p.Id] = time.Now()
				sentCount++
				mu.Unlock()
			}
		}(w)
	}

	pollDone := make(chan struct{})
	stopPoll := make(chan struct{})
	go func() {
		defer close(pollDone)
		b.poll(ctx, &mu, pending, rec, stopPoll)
	}()

	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	perTick := float64(rate) / 100
	owed := 0.0
	for time.Since(start) < b.cfg.Duration && ctx.Err() == nil {
		<-tick.C
		owed += perTick
		for owed >= 1 {
			select {
			case work <- struct{}{}:
			default: // workers saturated: the achieved rate will show it
			}
			owed--
		}
	}
	tick.Stop()
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	// Give the tail up to 10 s to become searchable; what is left is an error.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(pending)
		mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stopPoll)
	<-pollDone
	mu.Lock()
	for range pending {
		rec.fail("not_searchable_after_10s")
	}
	sent := float64(sentCount) / elapsed.Seconds()
	mu.Unlock()
	st := rec.stats(elapsed, 1)
	st.PerSec = sent
	return st, sent, nil
}

// poll searches the engine every 20 ms for pending ids and records, for each
// found, the time since its creation was acknowledged.
func (b *bench) poll(ctx context.Context, mu *sync.Mutex, pending map[string]time.Time, rec *recorder, stop <-chan struct{}) {
	url := b.cfg.SearchURL + "/" + projection.PaymentsAlias(b.cfg.IndexPrefix) + "/_search"
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
		mu.Lock()
		ids := make([]string, 0, len(pending))
		for id := range pending {
			ids = append(ids, id)
			if len(ids) == 5000 {
				break
			}
		}
		mu.Unlock()
		if len(ids) == 0 {
			continue
		}
		q, _ := json.Marshal(map[string]any{
			"size": len(ids), "_source": false, "track_total_hits": false,
			"query": map[string]any{"bool": map[string]any{"filter": map[string]any{"terms": map[string]any{"id": ids}}}},
		})
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(q))
		req.Header.Set("Content-Type", "application/json")
		res, err := b.api.hc.Do(req)
		if err != nil {
			continue
		}
		var out struct {
			Hits struct {
				Hits []struct {
					ID string `json:"_id"`
				} `json:"hits"`
			} `json:"hits"`
		}
		_ = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		now := time.Now()
		mu.Lock()
		for _, h := range out.Hits.Hits {
			if t, ok := pending[h.ID]; ok {
				rec.ok(now.Sub(t))
				delete(pending, h.ID)
			}
		}
		mu.Unlock()
	}
}
