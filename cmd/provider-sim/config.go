package main

import (
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/internal/config"
	"github.com/wildcat-payments/wildcat/internal/provider/simulator"
)

// Config is everything the simulator reads from its environment
// (docs/provider-sim.md, Environment).
type Config struct {
	Addr string `env:"SIM_ADDR" envDefault:"127.0.0.1:8090"`
	// AllowRemote lets SIM_ADDR be a non-loopback address (a container
	// listening on 0.0.0.0 behind its own network). Off, the simulator —
	// which moves pretend money for anyone who asks — stays on loopback.
	AllowRemote   bool          `env:"SIM_ALLOW_REMOTE" envDefault:"false"`
	LedgerFile    string        `env:"SIM_LEDGER_FILE"`
	Fsync         bool          `env:"SIM_FSYNC" envDefault:"true"`
	Latency       time.Duration `env:"SIM_LATENCY" envDefault:"20ms"`
	Jitter        time.Duration `env:"SIM_LATENCY_JITTER" envDefault:"0s"`
	TransientRate float64       `env:"SIM_TRANSIENT_RATE" envDefault:"0"`
	UnknownRate   float64       `env:"SIM_UNKNOWN_RATE" envDefault:"0"`
	DeclineRate   float64       `env:"SIM_DECLINE_RATE" envDefault:"0"`
	DeclineCodes  []string      `env:"SIM_DECLINE_CODES" envDefault:"insufficient_funds,do_not_honor,invalid_account" envSeparator:","`
	Seed          string        `env:"SIM_SEED"`
	RetryAfter    time.Duration `env:"SIM_RETRY_AFTER" envDefault:"1s"`
	HangMax       time.Duration `env:"SIM_HANG_MAX" envDefault:"30s"`
	ShutdownGrace time.Duration `env:"SHUTDOWN_GRACE" envDefault:"5s"`
	LogLevel      slog.Level    `env:"LOG_LEVEL" envDefault:"info"`
}

// Validate reports every out-of-range value.
func (c *Config) Validate() error {
	var ck config.Check
	ck.That(validAddr(c.Addr, c.AllowRemote), "SIM_ADDR must be host:port on a loopback address (127.0.0.1, ::1, localhost) unless SIM_ALLOW_REMOTE=true, got %q", c.Addr)
	ck.That(c.Latency >= 0 && c.Jitter >= 0, "SIM_LATENCY and SIM_LATENCY_JITTER must not be negative")
	for _, r := range []struct {
		name string
		v    float64
	}{{"SIM_TRANSIENT_RATE", c.TransientRate}, {"SIM_UNKNOWN_RATE", c.UnknownRate}, {"SIM_DECLINE_RATE", c.DeclineRate}} {
		ck.That(r.v >= 0 && r.v <= 1, "%s must be 0..1, got %g", r.name, r.v)
	}
	ck.That(c.TransientRate+c.UnknownRate+c.DeclineRate <= 1, "SIM_TRANSIENT_RATE + SIM_UNKNOWN_RATE + SIM_DECLINE_RATE must be at most 1")
	ck.That(len(c.codes()) > 0, "SIM_DECLINE_CODES must name at least one code")
	for _, code := range c.codes() {
		ck.That(code != "not_processed", "SIM_DECLINE_CODES: not_processed is reserved (docs/provider-sim.md, Burnt keys)")
	}
	if c.Seed != "" {
		_, err := strconv.ParseUint(c.Seed, 10, 64)
		ck.That(err == nil, "SIM_SEED must be an unsigned integer, got %q", c.Seed)
	}
	ck.That(c.RetryAfter >= 0, "SIM_RETRY_AFTER must not be negative")
	ck.That(c.HangMax > 0, "SIM_HANG_MAX must be positive")
	ck.That(c.ShutdownGrace > 0, "SHUTDOWN_GRACE must be positive")
	return ck.Err()
}

// Behaviour is the simulator's configured behaviour.
func (c *Config) Behaviour() simulator.Behaviour {
	seed, err := strconv.ParseUint(c.Seed, 10, 64)
	return simulator.Behaviour{Latency: c.Latency, Jitter: c.Jitter, TransientRate: c.TransientRate,
		UnknownRate: c.UnknownRate, DeclineRate: c.DeclineRate, DeclineCodes: c.codes(), RetryAfter: c.RetryAfter,
		HangMax: c.HangMax, Seed: seed, HasSeed: err == nil}
}

func (c *Config) codes() []string {
	var out []string
	for _, code := range c.DeclineCodes {
		if code = strings.TrimSpace(code); code != "" {
			out = append(out, code)
		}
	}
	return out
}

// validAddr accepts host:port whose host is loopback, or any host when
// remote is allowed. An empty host means every interface.
func validAddr(addr string, remote bool) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return false
	}
	if remote {
		return true
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
