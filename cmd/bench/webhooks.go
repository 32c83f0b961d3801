package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/wildcat-payments/wildcat/client"
	"github.com/wildcat-payments/wildcat/client/webhook"
)

// webhooks measures delivery (issue 16) against the stack's webhook
// receiver (cmd/webhook-receiver at WEBHOOK_RECEIVER), with
// BENCH_WEBHOOK_ENDPOINTS endpoints subscribed to payment.created on a load
// customer (each payment fans out to every endpoint):
//   - baseline: the bench itself POSTs signed events straight to the
//     receiver from WEBHOOK_WORKERS-many (50) clients: what the receiver and
//     the loopback take;
//   - fan-out: BENCH_WEBHOOK_EVENTS deliveries (payments written in batches
//     of 1,000 as fast as the command API takes them); deliveries/s from the
//     first write to the receiver having accepted every one;
//   - latency: single creates at 200/s for BENCH_DURATION; the receiver's
//     p50/p99 from each event's created_at (its commit) to its acceptance.
//
// The endpoint is deleted at the end. The processor also executes the
// payments meanwhile, as it would in production.
func (b *bench) webhooks(ctx context.Context) error {
	r := receiver{base: b.cfg.Receiver, hc: b.api.hc}
	customer := b.loadCustomers[0]
	var hooks, secrets, ids []string
	for i := range b.cfg.WebhookEndpoints {
		hook := fmt.Sprintf("bench-%s-%d", randHex(3), i)
		e, err := b.api.cl.CreateWebhookEndpoint(ctx, customer, client.NewWebhookEndpoint{
			Url: r.base + "/hooks/" + hook, Events: []client.WebhookEventType{"payment.created"}})
		if err != nil {
			return fmt.Errorf("create a webhook endpoint (WEBHOOK_ALLOW_PRIVATE on the command API?): %w", err)
		}
		defer func() {
			if err := b.api.cl.DeleteWebhookEndpoint(context.Background(), customer, e.Id); err != nil {
				fmt.Fprintf(b.out, "  delete the bench endpoint: %v\n", err)
			}
		}()
		if err := r.post(ctx, "/_admin/secrets", map[string]string{"secret": e.Secret}); err != nil {
			return fmt.Errorf("receiver at %s (make up starts it): %w", r.base, err)
		}
		hooks, secrets, ids = append(hooks, hook), append(secrets, e.Secret), append(ids, e.Id)
	}
	if err := r.post(ctx, "/_admin/behaviour", map[string]any{}); err != nil {
		return err
	}

	base, err := b.webhookBaseline(ctx, r, secrets[0], hooks[0])
	if err != nil {
		return err
	}
	n := len(hooks)
	fan, err := b.webhookFanOut(ctx, r, customer, b.cfg.WebhookEvents/n, n)
	if err != nil {
		return err
	}
	b.add(Result{Scenario: fmt.Sprintf("webhook fan-out, %d deliveries (%d payments × %d endpoints)", fan.Count, fan.Count/n, n),
		Product: fan, Baseline: &base, Ratio: fan.PerSec / base.PerSec,
		Note: "product: payment.created of payments written by batches, delivered by the processor (outbox → River → signed POST) while it also executes the payments; p50/p99: event → delivered; baseline: signed POSTs straight to the receiver, 50 clients"})

	// Latency at the 200 events/s: one endpoint left enabled.
	for _, id := range ids[1:] {
		if _, err := b.api.cl.UpdateWebhookEndpoint(ctx, customer, id, client.WebhookEndpointPatch{Enabled: client.Ptr(false)}); err != nil {
			return err
		}
	}
	lat, err := b.webhookLatency(ctx, r, customer, 200, 1)
	if err != nil {
		return err
	}
	b.add(Result{Scenario: "webhook latency at 200 events/s (created → delivered)", Product: lat,
		Note: "p50/p99: from the event's commit (created_at) to the receiver accepting it; throughput: deliveries/s"})
	return nil
}

