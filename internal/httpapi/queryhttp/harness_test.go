package queryhttp_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/wildcat-payments/wildcat/internal/auth"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
	"github.com/wildcat-payments/wildcat/internal/httpapi/queryhttp"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/query"
	"github.com/wildcat-payments/wildcat/internal/search"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

const (
	testIssuer   = "wildcat"
	testAudience = "wildcat-api"
)

// stack is a query API over a real search engine with fresh indices made
// from the read-model contract (internal/projection), which the tests fill
// directly.
type stack struct {
	t         testing.TB
	url       string
	searchURL string
	sc        *search.Client
	prefix    string
	issuer    *auth.Issuer
	svc       *query.Service
}

type stackOptions struct {
	query.Options
	noIndices bool
	// keyLimiter limits API keys (nil: unlimited).
	keyLimiter *auth.KeyedLimiter
}

// mustStack starts the query API on a test server with its own index
// prefix on TEST_SEARCH_URL.
func mustStack(t testing.TB, opts stackOptions) *stack {
	t.Helper()
	searchURL, prefix := testenv.MustSearch(t)
	ctx := context.Background()
	sc, err := search.Open(ctx, searchURL, search.Options{Transport: search.Transport(false)})
	if err != nil {
		t.Fatalf("search.Open: %v", err)
	}
	s := &stack{t: t, sc: sc, prefix: prefix, searchURL: searchURL}
	if !opts.noIndices {
		s.createIndex(projection.PaymentsAlias(prefix)+"_"+projection.MappingVersion, projection.PaymentsMapping, projection.PaymentsAlias(prefix))
		s.createIndex(projection.CustomersAlias(prefix)+"_"+projection.MappingVersion, projection.CustomersMapping, projection.CustomersAlias(prefix))
		s.createIndex(projection.StateIndex(prefix), projection.StateMapping, "")
	}
	reg := httpapi.NewRegistry()
	s.serve(search.New(sc, prefix, reg), reg, opts.Options, opts.keyLimiter)
	return s
}

// memoryStack starts the query API over an in-memory searcher: no search
// engine needed.
func memoryStack(t testing.TB, searcher query.Searcher, opts query.Options) *stack {
	t.Helper()
	s := &stack{t: t}
	s.serve(searcher, httpapi.NewRegistry(), opts, nil)
	return s
}

// serve starts the API; a searcher that is a query.KeyFinder also
// authenticates API keys, as cmd/query-api wires it.
func (s *stack) serve(searcher query.Searcher, reg *prometheus.Registry, opts query.Options, keyLimiter *auth.KeyedLimiter) {
	s.t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		s.t.Fatal(err)
	}
	s.issuer = auth.NewIssuer(priv, testIssuer, testAudience, time.Hour)
	verifier := auth.NewCachedVerifier(auth.NewVerifier(s.issuer.PublicKey(), testIssuer, testAudience), 1000)
	s.svc = query.NewService(searcher, opts)
	r := httpapi.NewEngine(testenv.Logger(s.t), reg, httpapi.EngineOptions{Service: "query-api", RequestTimeout: 30 * time.Second})
	hopts := queryhttp.Options{Logger: testenv.Logger(s.t), KeyLimiter: keyLimiter}
	if kf, ok := searcher.(query.KeyFinder); ok {
		hopts.Keys = query.NewKeyAuthenticator(kf, query.KeyOptions{})
	}
	queryhttp.Register(r, s.svc, verifier, hopts)
	srv := httptest.NewServer(r)
	s.t.Cleanup(srv.Close)
	s.url = srv.URL
}

func (s *stack) createIndex(name, mapping, alias string) {
	s.t.Helper()
	var body map[string]any
	if err := json.Unmarshal([]byte(mapping), &body); err != nil {
		s.t.Fatal(err)
	}
	if alias != "" {
		body["aliases"] = map[string]any{alias: map[string]any{}}
	}
	s.engine(http.MethodPut, "/"+name, body)
}

// engine sends a request straight to the search engine and fails the test
// unless it answers 2xx.
func (s *stack) engine(method, path string, body any) []byte {
	s.t.Helper()
	status, out, err := s.sc.Do(context.Background(), method, path, body)
	if err != nil || status/100 != 2 {
		s.t.Fatalf("engine %s %s: %d %v %s", method, path, status, err, out)
	}
	return out
}

