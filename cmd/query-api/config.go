package main

import (
	"log/slog"
	"time"

	"github.com/wildcat-payments/wildcat/internal/config"
)

// Config is everything the query API reads from its environment.
type Config struct {
	Addr             string        `env:"QUERY_API_ADDR" envDefault:"127.0.0.1:8082"`
	SearchURL        string        `env:"SEARCH_URL" envDefault:"http://127.0.0.1:9200"`
	IndexPrefix      string        `env:"INDEX_PREFIX" envDefault:""`
	JWTPublicKeyFile string        `env:"JWT_PUBLIC_KEY_FILE" envDefault:".run/keys/jwt-ed25519.pub.pem"`
	JWKSURL          string        `env:"JWKS_URL" envDefault:""`
	JWTIssuer        string        `env:"JWT_ISSUER" envDefault:"wildcat"`
	JWTAudience      string        `env:"JWT_AUDIENCE" envDefault:"wildcat-api"`
	RequestTimeout   time.Duration `env:"REQUEST_TIMEOUT" envDefault:"30s"`
	ShutdownGrace    time.Duration `env:"SHUTDOWN_GRACE" envDefault:"15s"`
	LogLevel         slog.Level    `env:"LOG_LEVEL" envDefault:"info"`
}

// Validate reports every out-of-range value.
func (c *Config) Validate() error {
	var ck config.Check
	ck.That(c.Addr != "", "QUERY_API_ADDR must not be empty")
	ck.That(c.SearchURL != "", "SEARCH_URL must not be empty")
	ck.That(c.JWTPublicKeyFile != "" || c.JWKSURL != "", "one of JWT_PUBLIC_KEY_FILE or JWKS_URL is required")
	ck.That(c.JWTIssuer != "" && c.JWTAudience != "", "JWT_ISSUER and JWT_AUDIENCE must not be empty")
	ck.That(c.RequestTimeout > 0, "REQUEST_TIMEOUT must be positive")
	ck.That(c.ShutdownGrace > 0, "SHUTDOWN_GRACE must be positive")
	return ck.Err()
}
