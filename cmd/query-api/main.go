// Command query-api is Wildcat's read side: permission-scoped payment
// searches served from the search engine only (docs/query-api.md). It verifies the
// command API's tokens with the public key and cannot mint them.
package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // IANA zones for the summary's tz, whatever the host has

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildcat-payments/wildcat/internal/auth"
	"github.com/wildcat-payments/wildcat/internal/config"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
	"github.com/wildcat-payments/wildcat/internal/httpapi/queryhttp"
	"github.com/wildcat-payments/wildcat/internal/query"
	"github.com/wildcat-payments/wildcat/internal/search"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "query-api:", err)
		os.Exit(1)
	}
}

// run is the whole program; tests call it with their own environment and
// port 0. ready, if not nil, receives the listening address.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer, ready func(addr string)) error {
	var cfg Config
	if err := config.Load(&cfg, getenv); err != nil {
		return err
	}
	config.TuneGC(getenv, config.SearchGCPercent)
	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "query-api")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	sc, err := search.Open(ctx, cfg.SearchURL, search.Options{Transport: search.Transport(cfg.SearchCompression), APIKey: cfg.SearchAPIKey})
	if err != nil {
		return err
	}
	logger.Info("search engine", "engine", sc.Engine.String(), "index_prefix", cfg.IndexPrefix)

	verifier, err := loadVerifier(ctx, logger, cfg)
	if err != nil {
		return err
	}

	cursors, err := cursorCodec(logger, cfg.CursorSecret)
	if err != nil {
		return err
	}

	reg := httpapi.NewRegistry()
	scopeLookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "query_scope_lookups_total",
		Help: "Lookups of a caller's linked customers, by whether the scope cache answered.",
	}, []string{"cache"})
	reg.MustRegister(scopeLookups)
	hit, miss := scopeLookups.WithLabelValues("hit"), scopeLookups.WithLabelValues("miss")

	searcher := search.New(sc, cfg.IndexPrefix, reg)
	svc := query.NewService(searcher, query.Options{
		Cursors:        cursors,
		ScopeTTL:       cfg.ScopeCacheTTL,
		MaxWait:        cfg.ConsistencyWait,
		ExportPageSize: cfg.ExportPageSize,
		TotalHitsLimit: cfg.TotalHitsLimit,
		OnScopeLookup: func(cached bool) {
			if cached {
				hit.Inc()
			} else {
				miss.Inc()
			}
		},
	})

	keys := keyAuthenticator(searcher, reg)

	r := httpapi.NewEngine(logger, reg, httpapi.EngineOptions{Service: "query-api", RequestTimeout: cfg.RequestTimeout})
	httpapi.RegisterHealth(r, reg, httpapi.Check{Name: "search", Check: sc.Ping})
	queryhttp.Register(r, svc, verifier, queryhttp.Options{ExportTimeout: cfg.ExportTimeout, Logger: logger,
		Keys: keys, KeyLimiter: auth.NewKeyedLimiter(cfg.APIKeyRateLimit, cfg.APIKeyRateWindow),
		KeyUsed: startKeyUsage(ctx, cfg, logger)}) // reports end with run (cancel)
	return httpapi.ServeWith(ctx, logger, cfg.Addr, r, httpapi.ServeOptions{Grace: cfg.ShutdownGrace, WriteTimeout: cfg.WriteTimeout}, ready)
}

// cursorCodec signs cursors with secret, or with a random key (valid only
// in this process) when it is empty.
func cursorCodec(logger *slog.Logger, secret string) (*query.CursorCodec, error) {
	if secret != "" {
		return query.NewCursorCodec([]byte(secret))
	}
	logger.Warn("CURSOR_SECRET is not set: cursors are signed with a random key and are valid only in this process; replicas must share one secret")
	return query.RandomCursorCodec(), nil
}

// keyAuthenticator authenticates API keys from the read model (their
// customers' access documents), counting in query_api_key_lookups_total
// whether its cache answered. Answers are cached for at most
// query.MaxScopeTTL, so a revocation takes effect within the freshness
// bound.
func keyAuthenticator(keys query.KeyFinder, reg prometheus.Registerer) *query.KeyAuthenticator {
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "query_api_key_lookups_total",
		Help: "Authentications of API keys, by whether the key cache answered.",
	}, []string{"cache"})
	reg.MustRegister(lookups)
	hit, miss := lookups.WithLabelValues("hit"), lookups.WithLabelValues("miss")
	return query.NewKeyAuthenticator(keys, query.KeyOptions{OnLookup: func(cached bool) {
		if cached {
			hit.Inc()
		} else {
			miss.Inc()
		}
	}})
}

// loadVerifier returns the token verifier: with JWKS_URL, the key it
// publishes (fetched now with retries, then refreshed in the background
// until ctx ends); otherwise the PEM public key file.
func loadVerifier(ctx context.Context, logger *slog.Logger, cfg Config) (*keyedVerifier, error) {
	if cfg.JWKSURL == "" {
		pub, err := auth.LoadPublicKey(cfg.JWTPublicKeyFile)
		if err != nil {
			return nil, err
		}
		logger.Info("token verification key", "source", "file", "kid", auth.KeyID(pub))
		return newKeyedVerifier(pub, cfg.JWTIssuer, cfg.JWTAudience), nil
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	var pub ed25519.PublicKey
	pub, err := loadJWKS(ctx, logger, hc, cfg.JWKSURL, cfg.JWKSStartTimeout)
	if err != nil {
		return nil, err
	}
	logger.Info("token verification key", "source", "jwks", "url", cfg.JWKSURL, "kid", auth.KeyID(pub))
	kv := newKeyedVerifier(pub, cfg.JWTIssuer, cfg.JWTAudience)
	go refreshJWKS(ctx, logger, hc, cfg.JWKSURL, cfg.JWKSRefresh, kv)
	return kv, nil
}
