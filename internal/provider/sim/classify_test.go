package sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wildcat-payments/wildcat/internal/processing"
	"github.com/wildcat-payments/wildcat/internal/provider/sim"
)

// want is the classification a test expects: a receipt, a decline code,
// or a transient failure with Unknown and RetryAfter.
type want struct {
	receipt    string // Reference of the receipt
	decline    string
	transient  string // Transient.Code
	unknown    bool
	retryAfter time.Duration
}

func check(t *testing.T, rec processing.Receipt, err error, w want) {
	t.Helper()
	switch {
	case w.receipt != "":
		if err != nil || rec.Reference != w.receipt {
			t.Fatalf("got %+v, %v; want receipt %s", rec, err, w.receipt)
		}
	case w.decline != "":
		d, ok := processing.AsDecline(err)
		if !ok || d.Code != w.decline {
			t.Fatalf("got %v (%T); want decline %s", err, err, w.decline)
		}
	default:
		var tr *processing.Transient
		if !errors.As(err, &tr) {
			t.Fatalf("got %v (%T); want *processing.Transient", err, err)
		}
		if tr.Code != w.transient || tr.Unknown != w.unknown || tr.RetryAfter != w.retryAfter {
			t.Fatalf("got Transient{Code: %q, Unknown: %v, RetryAfter: %s} (%v); want {%q, %v, %s}",
				tr.Code, tr.Unknown, tr.RetryAfter, err, w.transient, w.unknown, w.retryAfter)
		}
	}
}

func TestChargeClassification(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   want
	}{
		{"Created", 201, nil, `{"status":"succeeded","id":"ch_1","amount":100,"currency":"DKK"}`, want{receipt: "ch_1"}},
		{"Declined", 402, nil, `{"status":"declined","code":"insufficient_funds","message":"no"}`, want{decline: "insufficient_funds"}},
		{"KeyBurnt", 409, nil, `{"code":"key_burnt","message":"burnt"}`, want{decline: sim.CodeNotProcessed}},
		{"BadRequest", 400, nil, `{"code":"invalid_request","message":"amount"}`, want{decline: "invalid_request"}},
		{"RateLimited", 429, map[string]string{"Retry-After": "2"}, `{"code":"rate_limited"}`, want{transient: "rate_limited", retryAfter: 2 * time.Second}},
		{"Unavailable", 503, nil, `{"code":"unavailable"}`, want{transient: "http_503"}},
		{"InternalError", 500, nil, `{"code":"internal"}`, want{transient: "http_500", unknown: true}},
		{"BadGateway", 502, nil, ``, want{transient: "http_502", unknown: true}},
		{"GatewayTimeout", 504, nil, `<html>`, want{transient: "http_504", unknown: true}},
		{"OtherConflict", 409, nil, `{"code":"something"}`, want{transient: "http_409", unknown: true}},
		{"KeyMismatch", 422, nil, `{"code":"idempotency_mismatch"}`, want{transient: "http_422", unknown: true}},
		{"CreatedButGarbled", 201, nil, `{"status":"succ`, want{transient: "bad_response", unknown: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			rec, err := sim.New(srv.URL, time.Second).Charge(context.Background(), processing.Charge{Key: "k", Amount: 100, Currency: "DKK"})
			check(t, rec, err, tc.want)
		})
	}
}

func TestTransportClassification(t *testing.T) {
	t.Run("ConnectionRefusedMovedNothing", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = sim.New("http://"+addr, time.Second).Charge(context.Background(), processing.Charge{Key: "k", Amount: 1, Currency: "DKK"})
		check(t, processing.Receipt{}, err, want{transient: "connection_refused"})
	})
	t.Run("TimeoutAfterSendingIsUnknown", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		defer srv.Close()
		defer close(release)
		_, err := sim.New(srv.URL, 100*time.Millisecond).Charge(context.Background(), processing.Charge{Key: "k", Amount: 1, Currency: "DKK"})
		check(t, processing.Receipt{}, err, want{transient: "timeout", unknown: true})
	})
	t.Run("ConnectionClosedWithoutAnswerIsUnknown", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		}))
		defer srv.Close()
		_, err := sim.New(srv.URL, time.Second).Charge(context.Background(), processing.Charge{Key: "k", Amount: 1, Currency: "DKK"})
		check(t, processing.Receipt{}, err, want{transient: "connection", unknown: true})
	})
	t.Run("AnswerCutShortIsUnknown", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(201)
			_, _ = io.WriteString(w, `{"status":"succeeded"`)
			w.(http.Flusher).Flush()
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		}))
		defer srv.Close()
		_, err := sim.New(srv.URL, time.Second).Charge(context.Background(), processing.Charge{Key: "k", Amount: 1, Currency: "DKK"})
		check(t, processing.Receipt{}, err, want{transient: "connection", unknown: true})
	})
}

