package main

import (
	"log/slog"
	"net/url"
	"time"

	"github.com/wildcat-payments/wildcat/internal/config"
)

// Config is everything the web server reads from its environment.
type Config struct {
	Addr          string        `env:"WEB_ADDR" envDefault:"127.0.0.1:8080"`
	Dist          string        `env:"WEB_DIST" envDefault:"web/dist"`
	CommandAPI    string        `env:"COMMAND_API" envDefault:"http://127.0.0.1:8081"`
	QueryAPI      string        `env:"QUERY_API" envDefault:"http://127.0.0.1:8082"`
	ShutdownGrace time.Duration `env:"SHUTDOWN_GRACE" envDefault:"15s"`
	WriteTimeout  time.Duration `env:"WRITE_TIMEOUT" envDefault:"60s"`
	ExportTimeout time.Duration `env:"EXPORT_TIMEOUT" envDefault:"10m"` // the proxied CSV export, instead of WRITE_TIMEOUT
	LogLevel      slog.Level    `env:"LOG_LEVEL" envDefault:"info"`
}

// Validate reports every bad value.
func (c *Config) Validate() error {
	var ck config.Check
	ck.That(c.Addr != "", "WEB_ADDR must not be empty")
	ck.That(c.Dist != "", "WEB_DIST must not be empty")
	for name, v := range map[string]string{"COMMAND_API": c.CommandAPI, "QUERY_API": c.QueryAPI} {
		u, err := url.Parse(v)
		ck.That(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "%s must be an http(s) URL, got %q", name, v)
	}
	ck.That(c.ShutdownGrace > 0, "SHUTDOWN_GRACE must be positive")
	ck.That(c.WriteTimeout > 0, "WRITE_TIMEOUT must be positive")
	ck.That(c.ExportTimeout > 0, "EXPORT_TIMEOUT must be positive")
	return ck.Err()
}
