package main

import (
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/internal/config"
)

// Config is everything the command API reads from its environment.
type Config struct {
	Addr              string        `env:"COMMAND_API_ADDR" envDefault:"127.0.0.1:8081"`
	DatabaseURL       string        `env:"DATABASE_URL" envDefault:"postgres://wildcat:wildcat@127.0.0.1:55432/wildcat?sslmode=disable"`
	DBMaxConns        int32         `env:"DB_MAX_CONNS" envDefault:"16"`
	DBLockTimeout     time.Duration `env:"DB_LOCK_TIMEOUT" envDefault:"3s"`
	GroupWriters      int           `env:"PAYMENT_GROUP_WRITERS" envDefault:"1"`
	GroupMaxSize      int           `env:"PAYMENT_GROUP_MAX" envDefault:"128"`
	JWTPrivateKeyFile string        `env:"JWT_PRIVATE_KEY_FILE" envDefault:".run/keys/jwt-ed25519.pem"`
	JWTIssuer         string        `env:"JWT_ISSUER" envDefault:"wildcat"`
	JWTAudience       string        `env:"JWT_AUDIENCE" envDefault:"wildcat-api"`
	TokenTTL          time.Duration `env:"TOKEN_TTL" envDefault:"15m"`
	MigrateOnStart    bool          `env:"MIGRATE_ON_START" envDefault:"true"`
	RequestTimeout    time.Duration `env:"REQUEST_TIMEOUT" envDefault:"10s"`
	WriteTimeout      time.Duration `env:"WRITE_TIMEOUT" envDefault:"30s"`
	ShutdownGrace     time.Duration `env:"SHUTDOWN_GRACE" envDefault:"15s"`
	LogLevel          slog.Level    `env:"LOG_LEVEL" envDefault:"info"`

	IdempotencyTTL             time.Duration `env:"IDEMPOTENCY_TTL" envDefault:"24h"`
	MaxFutureDate              time.Duration `env:"PAYMENT_MAX_FUTURE_DATE" envDefault:"24h"`
	IdempotencyCleanupInterval time.Duration `env:"IDEMPOTENCY_CLEANUP_INTERVAL" envDefault:"1m"`
	IdempotencyCleanupBatch    int           `env:"IDEMPOTENCY_CLEANUP_BATCH" envDefault:"1000"`

	PasswordHashMemoryKiB   uint32 `env:"PASSWORD_HASH_MEMORY_KIB" envDefault:"19456"`
	PasswordHashIterations  uint32 `env:"PASSWORD_HASH_ITERATIONS" envDefault:"2"`
	PasswordHashConcurrency int    `env:"PASSWORD_HASH_CONCURRENCY" envDefault:"4"`

	LoginClientLimit  int           `env:"LOGIN_CLIENT_LIMIT" envDefault:"10"`
	LoginClientWindow time.Duration `env:"LOGIN_CLIENT_WINDOW" envDefault:"15m"`
	LoginEmailLimit   int           `env:"LOGIN_EMAIL_LIMIT" envDefault:"100"`
	LoginEmailWindow  time.Duration `env:"LOGIN_EMAIL_WINDOW" envDefault:"1h"`
	LoginKnownTTL     time.Duration `env:"LOGIN_KNOWN_CLIENT_TTL" envDefault:"720h"`
	LoginAddrLimit    int           `env:"LOGIN_ADDR_LIMIT" envDefault:"100"`
	LoginAddrWindow   time.Duration `env:"LOGIN_ADDR_WINDOW" envDefault:"15m"`
	SignUpAddrLimit   int           `env:"SIGNUP_ADDR_LIMIT" envDefault:"100"`
	SignUpAddrWindow  time.Duration `env:"SIGNUP_ADDR_WINDOW" envDefault:"10m"`
	LinkEmailLimit    int           `env:"LINK_EMAIL_LIMIT" envDefault:"30"`
	LinkEmailWindow   time.Duration `env:"LINK_EMAIL_WINDOW" envDefault:"10m"`

	// TrustedProxies are the peers whose X-Forwarded-For names the client:
	// none by default, so nobody can choose the address their failed logins
	// count against. The local stack trusts loopback (the web server proxies
	// from there), docker-compose the web container's address.
	TrustedProxies []string `env:"TRUSTED_PROXIES" envSeparator:","`

	// API keys (docs/integrations.md): requests per key per window on the
	// payment routes, and how often last_used_at is written.
	APIKeyRateLimit       int           `env:"API_KEY_RATE_LIMIT" envDefault:"5000"`
	APIKeyRateWindow      time.Duration `env:"API_KEY_RATE_WINDOW" envDefault:"1s"`
	KeyUsageFlushInterval time.Duration `env:"API_KEY_USAGE_FLUSH_INTERVAL" envDefault:"5s"`
	// WebhookAllowPrivate accepts http:// and private, loopback and
	// link-local webhook URLs (the local stack's own tests).
	WebhookAllowPrivate bool `env:"WEBHOOK_ALLOW_PRIVATE" envDefault:"false"`
}

