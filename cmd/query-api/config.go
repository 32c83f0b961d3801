package main

import (
	"log/slog"
	"net/url"
	"time"

	"github.com/wildcat-payments/wildcat/internal/config"
	"github.com/wildcat-payments/wildcat/internal/query"
)

// Config is everything the query API reads from its environment.
type Config struct {
	Addr      string `env:"QUERY_API_ADDR" envDefault:"127.0.0.1:8082"`
	SearchURL string `env:"SEARCH_URL" envDefault:"http://127.0.0.1:9200"`
	// SearchAPIKey authenticates to the engine ("Authorization: ApiKey");
	// basic auth goes in SEARCH_URL's userinfo instead.
	SearchAPIKey string `env:"SEARCH_API_KEY"`
	IndexPrefix  string `env:"INDEX_PREFIX" envDefault:""`
	// SearchCompression asks the engine for gzip responses: worth it only
	// when the engine is far away (it costs CPU on both sides).
	SearchCompression bool `env:"SEARCH_COMPRESSION" envDefault:"false"`
	// JWKSURL, when set, is where the verification key comes from (the
	// command API's /.well-known/jwks.json): fetched at start with retries
	// for JWKSStartTimeout, then refreshed every JWKSRefresh. Otherwise the
	// PEM public key in JWTPublicKeyFile is used.
	JWTPublicKeyFile string        `env:"JWT_PUBLIC_KEY_FILE" envDefault:".run/keys/jwt-ed25519.pub.pem"`
	JWKSURL          string        `env:"JWKS_URL" envDefault:""`
	JWKSRefresh      time.Duration `env:"JWKS_REFRESH_INTERVAL" envDefault:"5m"`
	JWKSStartTimeout time.Duration `env:"JWKS_START_TIMEOUT" envDefault:"60s"`
	JWTIssuer        string        `env:"JWT_ISSUER" envDefault:"wildcat"`
	JWTAudience      string        `env:"JWT_AUDIENCE" envDefault:"wildcat-api"`
	// CursorSecret signs pagination cursors (at least 32 bytes). Empty
	// means a random secret per process: cursors then break across
	// restarts, and replicas behind one load balancer must share a secret.
	CursorSecret    string        `env:"CURSOR_SECRET" envDefault:""`
	ScopeCacheTTL   time.Duration `env:"SCOPE_CACHE_TTL" envDefault:"200ms"`
	ConsistencyWait time.Duration `env:"CONSISTENCY_WAIT" envDefault:"5s"`
	ExportTimeout   time.Duration `env:"EXPORT_TIMEOUT" envDefault:"10m"`
	ExportPageSize  int           `env:"EXPORT_PAGE_SIZE" envDefault:"1000"`
	// TotalHitsLimit is how many matches a search counts exactly; beyond
	// it total is a lower bound (total_relation "gte").
	TotalHitsLimit int `env:"TOTAL_HITS_LIMIT" envDefault:"10000"`
	// APIKeyRateLimit requests per APIKeyRateWindow are allowed to each
	// API key (users are not limited here).
	APIKeyRateLimit  int           `env:"API_KEY_RATE_LIMIT" envDefault:"5000"`
	APIKeyRateWindow time.Duration `env:"API_KEY_RATE_WINDOW" envDefault:"1s"`
	// CommandAPIURL is where uses of API keys are reported, so that their
	// last_used_at covers reads ("" turns reporting off).
	CommandAPIURL          string        `env:"COMMAND_API_URL" envDefault:"http://127.0.0.1:8081"`
	KeyUsageReportInterval time.Duration `env:"API_KEY_USAGE_REPORT_INTERVAL" envDefault:"5s"`
	RequestTimeout         time.Duration `env:"REQUEST_TIMEOUT" envDefault:"30s"`
	WriteTimeout           time.Duration `env:"WRITE_TIMEOUT" envDefault:"60s"` // the CSV export has EXPORT_TIMEOUT instead
	ShutdownGrace          time.Duration `env:"SHUTDOWN_GRACE" envDefault:"15s"`
	LogLevel               slog.Level    `env:"LOG_LEVEL" envDefault:"info"`
}

// Validate reports every out-of-range value.
func (c *Config) Validate() error {
	var ck config.Check
	ck.That(c.Addr != "", "QUERY_API_ADDR must not be empty")
	ck.That(c.SearchURL != "", "SEARCH_URL must not be empty")
	ck.That(c.JWTPublicKeyFile != "" || c.JWKSURL != "", "one of JWT_PUBLIC_KEY_FILE or JWKS_URL is required")
	if c.JWKSURL != "" {
		u, err := url.Parse(c.JWKSURL)
		ck.That(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "JWKS_URL must be an http(s) URL")
	}
	ck.That(c.JWKSRefresh >= time.Second, "JWKS_REFRESH_INTERVAL must be at least 1s")
	if c.CommandAPIURL != "" {
		u, err := url.Parse(c.CommandAPIURL)
		ck.That(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "COMMAND_API_URL must be an http(s) URL or empty")
	}
	ck.That(c.KeyUsageReportInterval >= 10*time.Millisecond, "API_KEY_USAGE_REPORT_INTERVAL must be at least 10ms")
	ck.That(c.JWKSStartTimeout > 0, "JWKS_START_TIMEOUT must be positive")
	ck.That(c.JWTIssuer != "" && c.JWTAudience != "", "JWT_ISSUER and JWT_AUDIENCE must not be empty")
	ck.That(c.CursorSecret == "" || len(c.CursorSecret) >= query.MinCursorSecret,
		"CURSOR_SECRET must be at least %d bytes (or empty for a random one)", query.MinCursorSecret)
	ck.That(c.ScopeCacheTTL >= 0 && c.ScopeCacheTTL <= query.MaxScopeTTL,
		"SCOPE_CACHE_TTL must be between 0 and %s (revocation must take effect within 1s)", query.MaxScopeTTL)
	ck.That(c.ConsistencyWait > 0 && c.ConsistencyWait <= query.DefaultMaxWait,
		"CONSISTENCY_WAIT must be positive and at most %s", query.DefaultMaxWait)
	ck.That(c.ExportTimeout > 0, "EXPORT_TIMEOUT must be positive")
	ck.That(c.ExportPageSize >= 1 && c.ExportPageSize <= 10000, "EXPORT_PAGE_SIZE must be from 1 to 10000")
	ck.That(c.TotalHitsLimit >= 1 && c.TotalHitsLimit <= query.MaxTotalHitsLimit,
		"TOTAL_HITS_LIMIT must be from 1 to %d", query.MaxTotalHitsLimit)
	ck.That(c.APIKeyRateLimit >= 1, "API_KEY_RATE_LIMIT must be at least 1")
	ck.That(c.APIKeyRateWindow > 0, "API_KEY_RATE_WINDOW must be positive")
	ck.That(c.RequestTimeout > 0, "REQUEST_TIMEOUT must be positive")
	ck.That(c.WriteTimeout > c.RequestTimeout, "WRITE_TIMEOUT must exceed REQUEST_TIMEOUT (%s), got %s", c.RequestTimeout, c.WriteTimeout)
	ck.That(c.ShutdownGrace > 0, "SHUTDOWN_GRACE must be positive")
	return ck.Err()
}
