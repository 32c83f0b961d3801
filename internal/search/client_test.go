package search_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/search"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		header  string
		want    search.Distribution
		wantErr bool
	}{
		{"OpenSearch2", `{"version":{"number":"2.19.1","distribution":"opensearch"},"tagline":"The OpenSearch Project: https://opensearch.org/"}`, "", search.OpenSearch, false},
		{"OpenSearch3", `{"version":{"number":"3.1.0","distribution":"opensearch"}}`, "", search.OpenSearch, false},
		{"Elasticsearch8", `{"version":{"number":"8.15.0"},"tagline":"You Know, for Search"}`, "Elasticsearch", search.Elasticsearch, false},
		{"ErrElasticsearch7", `{"version":{"number":"7.10.2"},"tagline":"You Know, for Search"}`, "", search.Elasticsearch, true},
		{"ErrOpenSearch1", `{"version":{"number":"1.3.0","distribution":"opensearch"}}`, "", search.OpenSearch, true},
		{"ErrUnknown", `{"hello":"world"}`, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set("X-Elastic-Product", tc.header)
				}
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			e, err := search.Detect(context.Background(), srv.Client(), srv.URL)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && e.Distribution != tc.want {
				t.Fatalf("distribution = %q, want %q", e.Distribution, tc.want)
			}
		})
	}
}

// TestProductCheck proves that an OpenSearch-like server, which never sends
// X-Elastic-Product, passes go-elasticsearch's product check through our
// RoundTripper.
func TestProductCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			_, _ = w.Write([]byte(`{"version":{"number":"2.19.1","distribution":"opensearch"}}`))
		default:
			_, _ = w.Write([]byte(`{"status":"green"}`))
		}
	}))
	defer srv.Close()
	c, err := search.Open(context.Background(), srv.URL, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("Ping through product-check transport: %v", err)
	}
}

// TestRealEngine creates an index, writes a document with an external
// version and searches it on the real engine from TEST_SEARCH_URL.
func TestRealEngine(t *testing.T) {
	url, prefix := testenv.MustSearch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := search.Open(ctx, url, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("engine: %s", c.Engine)
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	index := prefix + "probe"
	mapping := map[string]any{
		"settings": map[string]any{"number_of_shards": 1, "number_of_replicas": 0},
		"mappings": map[string]any{"dynamic": "strict", "properties": map[string]any{
			"id": map[string]any{"type": "keyword"}, "amount": map[string]any{"type": "long"},
		}},
	}
	mustDo(t, c, ctx, http.MethodPut, "/"+index, mapping, 200)
	mustDo(t, c, ctx, http.MethodPut, "/"+index+"/_doc/a?version_type=external&version=5", map[string]any{"id": "a", "amount": 1000000000000000}, 201)
	// An older version is rejected: the basis of "exactly once in effect".
	mustDo(t, c, ctx, http.MethodPut, "/"+index+"/_doc/a?version_type=external&version=4", map[string]any{"id": "a", "amount": 1}, 409)
	mustDo(t, c, ctx, http.MethodPost, "/"+index+"/_refresh", nil, 200)
	body := mustDo(t, c, ctx, http.MethodPost, "/"+index+"/_search", map[string]any{
		"query": map[string]any{"term": map[string]any{"id": "a"}},
	}, 200)
	var res struct {
		Hits struct {
			Hits []struct {
				Source struct {
					Amount int64 `json:"amount"`
				} `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Hits.Hits) != 1 || res.Hits.Hits[0].Source.Amount != 1000000000000000 {
		t.Fatalf("search got %s, want one hit with amount 10^15", body)
	}
}

func mustDo(t *testing.T, c *search.Client, ctx context.Context, method, path string, body any, want int) []byte {
	t.Helper()
	status, out, err := c.Do(ctx, method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, out)
	}
	return out
}

// TestOpenSendsCredentials: basic auth from SEARCH_URL's userinfo, or an API
// key, is sent with every request (detection and the client's own), and the
// URL the client uses carries no password. The local node has no security
// plugin, so an engine that demands credentials is played by a server on
// loopback answering like OpenSearch.
func TestOpenSendsCredentials(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		switch r.Header.Get("Authorization") {
		case "Basic d2lsZGNhdDpzM2NyZXQ6Lw==", "ApiKey a2V5aWQ6c2VjcmV0": // wildcat:s3cret:/ ; keyid:secret
		default:
			w.Header().Set("WWW-Authenticate", `Basic realm="security"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"version":{"number":"2.19.1","distribution":"opensearch"},"cluster_name":"x","status":"green"}`))
	}))
	t.Cleanup(srv.Close)
	host := srv.URL[len("http://"):]
	for _, tc := range []struct {
		name, url, apiKey string
		wantErr           bool
		wantAuth          string
	}{
		{"BasicAuthInURL", "http://wildcat:s3cret%3A%2F@" + host, "", false, "Basic d2lsZGNhdDpzM2NyZXQ6Lw=="},
		{"APIKey", srv.URL, "a2V5aWQ6c2VjcmV0", false, "ApiKey a2V5aWQ6c2VjcmV0"},
		{"ErrNoCredentials", srv.URL, "", true, ""},
		{"ErrWrongPassword", "http://wildcat:nope@" + host, "", true, ""},
		{"ErrBoth", "http://wildcat:s3cret@" + host, "a2V5aWQ6c2VjcmV0", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			ctx := context.Background()
			c, err := search.Open(ctx, tc.url, search.Options{APIKey: tc.apiKey})
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Open succeeded, want an error")
				}
				if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "nope") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			res, err := c.ES.Cluster.Health(c.ES.Cluster.Health.WithContext(ctx))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("cluster health: status %d, want 200", res.StatusCode)
			}
			mu.Lock()
			defer mu.Unlock()
			want := []string{"/ " + tc.wantAuth, "/_cluster/health " + tc.wantAuth}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
