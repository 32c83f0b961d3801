package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Handler serves the simulator's API (docs/provider-sim.md). It is safe
// for concurrent use.
type Handler struct {
	sim      *Simulator
	dec      *Decider
	log      *slog.Logger
	stopping <-chan struct{}
	requests *prometheus.CounterVec
	mux      *http.ServeMux
}

// NewHandler returns the API over sim and dec. stopping, closed when the
// server shuts down, ends the waits (latency, hanging answers) early. reg
// may be nil.
func NewHandler(sim *Simulator, dec *Decider, log *slog.Logger, reg prometheus.Registerer, stopping <-chan struct{}) *Handler {
	h := &Handler{sim: sim, dec: dec, log: log, stopping: stopping, mux: http.NewServeMux(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sim_requests_total",
			Help: "Charge, refund and look-up requests by operation and outcome.",
		}, []string{"op", "outcome"})}
	if reg != nil {
		reg.MustRegister(h.requests)
	}
	h.mux.HandleFunc("POST /v1/charges", h.charge)
	h.mux.HandleFunc("POST /v1/refunds", h.refund)
	h.mux.HandleFunc("GET /v1/charges/{key}", h.lookup(KindCharge))
	h.mux.HandleFunc("GET /v1/refunds/{key}", h.lookup(KindRefund))
	h.mux.HandleFunc("GET /v1/ledger", h.ledger)
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

type chargeBody struct {
	Key        string `json:"idempotency_key"`
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	Reference  string `json:"reference"`
	ThirdParty string `json:"third_party"`
	PaymentID  string `json:"payment_id"`
	Drive      int    `json:"drive"`
}

