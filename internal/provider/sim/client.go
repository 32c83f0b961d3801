// Package sim is the processing.Provider for cmd/provider-sim, over its
// HTTP API (docs/provider-sim.md). It is also the model for a real
// provider's adapter: our key travels as the provider's idempotency key on
// every call, each failure is classified as a decline (final), a transient
// failure that certainly moved nothing, or an unknown outcome, and Lookup
// answers by key.
package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildcat-payments/wildcat/internal/processing"
)

// DefaultTimeout bounds a call when New is given no timeout.
const DefaultTimeout = 10 * time.Second

// Client talks to one simulator. It is safe for concurrent use.
type Client struct {
	base    string
	timeout time.Duration
	http    *http.Client
	seconds *prometheus.HistogramVec // nil: no metrics
}

var _ processing.Provider = (*Client)(nil)

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send through hc (its own Timeout should
// be zero: New's timeout bounds each call).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithRegisterer records each call's latency in the histogram
// provider_request_duration_seconds{provider="sim",op,result} of reg.
// Several Clients on one registry share it.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(c *Client) {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "provider_request_duration_seconds",
			Help:        "Latency of provider calls by operation (charge, refund, lookup) and result (ok, declined, transient, unknown, not_found, error).",
			ConstLabels: prometheus.Labels{"provider": "sim"},
			Buckets:     prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"op", "result"})
		if err := reg.Register(h); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return // a clashing metric of another shape: go without
			}
			h = are.ExistingCollector.(*prometheus.HistogramVec)
		}
		c.seconds = h
	}
}

// New returns a Client for the simulator at baseURL (e.g.
// "http://127.0.0.1:8090"). timeout bounds each call, from sending to the
// whole answer read (DefaultTimeout if not positive).
func New(baseURL string, timeout time.Duration, opts ...Option) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &Client{base: strings.TrimRight(baseURL, "/"), timeout: timeout}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 256 // one processor runs dozens of workers against one host
		c.http = &http.Client{Transport: t}
	}
	return c
}

type chargeBody struct {
	Key        string `json:"idempotency_key"`
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	Reference  string `json:"reference,omitempty"`
	ThirdParty string `json:"third_party,omitempty"`
	PaymentID  string `json:"payment_id,omitempty"`
	Drive      int    `json:"drive,omitempty"`
}

type refundBody struct {
	Key       string `json:"idempotency_key"`
	ChargeKey string `json:"charge_key"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	RefundID  string `json:"refund_id,omitempty"`
}

// Charge implements processing.Provider. Charge.Redrive asks the simulator
// to reopen the key if a negative look-up burnt it.
func (c *Client) Charge(ctx context.Context, ch processing.Charge) (processing.Receipt, error) {
	return c.post(ctx, "charge", "/v1/charges", chargeBody{Key: ch.Key, Amount: ch.Amount, Currency: ch.Currency,
		Reference: ch.Reference, ThirdParty: ch.ThirdParty, PaymentID: ch.PaymentID, Drive: ch.Drive})
}

// Refund implements processing.Provider.
func (c *Client) Refund(ctx context.Context, r processing.Refund) (processing.Receipt, error) {
	return c.post(ctx, "refund", "/v1/refunds", refundBody{Key: r.Key, ChargeKey: r.ChargeKey, Amount: r.Amount,
		Currency: r.Currency, RefundID: r.RefundID})
}

// Lookup implements processing.Provider. The simulator keeps charges and
// refunds apart, so a key is looked up among both (refunds first for our
// "ref_" keys): found in either is found; not found needs both to say so,
// and each such answer burns the key there.
func (c *Client) Lookup(ctx context.Context, key string) (processing.Receipt, bool, error) {
	paths := []string{"/v1/charges/", "/v1/refunds/"}
	if strings.HasPrefix(key, processing.RefundKey("")) {
		paths[0], paths[1] = paths[1], paths[0]
	}
	for _, p := range paths {
		rec, found, err := c.lookup(ctx, p+url.PathEscape(key))
		if err != nil || found {
			return rec, found, err
		}
	}
	return processing.Receipt{}, false, nil
}

func (c *Client) lookup(ctx context.Context, path string) (processing.Receipt, bool, error) {
	began := time.Now()
	res, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		c.observe("lookup", "error", began)
		return processing.Receipt{}, false, fmt.Errorf("sim: look up %s: %w", path, err)
	}
	switch res.status {
	case http.StatusOK:
		rec, err := receipt(res.body)
		if err != nil {
			c.observe("lookup", "error", began)
			return processing.Receipt{}, false, fmt.Errorf("sim: look up %s: %w", path, err)
		}
		c.observe("lookup", "ok", began)
		return rec, true, nil
	case http.StatusNotFound:
		c.observe("lookup", "not_found", began)
		return processing.Receipt{}, false, nil
	}
	c.observe("lookup", "error", began)
	return processing.Receipt{}, false, fmt.Errorf("sim: look up %s: HTTP %d: %s", path, res.status, errorOf(res.body).Message)
}

func (c *Client) post(ctx context.Context, op, path string, body any) (processing.Receipt, error) {
	began := time.Now()
	b, err := json.Marshal(body)
	if err != nil {
		return processing.Receipt{}, fmt.Errorf("sim: encode %s: %w", op, err)
	}
	res, err := c.do(ctx, http.MethodPost, path, b)
	var rec processing.Receipt
	if err == nil {
		rec, err = classify(res)
	}
	c.observe(op, resultOf(err), began)
	return rec, err
}

// response is a whole answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do makes one call within the timeout and reads the whole answer. Its
// errors are *processing.Transient: Unknown unless the request certainly
// never reached the simulator.
func (c *Client) do(ctx context.Context, method, path string, body []byte) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) { sent.Store(sent.Load() || i.Err == nil) },
	})
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return response{}, &processing.Transient{Code: "request", Err: fmt.Errorf("sim: %w", err)}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return response{}, transportError(err, sent.Load())
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		// The status line arrived, the rest did not: whatever it said
		// cannot be trusted to be complete.
		return response{}, &processing.Transient{Code: "connection", Unknown: true, Err: fmt.Errorf("sim: read answer: %w", err)}
	}
	return response{status: res.StatusCode, header: res.Header, body: b}, nil
}

func (c *Client) observe(op, result string, began time.Time) {
	if c.seconds != nil {
		c.seconds.WithLabelValues(op, result).Observe(time.Since(began).Seconds())
	}
}

func resultOf(err error) string {
	if err == nil {
		return "ok"
	}
	if _, ok := processing.AsDecline(err); ok {
		return "declined"
	}
	if processing.AsTransient(err).Unknown {
		return "unknown"
	}
	return "transient"
}
