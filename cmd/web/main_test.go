package main

import (
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/testenv"
)

// mustWeb starts the real wiring on port 0 with a dist folder and two fake
// APIs that echo the path they received.
func mustWeb(t *testing.T) string {
	t.Helper()
	dist := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dist, "assets"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"index.html": "<html>app</html>", "assets/app.js": "console.log(1)", "assets/app.js.map": `{"sources":["src/App.tsx"]}`} {
		if err := os.WriteFile(filepath.Join(dist, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	echo := func(name string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Like the APIs: a body over the limit (8 MiB for a batch, 1 MiB
			// otherwise) is read up to the limit and refused.
			limit := int64(1 << 20)
			if strings.HasSuffix(r.URL.Path, "/batch") {
				limit = 8 << 20
			}
			n, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, limit))
			if err != nil {
				http.Error(w, "too large", http.StatusRequestEntityTooLarge)
				return
			}
			_, _ = io.WriteString(w, name+" "+r.Method+" "+r.URL.RequestURI()+" auth="+r.Header.Get("Authorization")+" xff="+r.Header.Get("X-Forwarded-For")+" body="+strconv.FormatInt(n, 10))
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	cmdAPI, qryAPI := echo("command"), echo("query")
	env := map[string]string{"WEB_ADDR": "127.0.0.1:0", "WEB_DIST": dist, "COMMAND_API": cmdAPI.URL, "QUERY_API": qryAPI.URL, "LOG_LEVEL": "error"}
	return testenv.MustServe(t, 10*time.Second, func(ctx context.Context, ready func(string)) error {
		return run(ctx, func(k string) string { return env[k] }, io.Discard, ready)
	})
}

func TestWeb(t *testing.T) {
	base := mustWeb(t)
	for _, tc := range []struct {
		name, method, path, auth string
		header                   map[string]string
		wantStatus               int
		wantType, wantBody       string
	}{
		{"Index", "GET", "/", "", nil, 200, "text/html", "<html>app</html>"},
		{"ClientRouteGetsIndex", "GET", "/payments?status=failed", "", nil, 200, "text/html", "<html>app</html>"},
		{"Asset", "GET", "/assets/app.js", "", nil, 200, "javascript", "console.log(1)"},
		{"CommandProxyStripsPrefix", "POST", "/api/command/v1/payments", "Bearer t", nil, 200, "", "command POST /v1/payments auth=Bearer t"},
		{"QueryProxyKeepsQuery", "GET", "/api/query/v1/payments?limit=5&q=a%20b", "", nil, 200, "", "query GET /v1/payments?limit=5&q=a%20b auth="},
		// The proxy is the edge: a forwarded address sent by the browser is
		// replaced by the peer's, never passed on.
		{"ProxyReplacesForwardedFor", "POST", "/api/command/v1/auth/token", "", map[string]string{"X-Forwarded-For": "203.0.113.9"}, 200, "", "xff=127.0.0.1"},
		{"UnknownNonGetIsProblem", "DELETE", "/nothing", "", nil, 404, "application/problem+json", `"code":"not_found"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", res.StatusCode, tc.wantStatus, body)
			}
			if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, tc.wantType) {
				t.Errorf("Content-Type = %q, want it to contain %q", ct, tc.wantType)
			}
			if !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("body = %q, want it to contain %q", body, tc.wantBody)
			}
		})
	}
}

// TestWebEdge: the web server is the public edge (issue 18, low findings):
// security headers on every answer, no API /metrics (nor anything but the
// public API) through the proxy, no directory listing, no source maps, and
// a body over the API's limit is 413 problem+json, not 502.
func TestWebEdge(t *testing.T) {
	base := mustWeb(t)
	do := func(t *testing.T, method, path string, body io.Reader, size int64) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, body)
		if body != nil {
			req.ContentLength = size
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	t.Run("SecurityHeaders", func(t *testing.T) {
		for _, p := range []string{"/", "/payments", "/assets/app.js", "/api/query/v1/payments", "/nothing.txt"} {
			res, _ := do(t, "GET", p, nil, 0)
			csp := res.Header.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s: Content-Security-Policy %q lacks %q", p, csp, want)
				}
			}
			if scripts, _, _ := strings.Cut(strings.SplitAfter(csp, "script-src")[len(strings.SplitAfter(csp, "script-src"))-1], ";"); strings.Contains(scripts, "unsafe") {
				t.Errorf("%s: script-src %q allows unsafe sources", p, scripts)
			}
			for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin", "X-Frame-Options": "DENY"} {
				if got := res.Header.Get(h); got != want {
					t.Errorf("%s: %s = %q, want %q", p, h, got, want)
				}
			}
		}
	})
	for _, tc := range []struct {
		name, path string
		status     int
		body       string
	}{
		{"NoCommandMetrics", "/api/command/metrics", 404, `"code":"not_found"`},
		{"NoQueryMetrics", "/api/query/metrics", 404, `"code":"not_found"`},
		{"NoMetricsDotDot", "/api/query/v1/../metrics", 404, `"code":"not_found"`},
		{"NoAPIReadiness", "/api/command/readyz", 404, `"code":"not_found"`},
		{"NoDirectoryListing", "/assets/", 200, "<html>app</html>"},
		{"NoSourceMap", "/assets/app.js.map", 404, `"code":"not_found"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := do(t, "GET", tc.path, nil, 0)
			if res.StatusCode != tc.status || !strings.Contains(body, tc.body) {
				t.Fatalf("GET %s = %d %q, want %d with %q", tc.path, res.StatusCode, body, tc.status, tc.body)
			}
		})
	}
	t.Run("ProxiesPublicDocuments", func(t *testing.T) {
		for _, p := range []string{"/api/command/openapi.json", "/api/command/.well-known/jwks.json", "/api/query/openapi.json"} {
			if res, body := do(t, "GET", p, nil, 0); res.StatusCode != 200 || !strings.Contains(body, " GET /") {
				t.Errorf("GET %s = %d %q, want it proxied", p, res.StatusCode, body)
			}
		}
	})
	big := int64(10 << 20)
	for _, tc := range []struct {
		name, path string
		size       int64 // -1: chunked, no Content-Length
	}{
		{"TenMegabytes", "/api/command/v1/payments/batch", big},
		{"TenMegabytesChunked", "/api/command/v1/payments/batch", -1},
		{"TwoMegabytesToSingle", "/api/command/v1/payments", 2 << 20},
		{"TwoMegabytesChunkedToSingle", "/api/command/v1/payments", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.size
			if n < 0 {
				n = big
			}
			body := io.LimitReader(neverEnding('x'), n)
			res, got := do(t, "POST", tc.path, body, tc.size)
			if res.StatusCode != http.StatusRequestEntityTooLarge || res.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(got, `"code":"too_large"`) {
				t.Fatalf("POST %d bytes to %s = %d %s %q, want 413 problem+json too_large", n, tc.path, res.StatusCode, res.Header.Get("Content-Type"), got)
			}
		})
	}
	t.Run("BodyWithinLimitPasses", func(t *testing.T) {
		res, got := do(t, "POST", "/api/command/v1/payments", strings.NewReader(strings.Repeat("x", 1000)), 1000)
		if res.StatusCode != 200 || !strings.Contains(got, "body=1000") {
			t.Fatalf("POST 1000 bytes = %d %q, want it proxied whole", res.StatusCode, got)
		}
	})
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// TestWebMetricsOnlyForLoopback: the web server's own /metrics is not
// served to the public origin, only to a peer on the machine; a forwarded
// address changes nothing.
func TestWebMetricsOnlyForLoopback(t *testing.T) {
	h := routes(Config{CommandAPI: "http://127.0.0.1:1", QueryAPI: "http://127.0.0.1:1"}, slog.New(slog.DiscardHandler), os.DirFS(t.TempDir()))
	for _, tc := range []struct {
		peer, xff string
		want      int
	}{
		{"127.0.0.1:5000", "", 200},
		{"[::1]:5000", "", 200},
		{"203.0.113.9:5000", "", 404},
		{"203.0.113.9:5000", "127.0.0.1", 404},
	} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = tc.peer
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("GET /metrics from %s (X-Forwarded-For %q) = %d, want %d", tc.peer, tc.xff, rec.Code, tc.want)
		}
	}
}

