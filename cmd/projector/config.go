package main

import (
	"log/slog"
	"time"

	"github.com/wildcat-payments/wildcat/internal/config"
)

// Config is everything the projector reads from its environment.
type Config struct {
	Addr          string        `env:"PROJECTOR_ADDR" envDefault:"127.0.0.1:8083"`
	DatabaseURL   string        `env:"DATABASE_URL" envDefault:"postgres://wildcat:wildcat@127.0.0.1:55432/wildcat?sslmode=disable"`
	SearchURL     string        `env:"SEARCH_URL" envDefault:"http://127.0.0.1:9200"`
	IndexPrefix   string        `env:"INDEX_PREFIX" envDefault:""`
	Slot          string        `env:"REPLICATION_SLOT" envDefault:"wildcat_projector"`
	Publication   string        `env:"PUBLICATION" envDefault:"wildcat_projection"`
	ShutdownGrace time.Duration `env:"SHUTDOWN_GRACE" envDefault:"15s"`
	LogLevel      slog.Level    `env:"LOG_LEVEL" envDefault:"info"`
}

// Validate reports every out-of-range value.
func (c *Config) Validate() error {
	var ck config.Check
	ck.That(c.Addr != "", "PROJECTOR_ADDR must not be empty")
	ck.That(c.DatabaseURL != "", "DATABASE_URL must not be empty")
	ck.That(c.SearchURL != "", "SEARCH_URL must not be empty")
	ck.That(c.Slot != "" && c.Publication != "", "REPLICATION_SLOT and PUBLICATION must not be empty")
	ck.That(c.ShutdownGrace > 0, "SHUTDOWN_GRACE must be positive")
	return ck.Err()
}
