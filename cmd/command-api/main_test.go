package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/auth"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/httpapi/commandhttp"
	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

// The end-to-end tests start the real wiring (run) on port 0 against a fresh
// PostgreSQL database and talk HTTP to it. Every response they receive is
// validated against the OpenAPI document (status, headers and body), so the
// document is kept true by the whole suite.

// server is a running command API under test.
type server struct {
	t       testing.TB
	base    string
	client  *http.Client
	db      *pgxpool.Pool // for assertions on what was written
	keyFile string
	dbURL   string
}

// syncBuffer collects the server's log lines; they are shown only when the
// test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// mustServer starts the command API with env on top of test defaults.
func mustServer(tb testing.TB, env map[string]string) *server {
	tb.Helper()
	dbURL := testenv.MustDatabase(tb)
	keyFile := filepath.Join(tb.TempDir(), "jwt.pem")
	if err := auth.GenerateKeyFile(keyFile); err != nil {
		tb.Fatal(err)
	}
	vars := map[string]string{
		"DATABASE_URL":         dbURL,
		"JWT_PRIVATE_KEY_FILE": keyFile,
		"COMMAND_API_ADDR":     "127.0.0.1:0",
		// Cheaper hashes keep the suite fast; the production cost is
		// exercised by internal/auth.
		"PASSWORD_HASH_MEMORY_KIB": "8192",
		"PASSWORD_HASH_ITERATIONS": "1",
		"SIGNUP_ADDR_LIMIT":        "0",
		"LOG_LEVEL":                "debug",
	}
	for k, v := range env {
		vars[k] = v
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, nil, func(k string) string { return vars[k] }, logs, func(addr string) { ready <- addr })
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		cancel()
		tb.Fatalf("run: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatalf("server did not start\n%s", logs)
	}
	pool, err := postgres.Open(context.Background(), dbURL, 4)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		pool.Close()
		cancel()
		if err := <-errc; err != nil {
			tb.Errorf("run returned %v", err)
		}
		if tb.Failed() {
			tb.Logf("server log:\n%s", logs)
		}
	})
	return &server{t: tb, base: "http://" + addr, db: pool, keyFile: keyFile, dbURL: dbURL,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}}
}

// with returns s reporting to t, for subtests.
func (s *server) with(t testing.TB) *server {
	c := *s
	c.t = t
	return &c
}

// response is a received response with its body read.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r response) problem(tb testing.TB) problem {
	tb.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		tb.Fatalf("status %d with Content-Type %q, want application/problem+json; body %s", r.Status, ct, r.Body)
	}
	var p problem
	r.json(tb, &p)
	if p.Status != r.Status || p.Code == "" || p.Title == "" || p.Type == "" {
		tb.Fatalf("malformed problem for status %d: %s", r.Status, r.Body)
	}
	return p
}

type problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail"`
	Code   string              `json:"code"`
	Errors []domain.FieldError `json:"errors"`
}

func (p problem) fields() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// req describes a request; Body is marshalled unless it is []byte or a
// string, which are sent as they are.
type req struct {
	Method, Path string
	Token        string
	Body         any
	Header       map[string]string
}

// do sends r, fails the test on any 5xx, and validates the response against
// the OpenAPI document.
func (s *server) do(r req) response {
	s.t.Helper()
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	hr, err := http.NewRequest(r.Method, s.base+r.Path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	res, err := s.client.Do(hr)
	if err != nil {
		s.t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	out := response{Status: res.StatusCode, Header: res.Header, Body: b}
	if out.Status >= 500 {
		s.t.Errorf("%s %s: status %d: %s", r.Method, r.Path, out.Status, b)
	}
	if err := validateResponse(hr, out); err != nil {
		s.t.Errorf("%s %s: response %d does not match the OpenAPI document: %v\nbody: %.500s", r.Method, r.Path, out.Status, err, b)
	}
	return out
}

// must sends r and fails unless the status is want.
func (s *server) must(r req, want int) response {
	s.t.Helper()
	res := s.do(r)
	if res.Status != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", r.Method, r.Path, res.Status, want, res.Body)
	}
	return res
}

var openAPI = sync.OnceValues(func() (routers.Router, error) {
	doc, err := commandhttp.OpenAPIJSON()
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	spec, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, err
	}
	if err := spec.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	spec.Servers = nil // match any host
	return legacy.NewRouter(spec)
})

// validateResponse checks res against the operation of hr in the OpenAPI
// document. Requests to undocumented routes (deliberately unknown paths and
// methods) are not validated.
func validateResponse(hr *http.Request, res response) error {
	router, err := openAPI()
	if err != nil {
		return err
	}
	route, params, err := router.FindRoute(hr)
	if err != nil {
		return nil
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route, Options: opts},
		Status:                 res.Status,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(res.Body)),
		Options:                opts,
	})
}

// count returns the number of rows of a table (a constant in the tests).
func (s *server) count(table string) int {
	s.t.Helper()
	var n int
	if err := s.db.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// counts snapshots every table of the write model.
func (s *server) counts() map[string]int {
	s.t.Helper()
	out := map[string]int{}
	for _, t := range []string{"users", "customers", "customer_users", "payments", "idempotency_keys", "refunds", "payment_events", "river_job"} {
		out[t] = s.count(t)
	}
	return out
}

func (s *server) assertCounts(want map[string]int) {
	s.t.Helper()
	got := s.counts()
	for k, v := range want {
		if got[k] != v {
			s.t.Errorf("%s has %d rows, want %d", k, got[k], v)
		}
	}
}

type user struct {
	ID, Email, Name, Password, Token string
}

var userSeq struct {
	sync.Mutex
	n int
}

// signUp creates a user and logs in.
func (s *server) signUp(name string) user {
	s.t.Helper()
	userSeq.Lock()
	userSeq.n++
	n := userSeq.n
	userSeq.Unlock()
	u := user{Email: fmt.Sprintf("%s.%d.%d@example.com", strings.ToLower(name), n, time.Now().UnixNano()), Name: name, Password: "correct horse battery staple"}
	res := s.must(req{Method: "POST", Path: "/v1/users", Body: map[string]string{"email": u.Email, "password": u.Password, "name": u.Name}}, http.StatusCreated)
	var out struct{ ID string }
	res.json(s.t, &out)
	u.ID = out.ID
	u.Token = s.login(u.Email, u.Password)
	return u
}

func (s *server) login(email, password string) string {
	s.t.Helper()
	res := s.must(req{Method: "POST", Path: "/v1/auth/token", Body: map[string]string{"email": email, "password": password}}, http.StatusOK)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	res.json(s.t, &tok)
	return tok.AccessToken
}

type customer struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Email     *string `json:"email"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
}

func (s *server) createCustomer(u user, name string) customer {
	s.t.Helper()
	res := s.must(req{Method: "POST", Path: "/v1/customers", Token: u.Token, Body: map[string]string{"name": name}}, http.StatusCreated)
	var c customer
	res.json(s.t, &c)
	return c
}

// payment is a payment response, read with the API's own type; every
// response is also checked against the OpenAPI document (server.do).
type payment = commandhttp.PaymentJSON

func newPayment(customerID string) map[string]any {
	return map[string]any{"customer_id": customerID, "amount": 1250, "currency": "DKK", "third_party": "ACME A/S"}
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}
