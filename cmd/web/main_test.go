package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	for name, body := range map[string]string{"index.html": "<html>app</html>", "assets/app.js": "console.log(1)"} {
		if err := os.WriteFile(filepath.Join(dist, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	echo := func(name string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, name+" "+r.Method+" "+r.URL.RequestURI()+" auth="+r.Header.Get("Authorization")+" xff="+r.Header.Get("X-Forwarded-For"))
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
