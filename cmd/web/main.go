// Command web serves the built web UI (web/dist) and proxies /api/command/*
// to the command API and /api/query/* to the query API, so the browser talks
// to a single origin and no CORS is needed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"path"
	"strings"
	"syscall"

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
	cmdURL, _ := url.Parse(cfg.CommandAPI)
	qryURL, _ := url.Parse(cfg.QueryAPI)

	reg := httpapi.NewRegistry()
	r := httpapi.NewEngine(logger, reg, httpapi.EngineOptions{Service: "web"})
	httpapi.RegisterHealth(r, reg,
		httpapi.Check{Name: "command_api", Check: probe(cfg.CommandAPI + "/healthz")},
		httpapi.Check{Name: "query_api", Check: probe(cfg.QueryAPI + "/healthz")})
	r.Any("/api/command/*path", proxy(cmdURL, "/api/command"))
	r.Any("/api/query/*path", proxy(qryURL, "/api/query"))
	r.NoRoute(spa(dist))
	return httpapi.Serve(ctx, logger, cfg.Addr, r, cfg.ShutdownGrace, ready)
}

// proxy forwards to target with prefix stripped; streaming responses (CSV
// export) are flushed as they arrive.
func proxy(target *url.URL, prefix string) func(c *gin.Context) {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, prefix)
			pr.Out.URL.RawPath = ""
			pr.SetXForwarded()
		},
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set("Content-Type", httpapi.ProblemContentType)
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, `{"type":"https://wildcat.dev/problems/unavailable","title":"Bad Gateway","status":502,"detail":"The API is not reachable.","code":"unavailable"}`)
		},
	}
	return func(c *gin.Context) { rp.ServeHTTP(c.Writer, c.Request) }
}

// spa serves files from dist, and index.html for client-side routes.
func spa(dist fs.FS) func(c *gin.Context) {
	files := http.FileServerFS(dist)
	return func(c *gin.Context) {
		if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
			httpapi.WriteError(c, domain.Errorf(domain.ENOTFOUND, "No route %s %s.", c.Request.Method, c.Request.URL.Path))
			return
		}
		p := strings.TrimPrefix(path.Clean(c.Request.URL.Path), "/")
		if _, err := fs.Stat(dist, p); p == "" || errors.Is(err, fs.ErrNotExist) {
			c.Header("Cache-Control", "no-cache")
			c.FileFromFS("/", http.FS(dist))
			return
		}
		if strings.HasPrefix(p, "assets/") {
			c.Header("Cache-Control", "public, max-age=31536000, immutable")
		}
		files.ServeHTTP(c.Writer, c.Request)
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