// recorder is a fake simulator that records the requests it gets and
// answers from a table of path → status and body.
type recorder struct {
	answers map[string]string // "METHOD path" → "status body"
	got     []string
	bodies  []map[string]any
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	k := req.Method + " " + req.URL.EscapedPath()
	r.got = append(r.got, k)
	var b map[string]any
	_ = json.NewDecoder(req.Body).Decode(&b)
	r.bodies = append(r.bodies, b)
	a, ok := r.answers[k]
	if !ok {
		a = `404 {"code":"not_found"}`
	}
	status, body, _ := strings.Cut(a, " ")
	w.WriteHeader(map[string]int{"200": 200, "201": 201, "404": 404, "500": 500}[status])
	_, _ = io.WriteString(w, body)
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		name      string
		key       string
		answers   map[string]string
		wantFound bool
		wantRef   string
		wantDecl  string
		wantErr   bool
		wantAsked []string
	}{
		{name: "ChargeFound", key: "pay_1", answers: map[string]string{"GET /v1/charges/pay_1": `200 {"status":"succeeded","id":"ch_1","amount":5,"currency":"DKK"}`},
			wantFound: true, wantRef: "ch_1", wantAsked: []string{"GET /v1/charges/pay_1"}},
		{name: "DeclineFound", key: "pay_2", answers: map[string]string{"GET /v1/charges/pay_2": `200 {"status":"declined","code":"do_not_honor","amount":5,"currency":"DKK"}`},
			wantFound: true, wantDecl: "do_not_honor", wantAsked: []string{"GET /v1/charges/pay_2"}},
		{name: "NotFoundAskedBoth", key: "pay_3", wantAsked: []string{"GET /v1/charges/pay_3", "GET /v1/refunds/pay_3"}},
		{name: "RefundKeyAsksRefundsFirst", key: "ref_4", answers: map[string]string{"GET /v1/refunds/ref_4": `200 {"status":"succeeded","id":"re_4","amount":5,"currency":"DKK"}`},
			wantFound: true, wantRef: "re_4", wantAsked: []string{"GET /v1/refunds/ref_4"}},
		{name: "ErrorIsUnanswered", key: "pay_5", answers: map[string]string{"GET /v1/refunds/pay_5": `500 {"code":"internal"}`},
			wantErr: true, wantAsked: []string{"GET /v1/charges/pay_5", "GET /v1/refunds/pay_5"}},
		{name: "KeyIsEscaped", key: "a/b", wantAsked: []string{"GET /v1/charges/a%2Fb", "GET /v1/refunds/a%2Fb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{answers: tc.answers}
			srv := httptest.NewServer(r)
			defer srv.Close()
			rec, found, err := sim.New(srv.URL, time.Second).Lookup(context.Background(), tc.key)
			if (err != nil) != tc.wantErr || found != tc.wantFound || rec.Reference != tc.wantRef || rec.DeclineCode != tc.wantDecl || rec.Declined != (tc.wantDecl != "") {
				t.Errorf("got %+v, found=%v, err=%v; want ref %q decline %q found=%v err=%v", rec, found, err, tc.wantRef, tc.wantDecl, tc.wantFound, tc.wantErr)
			}
			if strings.Join(r.got, ",") != strings.Join(tc.wantAsked, ",") {
				t.Errorf("asked %v, want %v", r.got, tc.wantAsked)
			}
		})
	}
	t.Run("Unreachable", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		if _, _, err := sim.New("http://"+addr, time.Second).Lookup(context.Background(), "pay_1"); err == nil {
			t.Error("got no error from an unreachable provider, want one")
		}
	})
}

func TestRequests(t *testing.T) {
	r := &recorder{answers: map[string]string{
		"POST /v1/charges": `201 {"status":"succeeded","id":"ch_1","amount":100,"currency":"DKK"}`,
		"POST /v1/refunds": `201 {"status":"succeeded","id":"re_1","amount":40,"currency":"DKK"}`,
	}}
	srv := httptest.NewServer(r)
	defer srv.Close()
	reg := prometheus.NewRegistry()
	c := sim.New(srv.URL, time.Second, sim.WithRegisterer(reg))
	_ = sim.New(srv.URL, time.Second, sim.WithRegisterer(reg)) // a second client shares the histogram
	ctx := context.Background()
	if _, err := c.Charge(ctx, processing.Charge{Key: "pay_1", PaymentID: "1", Amount: 100, Currency: "DKK", ThirdParty: "Acme",
		Reference: "ref-1", Drive: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refund(ctx, processing.Refund{Key: "ref_9", ChargeKey: "pay_1", RefundID: "9", Amount: 40, Currency: "DKK"}); err != nil {
		t.Fatal(err)
	}
	wantBodies := []map[string]any{
		{"idempotency_key": "pay_1", "payment_id": "1", "amount": 100.0, "currency": "DKK", "third_party": "Acme", "reference": "ref-1", "drive": 2.0},
		{"idempotency_key": "ref_9", "charge_key": "pay_1", "refund_id": "9", "amount": 40.0, "currency": "DKK"},
	}
	for i, w := range wantBodies {
		gb, _ := json.Marshal(r.bodies[i])
		wb, _ := json.Marshal(w)
		if string(gb) != string(wb) {
			t.Errorf("request %d: got body %s, want %s", i, gb, wb)
		}
	}
	if n := testutil.CollectAndCount(reg, "provider_request_duration_seconds"); n != 2 {
		t.Errorf("got %d histogram series, want 2 (charge ok, refund ok)", n)
	}
}
