package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/client"
)

// fakeAPI is an httptest server that answers with the statuses queued for
// it (then 201/200) and records every request it received.
type fakeAPI struct {
	t       *testing.T
	mu      sync.Mutex
	queue   []func(w http.ResponseWriter, r *http.Request)
	reqs    []*http.Request
	bodies  []string
	handler func(w http.ResponseWriter, r *http.Request) // after the queue
}

func newFake(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, handler: handler}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.bodies = append(f.bodies, string(b))
	var next func(w http.ResponseWriter, r *http.Request)
	if len(f.queue) > 0 {
		next, f.queue = f.queue[0], f.queue[1:]
	}
	f.mu.Unlock()
	if next != nil {
		next(w, r)
		return
	}
	f.handler(w, r)
}

func (f *fakeAPI) then(fns ...func(w http.ResponseWriter, r *http.Request)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, fns...)
}

func (f *fakeAPI) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

func problem(status int, code string, hdr ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "https://wildcat.dev/problems/" + code, "title": http.StatusText(status),
			"status": status, "detail": "detail of " + code, "code": code})
	}
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

const paymentJSON = `{"id":"0190c0de-0000-7000-8000-000000000001","payment_ref_id":"0190c0de-0000-7000-8000-000000000002",
"customer_id":"0190c0de-0000-7000-8000-000000000003","user_id":"0190c0de-0000-7000-8000-000000000004","amount":1250,"currency":"DKK",
"third_party":"ACME","description":"","status":"pending","date":"2024-05-01T12:00:00Z","created_at":"2024-05-01T12:00:00Z",
"updated_at":"2024-05-01T12:00:00Z","failure_code":null,"failure_message":null,"attempts":0,"processed_at":null,"amount_refunded":0,
"executed_by":{"type":"api_key","id":"0190c0de-0000-7000-8000-000000000005","name":"ingest"}}`

// commandAPI answers every request with a created payment and the given
// consistency token.
func commandAPI(token string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Consistency-Token", token)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, paymentJSON)
	}
}

var fast = client.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryAfter: 5 * time.Second}

func mustClient(t *testing.T, o client.Options) *client.Client {
	t.Helper()
	c, err := client.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var newPayment = client.NewPayment{CustomerId: "0190c0de-0000-7000-8000-000000000003", Amount: 1250, Currency: "DKK", ThirdParty: "ACME"}

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCreateRetriesWithTheSameIdempotencyKey(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before []func(w http.ResponseWriter, r *http.Request)
	}{
		{"ServiceUnavailable", []func(w http.ResponseWriter, r *http.Request){problem(503, "unavailable"), problem(503, "unavailable")}},
		{"InternalAndBadGateway", []func(w http.ResponseWriter, r *http.Request){problem(500, "internal"), problem(502, "bad_gateway")}},
		{"RateLimited", []func(w http.ResponseWriter, r *http.Request){problem(429, "rate_limited", "Retry-After", "0")}},
		{"ConnectionLost", []func(w http.ResponseWriter, r *http.Request){hangUp, hangUp}},
		{"IdempotencyInProgress", []func(w http.ResponseWriter, r *http.Request){problem(409, "idempotency_in_progress", "Retry-After", "0")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFake(t, commandAPI("c1.0000000000000010"))
			f.then(tc.before...)
			c := mustClient(t, client.Options{CommandURL: srv.URL, APIKey: "wc_test", Retry: fast})
			p, err := c.CreatePayment(context.Background(), newPayment)
			if err != nil {
				t.Fatal(err)
			}
			if p.Amount != 1250 || p.ExecutedBy.Type != "api_key" {
				t.Errorf("got payment %+v", p)
			}
			reqs := f.requests()
			if got, want := len(reqs), len(tc.before)+1; got != want {
				t.Fatalf("got %d attempts, want %d", got, want)
			}
			key := reqs[0].Header.Get("Idempotency-Key")
			if !uuidV7.MatchString(key) {
				t.Errorf("Idempotency-Key %q is not a UUIDv7", key)
			}
			for i, r := range reqs {
				if got := r.Header.Get("Idempotency-Key"); got != key {
					t.Errorf("attempt %d: Idempotency-Key %q, want %q (the first attempt's)", i+1, got, key)
				}
				if got := r.Header.Get("Authorization"); got != "Bearer wc_test" {
					t.Errorf("attempt %d: Authorization %q", i+1, got)
				}
				if f.bodies[i] != f.bodies[0] || f.bodies[i] == "" {
					t.Errorf("attempt %d: body %q, want the first attempt's %q", i+1, f.bodies[i], f.bodies[0])
				}
			}
		})
	}
}

