package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// NewRegistry returns a Prometheus registry with the Go runtime and process
// collectors registered.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// EngineOptions configures NewEngine.
type EngineOptions struct {
	Service        string        // service name, used as a metric label
	RequestTimeout time.Duration // per-request deadline on the context; 0 means none
}

// NewEngine returns a gin engine with request IDs, panic recovery, one
// structured log line per request, request metrics on reg, a request
// deadline, and problem+json for unknown routes (404) and methods (405).
func NewEngine(logger *slog.Logger, reg *prometheus.Registry, opts EngineOptions) *gin.Engine {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.RemoveExtraSlash = true

	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:        "http_request_duration_seconds",
		Help:        "Duration of HTTP requests by route, method and status.",
		ConstLabels: prometheus.Labels{"service": opts.Service},
		Buckets:     []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method", "status"})
	reg.MustRegister(duration)

	r.Use(observe(logger, duration, opts.RequestTimeout))
	r.Use(gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, rec any) {
		logger.Error("panic", "error", fmt.Sprint(rec), "route", c.FullPath())
		WriteError(c, fmt.Errorf("httpapi: panic: %v", rec))
	}))
	r.NoRoute(func(c *gin.Context) {
		WriteError(c, domain.Errorf(domain.ENOTFOUND, "No route %s %s.", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		p := ProblemOf(domain.Errorf(domain.EINVALID, "Method %s is not allowed here.", c.Request.Method))
		p.Status, p.Title, p.Code, p.Type = http.StatusMethodNotAllowed, http.StatusText(http.StatusMethodNotAllowed),
			"method_not_allowed", "https://wildcat.dev/problems/method_not_allowed"
		c.Render(p.Status, problemRender{p})
		c.Abort()
	})
	return r
}

// observe is the middleware that gives each request its id and deadline,
// then, once handled, observes its duration and logs one line (health and
// metrics routes are observed, not logged).
func observe(logger *slog.Logger, duration *prometheus.HistogramVec, timeout time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader("X-Request-Id")
		if id == "" || len(id) > 128 {
			id = newRequestID()
		}
		c.Header("X-Request-Id", id)
		if timeout > 0 {
			ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
			defer cancel()
			c.Request = c.Request.WithContext(ctx)
		}
		c.Next()

		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		elapsed := time.Since(start)
		duration.WithLabelValues(route, c.Request.Method, strconv.Itoa(status)).Observe(elapsed.Seconds())
		if route == "/healthz" || route == "/readyz" || route == "/metrics" {
			return
		}
		attrs := []any{
			"request_id", id, "method", c.Request.Method, "route", route, "status", status,
			"duration_ms", float64(elapsed.Microseconds()) / 1000, "bytes", c.Writer.Size(),
			"client_ip", c.ClientIP(),
		}
		if p := Caller(c); p.IsKey() {
			attrs = append(attrs, "api_key_id", p.KeyID, "customer_id", p.CustomerID)
		} else if uid, ok := c.Get(UserIDKey); ok {
			attrs = append(attrs, "user_id", uid)
		}
		level := slog.LevelInfo
		if len(c.Errors) > 0 {
			err := c.Errors.Last().Err
			if status >= 500 {
				level = slog.LevelError
				attrs = append(attrs, "error", err.Error())
			} else {
				attrs = append(attrs, "error_code", domain.ErrorCode(err))
			}
		}
		logger.Log(c.Request.Context(), level, "request", attrs...)
	}
}

// UserIDKey is the gin context key under which authentication middleware
// stores the caller's user id (logged with the request).
const UserIDKey = "wildcat.user_id"

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// DefaultWriteTimeout bounds writing one response (from the end of the
// request headers) on a server started with Serve.
const DefaultWriteTimeout = time.Minute

// ServeOptions tunes ServeWith.
type ServeOptions struct {
	// Grace is how long shutdown waits for in-flight requests.
	Grace time.Duration
	// WriteTimeout bounds writing each response, so a slow or stalled
	// reader cannot hold a connection and its goroutine forever; it must
	// exceed the longest request timeout. A streaming handler extends its
	// own deadline with ExtendWriteDeadline. 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
}

// Serve is ServeWith with the DefaultWriteTimeout.
func Serve(ctx context.Context, logger *slog.Logger, addr string, h http.Handler, grace time.Duration, ready func(addr string)) error {
	return ServeWith(ctx, logger, addr, h, ServeOptions{Grace: grace}, ready)
}

// ExtendWriteDeadline moves the write deadline of c's response to d from
// now, past the server's WriteTimeout: for a streaming response (the CSV
// export) that has its own limit.
func ExtendWriteDeadline(c *gin.Context, d time.Duration) error {
	if err := http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(d)); err != nil {
		return fmt.Errorf("httpapi: extend write deadline: %w", err)
	}
	return nil
}

// ServeWith serves h on addr until ctx is done, then shuts down gracefully,
// waiting up to opts.Grace for in-flight requests. ready, if not nil,
// receives the bound address once listening (useful with port 0 in tests).
func ServeWith(ctx context.Context, logger *slog.Logger, addr string, h http.Handler, opts ServeOptions, ready func(addr string)) error {
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	grace := opts.Grace
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	ln, err := listen(ctx, addr)
	if err != nil {
		return fmt.Errorf("httpapi: listen %s: %w", addr, err)
	}
	logger.Info("listening", "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("httpapi: serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace_ms", grace.Milliseconds())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("httpapi: shutdown: %w", err)
	}
	return nil
}
