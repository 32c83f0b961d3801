package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/wildcat-payments/wildcat/client/webhook"
)

// maxBody is the largest delivery read; a payment event is a few KiB.
const maxBody = 1 << 20

// Behaviour is how the receiver answers. Deliveries are numbered per hook
// name and event id (two endpoints receiving the same event are two
// deliveries); attempt n is dropped when n <= DropFirst, else failed with
// Status when n <= FailFirst, else accepted. Each answer waits DelayMS
// first.
type Behaviour struct {
	FailFirst int `json:"fail_first"`
	DropFirst int `json:"drop_first"`
	Status    int `json:"status"` // 0 in a request means 500
	DelayMS   int `json:"delay_ms"`
}

func (b Behaviour) validate() error {
	var errs []error
	if b.FailFirst < 0 || b.DropFirst < 0 || b.DelayMS < 0 {
		errs = append(errs, errors.New("fail_first, drop_first and delay_ms must not be negative"))
	}
	if b.Status < 300 || b.Status > 599 {
		errs = append(errs, fmt.Errorf("status must be 300..599 (a failure), got %d", b.Status))
	}
	return errors.Join(errs...)
}

// The outcomes of a delivery, as records show them.
const (
	accepted     = "accepted"
	failed       = "failed"
	dropped      = "dropped"
	badSignature = "bad_signature"
	badPayload   = "bad_payload"
)

// record is one delivery.
type record struct {
	Hook        string     `json:"hook"`
	EventID     string     `json:"event_id"`
	Type        string     `json:"type,omitempty"`
	Attempt     int        `json:"attempt,omitempty"` // 0 for a delivery refused before counting
	ReceivedAt  time.Time  `json:"received_at"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	SignatureOK bool       `json:"signature_ok"`
	Outcome     string     `json:"outcome"`
}

type hookEvent struct{ hook, event string }

// receiver is the program's state: secrets, behaviour and what was
// received. It is safe for concurrent use.
type receiver struct {
	logger     *slog.Logger
	tolerance  time.Duration
	maxRecords int

	mu        sync.Mutex
	secrets   []string
	behaviour Behaviour
	received  received
}

// received is what GET /_admin/received reports, and what reset forgets.
type received struct {
	counts         map[string]int    // by outcome
	attempts       map[hookEvent]int // deliveries with a good signature
	perEvent       map[string]int    // deliveries with a good signature, every hook
	delivered      map[hookEvent]bool
	latencies      []float64 // ms from created_at to the first acceptance of each hook and event
	records        []record
	recordsDropped int
}

func newReceived() received {
	return received{counts: map[string]int{}, attempts: map[hookEvent]int{}, perEvent: map[string]int{}, delivered: map[hookEvent]bool{}}
}

func newReceiver(secrets []string, tolerance time.Duration, b Behaviour, maxRecords int, logger *slog.Logger) *receiver {
	return &receiver{logger: logger, tolerance: tolerance, maxRecords: maxRecords,
		secrets: slices.Clone(secrets), behaviour: b, received: newReceived()}
}

func (rc *receiver) routes() http.Handler {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /readyz", ok) // nothing to depend on: ready when alive

	mux.HandleFunc("POST /hooks/{name}", rc.hook)
	mux.HandleFunc("POST /_admin/secrets", rc.addSecret)
	mux.HandleFunc("GET /_admin/behaviour", rc.getBehaviour)
	mux.HandleFunc("POST /_admin/behaviour", rc.setBehaviour)
	mux.HandleFunc("GET /_admin/received", rc.report)
	mux.HandleFunc("POST /_admin/reset", rc.reset)
	return mux
}

// hook receives a delivery: verify, count, then answer as the behaviour
// says.
func (rc *receiver) hook(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	rec := record{Hook: r.PathValue("name"), EventID: r.Header.Get(webhook.EventIDHeader), ReceivedAt: now}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil {
		err = rc.verify(r.Header.Get(webhook.SignatureHeader), body, now)
	}
	if err != nil {
		rec.Outcome = badSignature
		rc.count(rec)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	rec.SignatureOK = true
	var e webhook.Event
	if err := json.Unmarshal(body, &e); err != nil || e.ID == "" {
		rec.Outcome = badPayload
		rc.count(rec)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "signed, but not an event"})
		return
	}
	rec.EventID, rec.Type, rec.CreatedAt = e.ID, e.Type, &e.CreatedAt
	status := rc.decide(&rec)
	rc.logger.Debug("delivery", "hook", rec.Hook, "event_id", rec.EventID, "type", rec.Type, "attempt", rec.Attempt, "outcome", rec.Outcome)

	if delay := time.Duration(rc.current().DelayMS) * time.Millisecond; delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch rec.Outcome {
	case dropped:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	case failed:
		writeJSON(w, status, map[string]any{"error": "failing as told", "attempt": rec.Attempt})
	default:
		writeJSON(w, http.StatusOK, map[string]bool{"received": true})
	}
}

// verify accepts body if any secret signs it. A timestamp out of
// tolerance says more than the other secrets' mismatches.
func (rc *receiver) verify(header string, body []byte, now time.Time) error {
	rc.mu.Lock()
	secrets := rc.secrets
	rc.mu.Unlock()
	err := webhook.ErrBadSignature
	for _, s := range secrets {
		verr := webhook.Verify(s, header, body, rc.tolerance, now)
		if verr == nil {
			return nil
		}
		if !errors.Is(verr, webhook.ErrBadSignature) {
			err = verr
		}
	}
	return err
}

// decide numbers a verified delivery, picks its outcome and counts it. It
// returns the status for a failure.
func (rc *receiver) decide(rec *record) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	key := hookEvent{rec.Hook, rec.EventID}
	rc.received.attempts[key]++
	rec.Attempt = rc.received.attempts[key]
	rc.received.perEvent[rec.EventID]++
	b := rc.behaviour
	switch {
	case rec.Attempt <= b.DropFirst:
		rec.Outcome = dropped
	case rec.Attempt <= b.FailFirst:
		rec.Outcome = failed
	default:
		rec.Outcome = accepted
		if !rc.received.delivered[key] {
			rc.received.delivered[key] = true
			rc.received.latencies = append(rc.received.latencies, float64(rec.ReceivedAt.Sub(*rec.CreatedAt).Microseconds())/1000)
		}
	}
	rc.countLocked(*rec)
	return b.Status
}

func (rc *receiver) count(rec record) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.countLocked(rec)
}

func (rc *receiver) countLocked(rec record) {
	rc.received.counts[rec.Outcome]++
	if len(rc.received.records) < rc.maxRecords {
		rc.received.records = append(rc.received.records, rec)
	} else {
		rc.received.recordsDropped++
	}
}

func (rc *receiver) current() Behaviour {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.behaviour
}

func (rc *receiver) addSecret(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Secret string `json:"secret"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Secret == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "secret is required"})
		return
	}
	rc.mu.Lock()
	if !slices.Contains(rc.secrets, in.Secret) {
		rc.secrets = append(slices.Clip(rc.secrets), in.Secret)
	}
	n := len(rc.secrets)
	rc.mu.Unlock()
	rc.logger.Info("secret added", "secrets", n)
	writeJSON(w, http.StatusOK, map[string]int{"secrets": n})
}

