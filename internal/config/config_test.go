package config_test

import (
	"math"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/config"
)

type sample struct {
	Addr    string        `env:"ADDR" envDefault:"127.0.0.1:1"`
	TTL     time.Duration `env:"TTL" envDefault:"15m"`
	Conns   int           `env:"CONNS" envDefault:"4"`
	Enabled bool          `env:"ENABLED" envDefault:"true"`
}

func (s *sample) Validate() error {
	var c config.Check
	c.That(s.Conns >= 1 && s.Conns <= 100, "CONNS must be 1..100, got %d", s.Conns)
	return c.Err()
}

func TestLoad(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		var s sample
		if err := config.Load(&s, func(string) string { return "" }); err != nil {
			t.Fatal(err)
		}
		if s.Addr != "127.0.0.1:1" || s.TTL != 15*time.Minute || s.Conns != 4 || !s.Enabled {
			t.Fatalf("got %+v, want defaults", s)
		}
	})
	t.Run("EveryProblemAtOnce", func(t *testing.T) {
		env := map[string]string{"TTL": "soon", "CONNS": "0", "ENABLED": "maybe"}
		var s sample
		err := config.Load(&s, func(k string) string { return env[k] })
		if err == nil {
			t.Fatal("got nil, want an error")
		}
		for _, name := range []string{"TTL", "ENABLED", "CONNS must be 1..100"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not mention %s", err, name)
			}
		}
	})
}

func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	config.TuneGC(func(string) string { return "" }, config.SearchGCPercent)
	if got := debug.SetGCPercent(-1); got != config.SearchGCPercent {
		t.Errorf("GOGC = %d, want %d", got, config.SearchGCPercent)
	}
	debug.SetGCPercent(100)
	config.TuneGC(func(string) string { return "" }, 0)
	if got := debug.SetGCPercent(-1); got != 100 {
		t.Errorf("GOGC = %d with no percent asked for, want Go's 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != config.DefaultMemoryLimit {
		t.Errorf("memory limit = %d, want %d", got, config.DefaultMemoryLimit)
	}
	// The environment's own settings win.
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	config.TuneGC(func(k string) string { return map[string]string{"GOGC": "50", "GOMEMLIMIT": "1GiB"}[k] }, config.SearchGCPercent)
	if got := debug.SetGCPercent(-1); got != 100 {
		t.Errorf("GOGC = %d after GOGC was set, want it untouched", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit = %d after GOMEMLIMIT was set, want it untouched", got)
	}
}
