package main

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/internal/config"
)

// Config is everything the receiver reads from its environment. The
// behaviour variables set its behaviour at start; POST /_admin/behaviour
// changes it at run time.
type Config struct {
	Addr string `env:"RECEIVER_ADDR" envDefault:"127.0.0.1:8095"`
	// AllowRemote lets RECEIVER_ADDR be a non-loopback address. Off, the
	// receiver — whose admin endpoints anyone can call — stays on loopback.
	AllowRemote bool `env:"RECEIVER_ALLOW_REMOTE" envDefault:"false"`
	// Secrets are the signing secrets accepted from the start; more are
	// added with POST /_admin/secrets.
	Secrets   []string      `env:"RECEIVER_SECRETS" envSeparator:","`
	Tolerance time.Duration `env:"RECEIVER_TOLERANCE" envDefault:"5m"`
	FailFirst int           `env:"RECEIVER_FAIL_FIRST" envDefault:"0"`
	DropFirst int           `env:"RECEIVER_DROP_FIRST" envDefault:"0"`
	Status    int           `env:"RECEIVER_FAIL_STATUS" envDefault:"500"`
	Delay     time.Duration `env:"RECEIVER_DELAY" envDefault:"0s"`
	// MaxRecords bounds the delivery records kept for
	// GET /_admin/received?records=true; counts and latencies are kept
	// for every delivery regardless.
	MaxRecords    int           `env:"RECEIVER_MAX_RECORDS" envDefault:"100000"`
	ShutdownGrace time.Duration `env:"SHUTDOWN_GRACE" envDefault:"5s"`
	LogLevel      slog.Level    `env:"LOG_LEVEL" envDefault:"info"`
}

// Validate reports every out-of-range value.
func (c *Config) Validate() error {
	var ck config.Check
	ck.That(validAddr(c.Addr, c.AllowRemote), "RECEIVER_ADDR must be host:port on a loopback address (127.0.0.1, ::1, localhost) unless RECEIVER_ALLOW_REMOTE=true, got %q", c.Addr)
	for _, s := range c.Secrets {
		ck.That(strings.TrimSpace(s) != "", "RECEIVER_SECRETS must not have empty entries")
	}
	ck.That(c.Tolerance > 0, "RECEIVER_TOLERANCE must be positive")
	if err := c.Behaviour().validate(); err != nil {
		ck.That(false, "RECEIVER_FAIL_FIRST, RECEIVER_DROP_FIRST, RECEIVER_FAIL_STATUS, RECEIVER_DELAY: %v", err)
	}
	ck.That(c.MaxRecords >= 0, "RECEIVER_MAX_RECORDS must not be negative")
	ck.That(c.ShutdownGrace > 0, "SHUTDOWN_GRACE must be positive")
	return ck.Err()
}

// Behaviour is the configured starting behaviour.
func (c *Config) Behaviour() Behaviour {
	return Behaviour{FailFirst: c.FailFirst, DropFirst: c.DropFirst, Status: c.Status, DelayMS: int(c.Delay.Milliseconds())}
}

// validAddr accepts host:port whose host is loopback, or any host when
// remote is allowed. An empty host means every interface.
func validAddr(addr string, remote bool) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return false
	}
	if remote || host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