type refundBody struct {
	Key       string `json:"idempotency_key"`
	ChargeKey string `json:"charge_key"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	RefundID  string `json:"refund_id"`
}

var (
	keyPattern      = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,200}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

func (h *Handler) charge(w http.ResponseWriter, r *http.Request) {
	var b chargeBody
	if !h.decode(w, r, &b) || !h.validate(w, b.Key, b.Amount, b.Currency) {
		return
	}
	fate, ok := h.prepare(w, r, KindCharge, b.Key, b.ThirdParty)
	if !ok {
		return
	}
	res, err := h.sim.Charge(ChargeRequest{Key: b.Key, PaymentID: b.PaymentID, Reference: b.Reference,
		ThirdParty: b.ThirdParty, Amount: b.Amount, Currency: b.Currency, Drive: b.Drive}, declineOf(fate))
	h.answer(w, r, "charge", fate, res, err)
}

func (h *Handler) refund(w http.ResponseWriter, r *http.Request) {
	var b refundBody
	if !h.decode(w, r, &b) || !h.validate(w, b.Key, b.Amount, b.Currency) {
		return
	}
	if !keyPattern.MatchString(b.ChargeKey) {
		writeError(w, http.StatusBadRequest, "invalid_request", "charge_key must be 1-200 of [A-Za-z0-9_.:-]")
		return
	}
	fate, ok := h.prepare(w, r, KindRefund, b.Key, "")
	if !ok {
		return
	}
	res, err := h.sim.Refund(RefundRequest{Key: b.Key, ChargeKey: b.ChargeKey, RefundID: b.RefundID,
		Amount: b.Amount, Currency: b.Currency}, declineOf(fate))
	h.answer(w, r, "refund", fate, res, err)
}

func declineOf(f Fate) string {
	if f.Kind == FateDecline {
		return f.Code
	}
	return ""
}

func (h *Handler) decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "body: "+err.Error())
		return false
	}
	return true
}

func (h *Handler) validate(w http.ResponseWriter, key string, amount int64, currency string) bool {
	var msg string
	switch {
	case !keyPattern.MatchString(key):
		msg = "idempotency_key must be 1-200 of [A-Za-z0-9_.:-]"
	case amount <= 0:
		msg = "amount must be a positive number of minor units"
	case !currencyPattern.MatchString(currency):
		msg = "currency must be three upper-case letters"
	default:
		return true
	}
	writeError(w, http.StatusBadRequest, "invalid_request", msg)
	return false
}

// prepare waits the request's latency and draws its fate. A transient
// fate is answered here: it touches nothing, so a retry gets a fresh draw.
func (h *Handler) prepare(w http.ResponseWriter, r *http.Request, kind Kind, key, thirdParty string) (Fate, bool) {
	latency, err := h.dec.Latency(r.Header.Get("X-Sim-Latency"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return Fate{}, false
	}
	// The client may give up meanwhile; like an acquirer, the simulator
	// goes on (that is one way an outcome becomes unknown).
	if !h.wait(context.Background(), latency) {
		writeError(w, http.StatusServiceUnavailable, "shutting_down", "not processed: the simulator is stopping")
		return Fate{}, false
	}
	fate, err := h.dec.Decide(kind, key, r.Header.Get("X-Sim-Outcome"), thirdParty)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return Fate{}, false
	}
	if fate.Kind == FateTransient {
		h.count(string(kind), "transient")
		h.log.Info("transient failure", "op", kind, "key", key, "status", fate.Status)
		if ra := h.dec.Behaviour().RetryAfter; fate.Status == http.StatusTooManyRequests && ra > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ra.Seconds()))))
		}
		writeError(w, fate.Status, map[int]string{429: "rate_limited", 503: "unavailable"}[fate.Status],
			"not processed; retry with the same idempotency key")
		return Fate{}, false
	}
	return fate, true
}

// answer writes the engine's result — or, for an unknown fate, loses it.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, op string, fate Fate, res Result, err error) {
	switch {
	case errors.Is(err, ErrKeyBurnt):
		h.count(op, "key_burnt")
		writeError(w, http.StatusConflict, "key_burnt", "a look-up found nothing under this key, so nothing will ever move under it")
		return
	case errors.Is(err, ErrKeyMismatch):
		h.count(op, "key_mismatch")
		writeError(w, http.StatusUnprocessableEntity, "idempotency_mismatch", "this key was used with different parameters")
		return
	case err != nil:
		h.count(op, "error")
		h.log.Error("ledger", "op", op, "error", err.Error())
		writeError(w, http.StatusInternalServerError, "internal", "the ledger could not be written; the outcome is unknown")
		return
	}
	outcome := res.Entry.Status
	if res.Replayed {
		outcome += "_replayed"
	}
	if fate.Kind == FateUnknown {
		h.count(op, "unknown_"+fate.Lose)
		h.log.Info("answer lost", "op", op, "key", res.Entry.Key, "outcome", outcome, "lose", fate.Lose)
		h.lose(w, r, fate.Lose)
		return
	}
	h.count(op, outcome)
	status := http.StatusCreated
	if !res.Entry.Succeeded() {
		status = http.StatusPaymentRequired
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, status, res.Entry)
}

// lose drops an answer whose outcome is recorded: a 502 or 504 that says
// nothing, a connection closed without a response, or no answer until the
// client gives up (or HangMax, or shutdown) and then a closed connection.
func (h *Handler) lose(w http.ResponseWriter, r *http.Request, how string) {
	switch how {
	case Lose502:
		writeError(w, http.StatusBadGateway, "bad_gateway", "upstream failure; the outcome is unknown")
		return
	case Lose504:
		writeError(w, http.StatusGatewayTimeout, "gateway_timeout", "upstream timeout; the outcome is unknown")
		return
	case LoseHang:
		h.wait(r.Context(), h.dec.Behaviour().HangMax)
	}
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
		return
	}
	panic(http.ErrAbortHandler) // HTTP/2: abort the stream without a response
}

// wait sleeps d; it returns false if ctx or the server stopped it first.
func (h *Handler) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-h.stopping:
	}
	return false
}

func (h *Handler) lookup(kind Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		e, found, err := h.sim.Lookup(kind, key)
		switch {
		case err != nil:
			h.count("lookup", "error")
			h.log.Error("ledger", "op", "lookup", "error", err.Error())
			writeError(w, http.StatusInternalServerError, "internal", "the ledger could not be written")
		case !found:
			h.count("lookup", "not_found")
			h.log.Info("look-up found nothing; key burnt", "kind", kind, "key", key)
			writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("nothing recorded under %s key %q; the key is now burnt", kind, key))
		default:
			h.count("lookup", e.Status)
			writeJSON(w, http.StatusOK, e)
		}
	}
}

// LedgerView is the body of GET /v1/ledger.
type LedgerView struct {
	Movements []Entry    `json:"movements"` // charges and refunds that moved money
	Declines  []Entry    `json:"declines"`
	Burnt     []BurntKey `json:"burnt"`
}

func (h *Handler) ledger(w http.ResponseWriter, _ *http.Request) {
	entries, burnt := h.sim.Ledger()
	v := LedgerView{Movements: []Entry{}, Declines: []Entry{}, Burnt: burnt}
	if v.Burnt == nil {
		v.Burnt = []BurntKey{}
	}
	for _, e := range entries {
		if e.Succeeded() {
			v.Movements = append(v.Movements, e)
		} else {
			v.Declines = append(v.Declines, e)
		}
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *Handler) count(op, outcome string) { h.requests.WithLabelValues(op, outcome).Inc() }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes the simulator's error body, {code, message}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}