func (rc *receiver) getBehaviour(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, rc.current())
}

// setBehaviour replaces the behaviour: a field left out is zero (status:
// 500).
func (rc *receiver) setBehaviour(w http.ResponseWriter, r *http.Request) {
	var b Behaviour
	if !readJSON(w, r, &b) {
		return
	}
	if b.Status == 0 {
		b.Status = http.StatusInternalServerError
	}
	if err := b.validate(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	rc.mu.Lock()
	rc.behaviour = b
	rc.mu.Unlock()
	rc.logger.Info("behaviour set", "fail_first", b.FailFirst, "drop_first", b.DropFirst, "status", b.Status, "delay_ms", b.DelayMS)
	writeJSON(w, http.StatusOK, b)
}

func (rc *receiver) reset(w http.ResponseWriter, _ *http.Request) {
	rc.mu.Lock()
	rc.received = newReceived()
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// report is GET /_admin/received. A delivery is counted when its outcome
// is decided, before the delay: one the sender gave up waiting for still
// counts as answered.
type report struct {
	Deliveries      int            `json:"deliveries"` // every POST /hooks/…
	Accepted        int            `json:"accepted"`
	Failed          int            `json:"failed"`
	Dropped         int            `json:"dropped"`
	BadSignatures   int            `json:"bad_signatures"`
	BadPayloads     int            `json:"bad_payloads"`
	UniqueEvents    int            `json:"unique_events"`    // event ids received with a good signature
	DeliveredEvents int            `json:"delivered_events"` // (hook, event id) pairs accepted at least once
	PerEvent        map[string]int `json:"per_event"`        // deliveries with a good signature, by event id
	LatencyCount    int            `json:"latency_count"`
	LatencyP50MS    float64        `json:"latency_p50_ms"` // created_at to first acceptance
	LatencyP99MS    float64        `json:"latency_p99_ms"`
	LatencyMaxMS    float64        `json:"latency_max_ms"`
	Records         []record       `json:"records,omitempty"`
	RecordsDropped  int            `json:"records_dropped"`
}

func (rc *receiver) report(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	got := rc.received
	c := got.counts
	out := report{Accepted: c[accepted], Failed: c[failed], Dropped: c[dropped], BadSignatures: c[badSignature],
		BadPayloads: c[badPayload], UniqueEvents: len(got.perEvent), DeliveredEvents: len(got.delivered),
		PerEvent: maps.Clone(got.perEvent), LatencyCount: len(got.latencies), RecordsDropped: got.recordsDropped}
	for _, n := range c {
		out.Deliveries += n
	}
	lat := slices.Clone(got.latencies)
	if r.URL.Query().Get("records") == "true" {
		out.Records = slices.Clone(got.records)
	}
	rc.mu.Unlock()
	slices.Sort(lat)
	out.LatencyP50MS, out.LatencyP99MS = percentile(lat, 0.50), percentile(lat, 0.99)
	if len(lat) > 0 {
		out.LatencyMaxMS = lat[len(lat)-1]
	}
	writeJSON(w, http.StatusOK, out)
}

// percentile is the nearest-rank percentile of sorted; 0 when empty.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// readJSON decodes the request body into v, refusing unknown fields so a
// misspelt behaviour is not silently ignored. It answers 400 and returns
// false when it cannot.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid JSON: " + err.Error()})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