// Validate reports every out-of-range value.
func (c *Config) Validate() error {
	var ck config.Check
	ck.That(c.Addr != "", "COMMAND_API_ADDR must not be empty")
	ck.That(c.DatabaseURL != "", "DATABASE_URL must not be empty")
	ck.That(c.DBMaxConns >= 1 && c.DBMaxConns <= 1000, "DB_MAX_CONNS must be 1..1000, got %d", c.DBMaxConns)
	ck.That(c.GroupWriters >= 0 && c.GroupWriters <= int(c.DBMaxConns), "PAYMENT_GROUP_WRITERS must be 0..DB_MAX_CONNS (0 turns group commit off), got %d", c.GroupWriters)
	ck.That(c.GroupMaxSize >= 1 && c.GroupMaxSize <= 1000, "PAYMENT_GROUP_MAX must be 1..1000, got %d", c.GroupMaxSize)
	ck.That(c.DBLockTimeout >= 10*time.Millisecond, "DB_LOCK_TIMEOUT must be at least 10ms, got %s", c.DBLockTimeout)
	ck.That(c.JWTPrivateKeyFile != "", "JWT_PRIVATE_KEY_FILE must not be empty")
	ck.That(c.JWTIssuer != "" && c.JWTAudience != "", "JWT_ISSUER and JWT_AUDIENCE must not be empty")
	ck.That(c.TokenTTL >= time.Minute && c.TokenTTL <= 24*time.Hour, "TOKEN_TTL must be 1m..24h, got %s", c.TokenTTL)
	ck.That(c.RequestTimeout > 0, "REQUEST_TIMEOUT must be positive")
	ck.That(c.WriteTimeout > c.RequestTimeout, "WRITE_TIMEOUT must exceed REQUEST_TIMEOUT (%s), got %s", c.RequestTimeout, c.WriteTimeout)
	ck.That(c.ShutdownGrace > 0, "SHUTDOWN_GRACE must be positive")
	ck.That(c.IdempotencyTTL >= 24*time.Hour, "IDEMPOTENCY_TTL must be at least 24h (docs/command-api.md, Idempotency), got %s", c.IdempotencyTTL)
	ck.That(c.MaxFutureDate >= time.Minute, "PAYMENT_MAX_FUTURE_DATE must be at least 1m, got %s", c.MaxFutureDate)
	ck.That(c.IdempotencyCleanupInterval >= time.Second, "IDEMPOTENCY_CLEANUP_INTERVAL must be at least 1s, got %s", c.IdempotencyCleanupInterval)
	ck.That(c.IdempotencyCleanupBatch >= 1 && c.IdempotencyCleanupBatch <= 100_000, "IDEMPOTENCY_CLEANUP_BATCH must be 1..100000, got %d", c.IdempotencyCleanupBatch)
	ck.That(c.PasswordHashMemoryKiB >= 8*1024 && c.PasswordHashMemoryKiB <= 1<<20, "PASSWORD_HASH_MEMORY_KIB must be 8192..1048576, got %d", c.PasswordHashMemoryKiB)
	ck.That(c.PasswordHashIterations >= 1 && c.PasswordHashIterations <= 16, "PASSWORD_HASH_ITERATIONS must be 1..16, got %d", c.PasswordHashIterations)
	ck.That(c.PasswordHashConcurrency >= 1 && c.PasswordHashConcurrency <= 256, "PASSWORD_HASH_CONCURRENCY must be 1..256, got %d", c.PasswordHashConcurrency)
	ck.That(c.APIKeyRateLimit >= 0, "API_KEY_RATE_LIMIT must be ≥ 0 (0 turns it off), got %d", c.APIKeyRateLimit)
	ck.That(c.APIKeyRateWindow > 0, "API_KEY_RATE_WINDOW must be positive")
	ck.That(c.KeyUsageFlushInterval >= 100*time.Millisecond, "API_KEY_USAGE_FLUSH_INTERVAL must be at least 100ms, got %s", c.KeyUsageFlushInterval)
	for _, l := range []struct {
		name   string
		limit  int
		window time.Duration
	}{
		{"LOGIN_CLIENT", c.LoginClientLimit, c.LoginClientWindow},
		{"LOGIN_EMAIL", c.LoginEmailLimit, c.LoginEmailWindow},
		{"LOGIN_ADDR", c.LoginAddrLimit, c.LoginAddrWindow},
		{"SIGNUP_ADDR", c.SignUpAddrLimit, c.SignUpAddrWindow},
		{"LINK_EMAIL", c.LinkEmailLimit, c.LinkEmailWindow},
	} {
		ck.That(l.limit >= 0, "%s_LIMIT must be ≥ 0 (0 disables the limit), got %d", l.name, l.limit)
		ck.That(l.window >= time.Second, "%s_WINDOW must be at least 1s, got %s", l.name, l.window)
	}
	ck.That(c.LoginKnownTTL >= 0, "LOGIN_KNOWN_CLIENT_TTL must be ≥ 0 (0 remembers no client), got %s", c.LoginKnownTTL)
	for _, p := range c.TrustedProxies {
		p = strings.TrimSpace(p)
		_, errAddr := netip.ParseAddr(p)
		_, errPrefix := netip.ParsePrefix(p)
		ck.That(errAddr == nil || errPrefix == nil, "TRUSTED_PROXIES: %q is not an IP address or CIDR prefix", p)
	}
	return ck.Err()
}
