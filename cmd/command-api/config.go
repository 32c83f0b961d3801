package main

import (
	"log/slog"
	"time"

	"github.com/wildcat-payments/wildcat/internal/config"
)

// Config is everything the command API reads from its environment.
type Config struct {
	Addr              string        `env:"COMMAND_API_ADDR" envDefault:"127.0.0.1:8081"`
	DatabaseURL       string        `env:"DATABASE_URL" envDefault:"postgres://wildcat:wildcat@127.0.0.1:55432/wildcat?sslmode=disable"`
	DBMaxConns        int32         `env:"DB_MAX_CONNS" envDefault:"16"`
	JWTPrivateKeyFile string        `env:"JWT_PRIVATE_KEY_FILE" envDefault:".run/keys/jwt-ed25519.pem"`
	JWTIssuer         string        `env:"JWT_ISSUER" envDefault:"wildcat"`
	JWTAudience       string        `env:"JWT_AUDIENCE" envDefault:"wildcat-api"`
	TokenTTL          time.Duration `env:"TOKEN_TTL" envDefault:"15m"`
	MigrateOnStart    bool          `env:"MIGRATE_ON_START" envDefault:"true"`
	RequestTimeout    time.Duration `env:"REQUEST_TIMEOUT" envDefault:"10s"`
	ShutdownGrace     time.Duration `env:"SHUTDOWN_GRACE" envDefault:"15s"`
	LogLevel          slog.Level    `env:"LOG_LEVEL" envDefault:"info"`
}

// Validate reports every out-of-range value.
func (c *Config) Validate() error {
	var ck config.Check
	ck.That(c.Addr != "", "COMMAND_API_ADDR must not be empty")
	ck.That(c.DatabaseURL != "", "DATABASE_URL must not be empty")
	ck.That(c.DBMaxConns >= 1 && c.DBMaxConns <= 1000, "DB_MAX_CONNS must be 1..1000, got %d", c.DBMaxConns)
	ck.That(c.JWTPrivateKeyFile != "", "JWT_PRIVATE_KEY_FILE must not be empty")
	ck.That(c.JWTIssuer != "" && c.JWTAudience != "", "JWT_ISSUER and JWT_AUDIENCE must not be empty")
	ck.That(c.TokenTTL >= time.Minute && c.TokenTTL <= 24*time.Hour, "TOKEN_TTL must be 1m..24h, got %s", c.TokenTTL)
	ck.That(c.RequestTimeout > 0, "REQUEST_TIMEOUT must be positive")
	ck.That(c.ShutdownGrace > 0, "SHUTDOWN_GRACE must be positive")
	return ck.Err()
}
