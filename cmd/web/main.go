// Command web serves the built web UI (web/dist) and proxies /api/command/*
// to the command API and /api/query/* to the query API, so the browser talks
// to a single origin and no CORS is needed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wildcat-payments/wildcat/internal/config"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "web:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer, ready func(addr string)) error {
	var cfg Config
	if err := config.Load(&cfg, getenv); err != nil {
		return err
	}
	config.TuneGC(getenv, 0)
	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "web")
	dist := os.DirFS(cfg.Dist)
	if _, err := fs.Stat(dist, "index.html"); err != nil {
		return fmt.Errorf("web: %s/index.html missing; build the UI with `npm run build` in web/: %w", cfg.Dist, err)
	}
	return httpapi.ServeWith(ctx, logger, cfg.Addr, routes(cfg, logger, dist),
		httpapi.ServeOptions{Grace: cfg.ShutdownGrace, WriteTimeout: cfg.WriteTimeout}, ready)
}

// routes is the web server's handler: security headers on every answer,
// its own health endpoints (/metrics for loopback peers only), the two
// API proxies, and the UI.
func routes(cfg Config, logger *slog.Logger, dist fs.FS) http.Handler {
	cmdURL, _ := url.Parse(cfg.CommandAPI)
	qryURL, _ := url.Parse(cfg.QueryAPI)
	reg := httpapi.NewRegistry()
	r := httpapi.NewEngine(logger, reg, httpapi.EngineOptions{Service: "web"})
	r.Use(securityHeaders, localMetrics)
	httpapi.RegisterHealth(r, reg,
		httpapi.Check{Name: "command_api", Check: probe(cfg.CommandAPI + "/healthz")},
		httpapi.Check{Name: "query_api", Check: probe(cfg.QueryAPI + "/healthz")})
	r.Any("/api/command/*path", proxy(cmdURL, "/api/command", 0))
	r.Any("/api/query/*path", proxy(qryURL, "/api/query", cfg.ExportTimeout))
	r.NoRoute(spa(dist))
	return r
}

// contentSecurityPolicy allows scripts only from our own origin (the Vite
// build loads one module script, never inline code), styles from our origin
// plus inline (Mantine injects <style> elements and style attributes at run
// time), no plugins, no framing, no <base> or form targets elsewhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the browser-facing security headers on every answer
// (docs/security.md, *Web server*).
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.Next()
}

// localMetrics keeps the web server's own /metrics off the public origin:
// only a peer on the machine itself (a local scraper, make status) gets it.
// The peer is the TCP connection's, never a forwarded header.
func localMetrics(c *gin.Context) {
	if c.Request.URL.Path != "/metrics" {
		c.Next()
		return
	}
	host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		httpapi.WriteError(c, domain.Errorf(domain.ENOTFOUND, "No route %s %s.", c.Request.Method, c.Request.URL.Path))
	}
}

// proxied reports whether an API path may be reached through the proxy:
// the public API (/v1/...) and its documents. Health, readiness and
// /metrics of the APIs are for operators, not for the public origin.
func proxied(p string) bool {
	return strings.HasPrefix(p, "/v1/") || p == "/openapi.json" || p == "/.well-known/jwks.json"
}

// bodyLimit is the largest body the API accepts on path p
// (docs/command-api.md, *Errors*): the proxy refuses more itself, with the
// API's own 413, instead of streaming it into a connection the API has
// closed (which answered 502).
func bodyLimit(p string) int64 {
	if p == "/v1/payments/batch" {
		return httpapi.MaxBatchBody
	}
	return httpapi.MaxBody
}

// proxy forwards the public API paths to target with prefix stripped, with
// the API's body limit; streaming responses (CSV export) are flushed as they
// arrive.
// exportTimeout, when set, replaces the server's WRITE_TIMEOUT for the
// streamed CSV export.
func proxy(target *url.URL, prefix string, exportTimeout time.Duration) func(c *gin.Context) {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, prefix)
			pr.Out.URL.RawPath = ""
			pr.SetXForwarded()
		},
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeProblem(w, errTooLarge(tooLarge.Limit))
				return
			}
			w.Header().Set("Content-Type", httpapi.ProblemContentType)
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, `{"type":"https://wildcat.dev/problems/unavailable","title":"Bad Gateway","status":502,"detail":"The API is not reachable.","code":"unavailable"}`)
		},
	}
	return func(c *gin.Context) {
		p := path.Clean("/" + strings.TrimPrefix(c.Param("path"), "/"))
		if !proxied(p) {
			httpapi.WriteError(c, domain.Errorf(domain.ENOTFOUND, "No route %s %s.", c.Request.Method, c.Request.URL.Path))
			return
		}
		limit := bodyLimit(p)
		if c.Request.ContentLength > limit {
			httpapi.WriteError(c, errTooLarge(limit))
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		}
		if exportTimeout > 0 && p == "/v1/payments/export.csv" {
			_ = httpapi.ExtendWriteDeadline(c, exportTimeout)
		}
		rp.ServeHTTP(c.Writer, c.Request)
	}
}

func errTooLarge(limit int64) error {
	return domain.Errorf(domain.ETOOLARGE, "The request body exceeds %d bytes.", limit)
}

// writeProblem answers err as problem+json outside gin (the proxy's error
// handler).
func writeProblem(w http.ResponseWriter, err error) {
	p := httpapi.ProblemOf(err)
	body, _ := json.Marshal(p)
	w.Header().Set("Content-Type", httpapi.ProblemContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// spa serves files from dist, and index.html for client-side routes.
func spa(dist fs.FS) func(c *gin.Context) {
	files := http.FileServerFS(dist)
	gz := newGzipped(dist)
	return func(c *gin.Context) {
		if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
			httpapi.WriteError(c, domain.Errorf(domain.ENOTFOUND, "No route %s %s.", c.Request.Method, c.Request.URL.Path))
			return
		}
		p := strings.TrimPrefix(path.Clean(c.Request.URL.Path), "/")
		if strings.HasSuffix(p, ".map") {
			// Source maps are not built for production (vite.config.ts);
			// one left in dist is not published either.
			httpapi.WriteError(c, domain.Errorf(domain.ENOTFOUND, "No route %s %s.", c.Request.Method, c.Request.URL.Path))
			return
		}
		// A directory (/assets/) is a client route too: never a listing.
		if st, err := fs.Stat(dist, p); p == "" || errors.Is(err, fs.ErrNotExist) || err == nil && st.IsDir() {
			c.Header("Cache-Control", "no-cache")
			if !gz.serve(c, "index.html") {
				c.FileFromFS("/", http.FS(dist))
			}
			return
		}
		if strings.HasPrefix(p, "assets/") {
			c.Header("Cache-Control", "public, max-age=31536000, immutable")
		}
		if !gz.serve(c, p) {
			files.ServeHTTP(c.Writer, c.Request)
		}
	}
}

func probe(u string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %d", u, res.StatusCode)
		}
		return nil
	}
}
