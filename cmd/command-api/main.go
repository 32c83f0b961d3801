// Command command-api is Wildcat's write side: users, tokens, customers,
// links and payments into PostgreSQL (docs/command-api.md). `command-api migrate`
// applies the migrations and exits; without arguments it migrates (unless
// MIGRATE_ON_START=false) and serves.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildcat-payments/wildcat/internal/auth"
	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/config"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
	"github.com/wildcat-payments/wildcat/internal/httpapi/commandhttp"
	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/webhook"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "command-api:", err)
		os.Exit(1)
	}
}

// run is the whole program; tests call it with their own environment and
// port 0. ready, if not nil, receives the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, ready func(addr string)) error {
	var cfg Config
	if err := config.Load(&cfg, getenv); err != nil {
		return err
	}
	config.TuneGC(getenv, 0)
	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "command-api")

	pool, err := postgres.OpenPool(ctx, cfg.DatabaseURL, postgres.PoolOptions{
		MaxConns: cfg.DBMaxConns, LockTimeout: cfg.DBLockTimeout, ApplicationName: "wildcat-command-api"})
	if err != nil {
		return err
	}
	defer pool.Close()

	switch {
	case len(args) == 1 && args[0] == "migrate":
		return postgres.Migrate(ctx, pool, logger)
	case len(args) > 0:
		return fmt.Errorf("unknown arguments %q (usage: command-api [migrate])", args)
	}
	if cfg.MigrateOnStart {
		if err := postgres.Migrate(ctx, pool, logger); err != nil {
			return err
		}
	}

	reg := httpapi.NewRegistry()
	svc, authn, err := newService(cfg, pool, reg)
	if err != nil {
		return err
	}
	r, err := router(cfg, logger, reg, pool, svc, authn)
	if err != nil {
		return err
	}

	bgCtx, stopBackground := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		cleanIdempotencyKeys(bgCtx, logger, svc, cfg.IdempotencyCleanupInterval, cfg.IdempotencyCleanupBatch)
	})
	wg.Go(func() {
		authn.integrations.RunKeyUsageFlusher(bgCtx, cfg.KeyUsageFlushInterval, func(err error) {
			logger.Warn("api key last_used_at flush", "error", err.Error())
		})
	})
	defer wg.Wait()
	defer stopBackground()

	return httpapi.ServeWith(ctx, logger, cfg.Addr, r, httpapi.ServeOptions{Grace: cfg.ShutdownGrace, WriteTimeout: cfg.WriteTimeout}, ready)
}

// authn is what the HTTP layer needs to issue and verify tokens.
type authn struct {
	issuer       *auth.Issuer
	verifier     httpapi.TokenVerifier
	integrations *command.Integrations
	executors    *command.Executors
}

// keyAuth authenticates API keys for the HTTP layer: a key acts with the
// authority of the user who created it, for its one customer.
type keyAuth struct{ in *command.Integrations }

func (k keyAuth) AuthenticateKey(ctx context.Context, secret string) (auth.Principal, error) {
	key, err := k.in.AuthenticateKey(ctx, secret)
	if err != nil {
		return auth.Principal{}, err
	}
	return auth.Principal{UserID: key.CreatedBy, KeyID: key.ID, KeyName: key.Name, CustomerID: key.CustomerID, Scopes: key.Scopes}, nil
}