// bulk indexes documents with their id as _id, then refreshes.
func (s *stack) bulk(index string, docs ...any) {
	s.t.Helper()
	var buf bytes.Buffer
	for _, d := range docs {
		var id string
		switch d := d.(type) {
		case projection.PaymentDoc:
			id = d.ID
		case projection.CustomerDoc:
			id = d.ID
		default:
			s.t.Fatalf("bulk: %T", d)
		}
		fmt.Fprintf(&buf, `{"index":{"_index":%q,"_id":%q}}`+"\n", index, id)
		b, _ := json.Marshal(d)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	out := s.engine(http.MethodPost, "/_bulk?refresh=true", buf.Bytes())
	var res struct {
		Errors bool `json:"errors"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Errors {
		s.t.Fatalf("bulk: errors in %.2000s", out)
	}
}

func (s *stack) putPayments(docs ...projection.PaymentDoc) {
	s.t.Helper()
	for len(docs) > 0 {
		n := min(len(docs), 2000)
		batch := make([]any, n)
		for i := range n {
			batch[i] = docs[i]
		}
		s.bulk(projection.PaymentsAlias(s.prefix), batch...)
		docs = docs[n:]
	}
}

func (s *stack) putCustomers(docs ...projection.CustomerDoc) {
	s.t.Helper()
	batch := make([]any, len(docs))
	for i, d := range docs {
		batch[i] = d
	}
	s.bulk(projection.CustomersAlias(s.prefix), batch...)
}

func (s *stack) setApplied(lsn uint64) {
	s.t.Helper()
	s.engine(http.MethodPut, "/"+projection.StateIndex(s.prefix)+"/_doc/"+projection.StateDocID,
		projection.StateDoc{AppliedLSN: lsn, LSN: fmt.Sprintf("%X/%X", lsn>>32, uint32(lsn)), CommitTime: time.Now().UTC(), UpdatedAt: time.Now().UTC()})
}

func (s *stack) token(userID string) string {
	s.t.Helper()
	tok, err := s.issuer.Issue(userID)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// response is an HTTP answer already checked against the OpenAPI document.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem decodes a problem+json answer.
func (r response) problem(t testing.TB) httpapi.Problem {
	t.Helper()
	var p httpapi.Problem
	r.decode(t, &p)
	return p
}

// get sends GET path?q with the caller's token ("" for none) and extra
// headers, and validates the answer against the OpenAPI document.
func (s *stack) get(t testing.TB, token, path string, q url.Values, hdr ...string) response {
	t.Helper()
	u := s.url + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return s.getURL(t, token, u, hdr...)
}

func (s *stack) getURL(t testing.TB, token, u string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", u, err)
	}
	r := response{status: res.StatusCode, header: res.Header, body: body}
	mustSpec(t).check(t, req.URL.Path, r)
	return r
}

// spec validates responses against queryhttp.OpenAPI.
type spec struct {
	doc     map[string]any
	c       *jsonschema.Compiler
	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema
}

const specURL = "https://wildcat.invalid/openapi.json"

var (
	specOnce sync.Once
	theSpec  *spec
	specErr  error
)

func mustSpec(t testing.TB) *spec {
	t.Helper()
	specOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(queryhttp.OpenAPI))
		if err != nil {
			specErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.AssertFormat()
		if err := c.AddResource(specURL, doc); err != nil {
			specErr = err
			return
		}
		var m map[string]any
		if err := json.Unmarshal(queryhttp.OpenAPI, &m); err != nil {
			specErr = err
			return
		}
		theSpec = &spec{doc: m, c: c, schemas: map[string]*jsonschema.Schema{}}
	})
	if specErr != nil {
		t.Fatalf("openapi.json: %v", specErr)
	}
	return theSpec
}

func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// operation finds the path template of the document that matches path.
func (sp *spec) operation(path string) (string, bool) {
	paths := sp.doc["paths"].(map[string]any)
	if _, ok := paths[path]; ok {
		return path, true
	}
	for tmpl := range paths {
		if !strings.Contains(tmpl, "{") {
			continue
		}
		re := "^" + regexp.MustCompile(`\\\{[^/]+\\\}`).ReplaceAllString(regexp.QuoteMeta(tmpl), `[^/]+`) + "$"
		if regexp.MustCompile(re).MatchString(path) {
			return tmpl, true
		}
	}
	return "", false
}

// check fails t unless r's status is documented for path's GET operation,
// its content type is the documented one and a JSON body validates
// against the documented schema.
func (sp *spec) check(t testing.TB, path string, r response) {
	t.Helper()
	tmpl, ok := sp.operation(path)
	if !ok {
		t.Fatalf("openapi: %s is not documented", path)
	}
	op := sp.doc["paths"].(map[string]any)[tmpl].(map[string]any)["get"].(map[string]any)
	status := fmt.Sprint(r.status)
	resp, ok := op["responses"].(map[string]any)[status].(map[string]any)
	if !ok {
		t.Fatalf("openapi: GET %s answered %d, which is not documented: %s", tmpl, r.status, r.body)
	}
	ptr := "/paths/" + pointerToken(tmpl) + "/get/responses/" + status
	if ref, ok := resp["$ref"].(string); ok {
		ptr = strings.TrimPrefix(ref, "#")
		name := ptr[strings.LastIndex(ptr, "/")+1:]
		resp = sp.doc["components"].(map[string]any)["responses"].(map[string]any)[name].(map[string]any)
	}
	mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("openapi: GET %s %d: content type %q: %v", tmpl, r.status, r.header.Get("Content-Type"), err)
	}
	content := resp["content"].(map[string]any)
	if _, ok := content[mt]; !ok {
		t.Fatalf("openapi: GET %s %d: content type %s is not documented", tmpl, r.status, mt)
	}
	if hs, ok := resp["headers"].(map[string]any); ok {
		for h := range hs {
			if h == "Retry-After" && r.header.Get(h) == "" {
				t.Fatalf("openapi: GET %s %d: header %s missing", tmpl, r.status, h)
			}
		}
	}
	if !strings.HasSuffix(mt, "json") {
		return
	}
	loc := specURL + "#" + ptr + "/content/" + pointerToken(mt) + "/schema"
	sp.mu.Lock()
	sch, ok := sp.schemas[loc]
	if !ok {
		if sch, err = sp.c.Compile(loc); err != nil {
			sp.mu.Unlock()
			t.Fatalf("openapi: compile %s: %v", loc, err)
		}
		sp.schemas[loc] = sch
	}
	sp.mu.Unlock()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("openapi: GET %s %d: body is not JSON: %v: %.500s", tmpl, r.status, err, r.body)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("openapi: GET %s %d: body does not match the document: %v\n%.1000s", tmpl, r.status, err, r.body)
	}
}

// userExecutor is the executed_by of a payment a user made with an access
// token, as the projector writes it.
func userExecutor(id, name, email string) domain.Executor {
	return domain.Executor{Type: domain.ExecutorUser, ID: id, Name: name, Email: &email}
}