func TestWebRefusesMissingDist(t *testing.T) {
	env := map[string]string{"WEB_ADDR": "127.0.0.1:0", "WEB_DIST": t.TempDir()}
	err := run(context.Background(), func(k string) string { return env[k] }, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "npm run build") {
		t.Fatalf("run with an empty dist = %v, want an error telling to build the UI", err)
	}
}

func TestConfigReportsEveryProblem(t *testing.T) {
	env := map[string]string{"COMMAND_API": "ftp://x", "QUERY_API": "nope", "SHUTDOWN_GRACE": "soon"}
	err := run(context.Background(), func(k string) string { return env[k] }, io.Discard, nil)
	if err == nil {
		t.Fatal("got nil, want a config error")
	}
	for _, want := range []string{"COMMAND_API", "QUERY_API", "SHUTDOWN_GRACE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// TestWebGzip: the UI's text files go out gzip-compressed to browsers that
// accept it, byte for byte the file; small files, other types and clients
// that refuse gzip get the file as it is.
func TestWebGzip(t *testing.T) {
	dist := t.TempDir()
	big := strings.Repeat("export const x = 'wildcat';\n", 200)
	for name, body := range map[string]string{"index.html": "<html>" + strings.Repeat(" ", 2000) + "app</html>", "assets/big.js": big, "assets/small.css": "a{}", "assets/logo.png": big} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dist, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dist, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := routes(Config{Dist: dist}, slog.New(slog.DiscardHandler), os.DirFS(dist))
	for _, tc := range []struct {
		name, path, accept string
		wantGzip           bool
		wantType, wantBody string
	}{
		{"JavaScript", "/assets/big.js", "gzip, deflate, br", true, "javascript", big},
		{"ClientRouteIndex", "/payments/123", "gzip", true, "text/html", "app</html>"},
		{"RefusedWithQZero", "/assets/big.js", "gzip;q=0, br", false, "javascript", big},
		{"NoAcceptEncoding", "/assets/big.js", "", false, "javascript", big},
		{"TooSmall", "/assets/small.css", "gzip", false, "text/css", "a{}"},
		{"NotText", "/assets/logo.png", "gzip", false, "image/png", big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.accept != "" {
				req.Header.Set("Accept-Encoding", tc.accept)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			gotGzip := res.Header.Get("Content-Encoding") == "gzip"
			if gotGzip != tc.wantGzip {
				t.Fatalf("Content-Encoding %q, want gzip=%v", res.Header.Get("Content-Encoding"), tc.wantGzip)
			}
			if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, tc.wantType) {
				t.Errorf("Content-Type %q, want %s", ct, tc.wantType)
			}
			body := io.Reader(res.Body)
			if gotGzip {
				zr, err := gzip.NewReader(res.Body)
				if err != nil {
					t.Fatal(err)
				}
				body = zr
			}
			got, _ := io.ReadAll(body)
			if n, _ := strconv.Atoi(res.Header.Get("Content-Length")); gotGzip && (n == 0 || n >= len(got)) {
				t.Errorf("Content-Length %d, want a compressed size below %d", n, len(got))
			}
			if !strings.HasSuffix(string(got), tc.wantBody) {
				t.Fatalf("body %.60q…, want it to end in %.60q", got, tc.wantBody)
			}
		})
	}
}