// newService builds the command use cases on the PostgreSQL store, with
// the JWT issuer and the password hasher.
func newService(cfg Config, pool *pgxpool.Pool, reg *prometheus.Registry) (*command.Service, authn, error) {
	key, err := auth.LoadPrivateKey(cfg.JWTPrivateKeyFile)
	if err != nil {
		return nil, authn{}, err
	}
	issuer := auth.NewIssuer(key, cfg.JWTIssuer, cfg.JWTAudience, cfg.TokenTTL)
	verifier := auth.NewCachedVerifier(auth.NewVerifier(issuer.PublicKey(), cfg.JWTIssuer, cfg.JWTAudience), 100_000)
	hasher, err := auth.NewPasswordHasher(auth.PasswordParams{
		MemoryKiB: cfg.PasswordHashMemoryKiB, Time: cfg.PasswordHashIterations, Threads: 1}, cfg.PasswordHashConcurrency)
	if err != nil {
		return nil, authn{}, err
	}
	store := postgres.NewStore(pool, postgres.StoreOptions{
		GroupWriters: cfg.GroupWriters, GroupMaxSize: cfg.GroupMaxSize, Registerer: reg})
	svc := command.New(store, hasher, issuer, command.Options{
		IdempotencyTTL: cfg.IdempotencyTTL,
		MaxFutureDate:  cfg.MaxFutureDate,
		Limits: command.Limits{
			LoginPerClient: auth.NewKeyedLimiter(cfg.LoginClientLimit, cfg.LoginClientWindow),
			LoginPerEmail:  auth.NewKeyedLimiter(cfg.LoginEmailLimit, cfg.LoginEmailWindow),
			KnownClients:   auth.NewKnownClients(cfg.LoginKnownTTL),
			LoginPerAddr:   auth.NewKeyedLimiter(cfg.LoginAddrLimit, cfg.LoginAddrWindow),
			SignUpPerAddr:  auth.NewKeyedLimiter(cfg.SignUpAddrLimit, cfg.SignUpAddrWindow),
			LinkPerUser:    auth.NewKeyedLimiter(cfg.LinkEmailLimit, cfg.LinkEmailWindow),
		},
	})
	integrations := command.NewIntegrations(store, command.IntegrationOptions{
		AllowPrivateWebhooks: cfg.WebhookAllowPrivate, ValidateWebhookURL: webhook.ValidateURL})
	return svc, authn{issuer: issuer, verifier: verifier, integrations: integrations,
		executors: command.NewExecutors(store, store, 30*time.Second)}, nil
}

// router is the command API's HTTP engine: health, metrics and the API.
func router(cfg Config, logger *slog.Logger, reg *prometheus.Registry, pool *pgxpool.Pool, svc *command.Service, a authn) (*gin.Engine, error) {
	r := httpapi.NewEngine(logger, reg, httpapi.EngineOptions{Service: "command-api", RequestTimeout: cfg.RequestTimeout})
	proxies := make([]string, 0, len(cfg.TrustedProxies))
	for _, p := range cfg.TrustedProxies {
		if p = strings.TrimSpace(p); p != "" {
			proxies = append(proxies, p)
		}
	}
	if err := r.SetTrustedProxies(proxies); err != nil {
		return nil, fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}
	httpapi.RegisterHealth(r, reg, httpapi.Check{Name: "postgres", Check: pool.Ping})
	if err := commandhttp.Register(r, commandhttp.Options{
		Service: svc, Verifier: a.verifier, JWKS: auth.NewJWKS(a.issuer.PublicKey()), Registry: reg,
		Keys: keyAuth{a.integrations}, Integrations: a.integrations, Users: a.executors,
		KeyLimit: httpapi.LimitKeys(auth.NewKeyedLimiter(cfg.APIKeyRateLimit, cfg.APIKeyRateWindow)),
	}); err != nil {
		return nil, err
	}
	return r, nil
}

// cleanIdempotencyKeys deletes expired Idempotency-Keys every interval, in
// batches, until ctx ends.
func cleanIdempotencyKeys(ctx context.Context, logger *slog.Logger, svc *command.Service, interval time.Duration, batch int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		n, err := svc.DeleteExpiredIdempotencyKeys(ctx, batch)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Error("idempotency cleanup", "error", err.Error(), "deleted", n)
		case n > 0:
			logger.Info("idempotency cleanup", "deleted", n, "duration_ms", time.Since(start).Milliseconds())
		}
	}
}