func TestEachCallHasItsOwnIdempotencyKey(t *testing.T) {
	f, srv := newFake(t, commandAPI("c1.0000000000000010"))
	c := mustClient(t, client.Options{CommandURL: srv.URL, Retry: fast})
	for range 2 {
		if _, err := c.CreatePayment(context.Background(), newPayment); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreatePayment(context.Background(), newPayment, client.WithIdempotencyKey("order-4711")); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	k0, k1, k2 := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key"), reqs[2].Header.Get("Idempotency-Key")
	if k0 == k1 {
		t.Errorf("two calls sent the same key %q", k0)
	}
	if k2 != "order-4711" {
		t.Errorf("got key %q, want the caller's order-4711", k2)
	}
}

func TestRetriesOnlyWhatIsSafeToRepeat(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(c *client.Client) error
		want int // attempts
	}{
		{"CancelIsNotRetried", func(c *client.Client) error { _, err := c.CancelPayment(context.Background(), "x"); return err }, 1},
		{"PaymentIsRetried", func(c *client.Client) error { _, err := c.CreatePayment(context.Background(), newPayment); return err }, 4},
		{"RefundIsRetried", func(c *client.Client) error {
			_, err := c.CreateRefund(context.Background(), "x", client.NewRefund{})
			return err
		}, 4},
		{"RevokeIsRetried", func(c *client.Client) error { return c.RevokeAPIKey(context.Background(), "c", "k") }, 4},
		{"SearchIsRetried", func(c *client.Client) error { _, err := c.SearchPayments(context.Background(), nil); return err }, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFake(t, problem(503, "unavailable"))
			c := mustClient(t, client.Options{CommandURL: srv.URL, QueryURL: srv.URL, Retry: fast})
			err := tc.call(c)
			var e *client.Error
			if !errors.As(err, &e) || e.Status != 503 || e.Code != "unavailable" {
				t.Fatalf("got error %v, want the last 503 as *client.Error", err)
			}
			if got := len(f.requests()); got != tc.want {
				t.Errorf("got %d attempts, want %d", got, tc.want)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	f, srv := newFake(t, commandAPI("c1.0000000000000010"))
	f.then(problem(429, "rate_limited", "Retry-After", "1"))
	c := mustClient(t, client.Options{CommandURL: srv.URL, Retry: fast})
	start := time.Now()
	if _, err := c.CreatePayment(context.Background(), newPayment); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %v, want at least the 1 s Retry-After", d)
	}
	if got := len(f.requests()); got != 2 {
		t.Errorf("got %d attempts, want 2", got)
	}
}

func TestRetryAfterBeyondTheLimitIsReturned(t *testing.T) {
	f, srv := newFake(t, problem(429, "rate_limited", "Retry-After", "60"))
	c := mustClient(t, client.Options{CommandURL: srv.URL, Retry: fast})
	_, err := c.CreatePayment(context.Background(), newPayment)
	var e *client.Error
	if !errors.As(err, &e) || e.Code != "rate_limited" || e.RetryAfter != time.Minute {
		t.Fatalf("got %v, want *Error rate_limited with RetryAfter 1m", err)
	}
	if got := len(f.requests()); got != 1 {
		t.Errorf("got %d attempts, want 1", got)
	}
}

func TestContextEndsTheRetries(t *testing.T) {
	_, srv := newFake(t, problem(503, "unavailable", "Retry-After", "3"))
	c := mustClient(t, client.Options{CommandURL: srv.URL, Retry: client.RetryPolicy{MaxAttempts: 10, MaxRetryAfter: 10 * time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.CreatePayment(ctx, newPayment)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned after %v, want right after the deadline", d)
	}
}

func TestNoRetry(t *testing.T) {
	f, srv := newFake(t, problem(503, "unavailable"))
	c := mustClient(t, client.Options{CommandURL: srv.URL, Retry: client.NoRetry})
	if _, err := c.CreatePayment(context.Background(), newPayment); err == nil {
		t.Fatal("got no error")
	}
	if got := len(f.requests()); got != 1 {
		t.Errorf("got %d attempts, want 1", got)
	}
}

func TestProblemIsDecoded(t *testing.T) {
	_, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(422)
		_, _ = io.WriteString(w, `{"type":"https://wildcat.dev/problems/invalid_payments","title":"Unprocessable Entity","status":422,
			"detail":"The batch has 1 invalid field(s); nothing was written.","code":"invalid_payments",
			"errors":[{"field":"payments[1].amount","message":"must be positive"}]}`)
	})
	c := mustClient(t, client.Options{CommandURL: srv.URL})
	_, err := c.CreatePayments(context.Background(), []client.NewPayment{newPayment, newPayment})
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want *client.Error", err, err)
	}
	want := client.FieldError{Field: "payments[1].amount", Message: "must be positive"}
	if e.Status != 422 || e.Code != "invalid_payments" || len(e.Fields) != 1 || e.Fields[0] != want {
		t.Errorf("got %+v", e)
	}
	if got := client.ErrorCode(err); got != "invalid_payments" {
		t.Errorf("ErrorCode = %q", got)
	}
	if got, want := err.Error(), "wildcat: 422 invalid_payments: The batch has 1 invalid field(s); nothing was written. (payments[1].amount: must be positive)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestNonProblemErrorKeepsTheBody(t *testing.T) {
	_, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "short and stout")
	})
	c := mustClient(t, client.Options{CommandURL: srv.URL})
	_, err := c.Me(context.Background())
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 418 || e.Code != "" || string(e.Body) != "short and stout" {
		t.Errorf("got %#v", err)
	}
}
