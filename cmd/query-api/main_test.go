package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/auth"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/search"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfig(t *testing.T) {
	t.Run("EveryBadValueAtOnce", func(t *testing.T) {
		err := run(context.Background(), envOf(map[string]string{
			"CURSOR_SECRET":    "short",
			"SCOPE_CACHE_TTL":  "1s",
			"CONSISTENCY_WAIT": "10s",
			"JWKS_URL":         "ftp://example.com/jwks",
			"EXPORT_PAGE_SIZE": "0",
			"TOTAL_HITS_LIMIT": "1000001",
			"REQUEST_TIMEOUT":  "soon",
		}), io.Discard, nil)
		if err == nil {
			t.Fatal("want an error")
		}
		for _, name := range []string{"CURSOR_SECRET", "SCOPE_CACHE_TTL", "CONSISTENCY_WAIT", "JWKS_URL", "EXPORT_PAGE_SIZE", "TOTAL_HITS_LIMIT", "REQUEST_TIMEOUT"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error does not name %s: %v", name, err)
			}
		}
	})
}

// jwksServer publishes the current key; fail makes the next n requests 503.
type jwksServer struct {
	*httptest.Server
	mu   sync.Mutex
	key  ed25519.PublicKey
	fail atomic.Int32
	hits atomic.Int32
}

func newJWKSServer(t *testing.T, key ed25519.PublicKey) *jwksServer {
	s := &jwksServer{key: key}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.fail.Add(-1) >= 0 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(auth.NewJWKS(s.key))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(key ed25519.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = key
}

func newIssuer(t *testing.T) *auth.Issuer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return auth.NewIssuer(priv, "wildcat", "wildcat-api", time.Hour)
}

// start runs the binary's run function on port 0 and returns its URL.
func start(t *testing.T, env map[string]string) string {
	t.Helper()
	env["QUERY_API_ADDR"] = "127.0.0.1:0"
	if _, ok := env["COMMAND_API_URL"]; !ok {
		env["COMMAND_API_URL"] = "" // no command API here to report key uses to
	}
	return testenv.MustServe(t, 60*time.Second, func(ctx context.Context, ready func(string)) error {
		return run(ctx, envOf(env), io.Discard, ready)
	})
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// readModel creates the read-model indices under a fresh prefix with one
// customer linked to userID.
func readModel(t *testing.T, userID string) (searchURL, prefix string) {
	searchURL, prefix = testenv.MustSearch(t)
	sc, err := search.Open(context.Background(), searchURL, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path string, body any) {
		status, out, err := sc.Do(context.Background(), method, path, body)
		if err != nil || status/100 != 2 {
			t.Fatalf("%s %s: %d %v %s", method, path, status, err, out)
		}
	}
	for _, ix := range []struct{ name, mapping, alias string }{
		{projection.PaymentsAlias(prefix) + "_v1", projection.PaymentsMapping, projection.PaymentsAlias(prefix)},
		{projection.CustomersAlias(prefix) + "_v1", projection.CustomersMapping, projection.CustomersAlias(prefix)},
	} {
		var body map[string]any
		_ = json.Unmarshal([]byte(ix.mapping), &body)
		body["aliases"] = map[string]any{ix.alias: map[string]any{}}
		do(http.MethodPut, "/"+ix.name, body)
	}
	do(http.MethodPut, "/"+projection.CustomersAlias(prefix)+"/_doc/c1?refresh=true", projection.CustomerDoc{
		ID: "0c000000-0000-4000-8000-000000000001", Name: "Acme",
		UserIDs: []string{userID}, Users: []projection.CustomerUser{{ID: userID, Name: "Ann", Email: "ann@example.com"}},
	})
	return searchURL, prefix
}

const userID = "0a000000-0000-4000-8000-00000000000a"

func TestRunWithKeyFile(t *testing.T) {
	issuer := newIssuer(t)
	searchURL, prefix := readModel(t, userID)
	der, err := x509.MarshalPKIXPublicKey(issuer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "pub.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	url := start(t, map[string]string{"SEARCH_URL": searchURL, "INDEX_PREFIX": prefix, "JWT_PUBLIC_KEY_FILE": keyFile,
		"CURSOR_SECRET": strings.Repeat("k", 32)})
	tok, _ := issuer.Issue(userID)

	if status, body := get(t, url+"/v1/customers", tok); status != http.StatusOK || !strings.Contains(body, `"name":"Acme"`) {
		t.Fatalf("customers: %d %s", status, body)
	}
	if status, body := get(t, url+"/v1/payments", tok); status != http.StatusOK || !strings.Contains(body, `"total":0`) {
		t.Fatalf("payments: %d %s", status, body)
	}
	if status, _ := get(t, url+"/v1/payments", ""); status != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", status)
	}
	if status, body := get(t, url+"/openapi.json", ""); status != http.StatusOK || !strings.Contains(body, `"openapi": "3.1.0"`) {
		t.Fatalf("openapi: %d", status)
	}
	if status, _ := get(t, url+"/readyz", ""); status != http.StatusOK {
		t.Fatalf("readyz: %d", status)
	}
	_, metrics := get(t, url+"/metrics", "")
	for _, m := range []string{`query_search_duration_seconds_count{operation="scope"}`, `query_scope_lookups_total{cache="miss"}`, "http_request_duration_seconds"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
}

func TestRunWithJWKS(t *testing.T) {
	issuer := newIssuer(t)
	searchURL, prefix := readModel(t, userID)
	jwks := newJWKSServer(t, issuer.PublicKey())
	jwks.fail.Store(2) // the command API is still starting
	url := start(t, map[string]string{"SEARCH_URL": searchURL, "INDEX_PREFIX": prefix, "JWKS_URL": jwks.URL,
		"JWKS_REFRESH_INTERVAL": "1s", "JWT_PUBLIC_KEY_FILE": "/nonexistent"})
	if hits := jwks.hits.Load(); hits < 3 {
		t.Fatalf("JWKS fetched %d times, want retries until it answered", hits)
	}
	tok, _ := issuer.Issue(userID)
	if status, body := get(t, url+"/v1/customers", tok); status != http.StatusOK {
		t.Fatalf("customers: %d %s", status, body)
	}

	t.Run("KeyRotation", func(t *testing.T) {
		next := newIssuer(t)
		jwks.set(next.PublicKey())
		newTok, _ := next.Issue(userID)
		deadline := time.Now().Add(5 * time.Second)
		for {
			status, _ := get(t, url+"/v1/customers", newTok)
			if status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a token of the rotated key is still %d after 5s", status)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if status, _ := get(t, url+"/v1/customers", tok); status != http.StatusUnauthorized {
			t.Fatalf("old key's token: %d, want 401", status)
		}
	})
	t.Run("GivesUp", func(t *testing.T) {
		dead := newJWKSServer(t, issuer.PublicKey())
		dead.fail.Store(1 << 30)
		err := run(context.Background(), envOf(map[string]string{"SEARCH_URL": searchURL, "JWKS_URL": dead.URL,
			"JWKS_START_TIMEOUT": "700ms", "QUERY_API_ADDR": "127.0.0.1:0"}), io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), "jwks") {
			t.Fatalf("err = %v, want a jwks error", err)
		}
	})
}