func (b *bench) webhookBaseline(ctx context.Context, r receiver, secret, hook string) (Stats, error) {
	if err := r.post(ctx, "/_admin/reset", nil); err != nil {
		return Stats{}, err
	}
	rec := newRecorder()
	var mu sync.Mutex
	n := 0
	elapsed := drive(50, 5*time.Second, rec, func(int) string {
		mu.Lock()
		n++
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
		mu.Unlock()
		body := fmt.Sprintf(`{"id":%q,"type":"payment.created","created_at":%q,"data":{"object":{}}}`, id, time.Now().UTC().Format(time.RFC3339Nano))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/hooks/"+hook, bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(webhook.SignatureHeader, webhook.Sign(secret, time.Now(), []byte(body)))
		res, err := r.hc.Do(req)
		if err != nil {
			return "connection"
		}
		res.Body.Close()
		if res.StatusCode >= 300 {
			return fmt.Sprintf("http %d", res.StatusCode)
		}
		return ""
	})
	return rec.stats(elapsed, 1), nil
}

func (b *bench) webhookFanOut(ctx context.Context, r receiver, customer string, events, endpoints int) (Stats, error) {
	if err := r.post(ctx, "/_admin/reset", nil); err != nil {
		return Stats{}, err
	}
	loads := samples(min(1000, events), []string{customer})
	start := time.Now()
	for written := 0; written < events; written += len(loads) {
		if _, err := b.api.cl.CreatePayments(ctx, loads); err != nil {
			return Stats{}, fmt.Errorf("write: %w", err)
		}
	}
	got, err := r.waitFor(ctx, events*endpoints, 5*time.Minute)
	if err != nil {
		return Stats{}, err
	}
	elapsed := time.Since(start)
	return Stats{Count: got.DeliveredEvents, PerSec: float64(got.DeliveredEvents) / elapsed.Seconds(), Elapsed: elapsed.Seconds(),
		P50Ms: got.LatencyP50MS, P99Ms: got.LatencyP99MS, MaxMs: got.LatencyMaxMS}, nil
}

func (b *bench) webhookLatency(ctx context.Context, r receiver, customer string, rate, endpoints int) (Stats, error) {
	if err := r.post(ctx, "/_admin/reset", nil); err != nil {
		return Stats{}, err
	}
	loads := samples(4096, []string{customer})
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	deadline := time.Now().Add(b.cfg.Duration)
	var wg sync.WaitGroup
	sent := 0
	start := time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		<-tick.C
		p := loads[sent%len(loads)]
		sent++
		wg.Go(func() { _, _ = b.api.cl.CreatePayment(ctx, p) })
	}
	wg.Wait()
	got, err := r.waitFor(ctx, sent*endpoints, time.Minute)
	if err != nil {
		return Stats{}, err
	}
	elapsed := time.Since(start)
	return Stats{Count: got.DeliveredEvents, PerSec: float64(got.DeliveredEvents) / elapsed.Seconds(), Elapsed: elapsed.Seconds(),
		P50Ms: got.LatencyP50MS, P99Ms: got.LatencyP99MS, MaxMs: got.LatencyMaxMS}, nil
}

// receiver is the admin side of cmd/webhook-receiver.
type receiver struct {
	base string
	hc   *http.Client
}

type receiverReport struct {
	DeliveredEvents int     `json:"delivered_events"`
	BadSignatures   int     `json:"bad_signatures"`
	LatencyP50MS    float64 `json:"latency_p50_ms"`
	LatencyP99MS    float64 `json:"latency_p99_ms"`
	LatencyMaxMS    float64 `json:"latency_max_ms"`
}

func (r receiver) post(ctx context.Context, path string, body any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := r.hc.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		return fmt.Errorf("receiver %s: HTTP %d", path, res.StatusCode)
	}
	return nil
}

// waitFor polls the receiver until n events were accepted.
func (r receiver) waitFor(ctx context.Context, n int, limit time.Duration) (receiverReport, error) {
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/_admin/received", nil)
		res, err := r.hc.Do(req)
		if err != nil {
			return receiverReport{}, err
		}
		var rep receiverReport
		err = json.NewDecoder(res.Body).Decode(&rep)
		res.Body.Close()
		if err != nil {
			return receiverReport{}, err
		}
		if rep.BadSignatures > 0 {
			return rep, fmt.Errorf("the receiver saw %d bad signatures", rep.BadSignatures)
		}
		if rep.DeliveredEvents >= n {
			return rep, nil
		}
		if time.Now().After(deadline) {
			return rep, fmt.Errorf("%d of %d events delivered after %s", rep.DeliveredEvents, n, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
