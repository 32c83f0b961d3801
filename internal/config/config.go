// Package config loads a binary's Config struct from environment variables
// declared with `env:"NAME"` and `envDefault:"…"` tags (caarlos0/env), read
// through a getenv function so tests can pass their own environment. Every
// missing or malformed variable is reported in one error.
package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Validator is implemented by Config structs with rules beyond parsing
// (ranges, combinations). Validate returns every violation joined.
type Validator interface {
	Validate() error
}

// Load fills cfg (a pointer to a struct) from getenv, then runs its Validate
// method if it has one. The returned error lists every problem.
func Load(cfg any, getenv func(string) string) error {
	params, err := env.GetFieldParams(cfg)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	environ := make(map[string]string, len(params))
	for _, p := range params {
		if v := getenv(p.Key); v != "" {
			environ[p.Key] = v
		}
	}
	var errs []error
	if err := env.ParseWithOptions(cfg, env.Options{Environment: environ}); err != nil {
		var agg env.AggregateError
		if !errors.As(err, &agg) {
			agg.Errors = []error{err}
		}
		names := envNames(cfg)
		for _, e := range agg.Errors {
			var pe env.ParseError
			if errors.As(e, &pe) {
				e = fmt.Errorf("%s: invalid value %q: %w", names[pe.Name], environ[names[pe.Name]], pe.Err)
			}
			errs = append(errs, e)
		}
	}
	if v, ok := cfg.(Validator); ok {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("config: %d problem(s): %s", len(errs), strings.Join(msgs, "; "))
}

// envNames maps the top-level field names of the struct cfg points to onto
// their environment variable names, so errors speak of variables.
func envNames(cfg any) map[string]string {
	names := map[string]string{}
	addEnvNames(reflect.TypeOf(cfg).Elem(), names)
	return names
}

// addEnvNames adds the fields of struct t, and of the structs it embeds
// (a service's Config embeds its use case's tunables).
func addEnvNames(t reflect.Type, names map[string]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			addEnvNames(f.Type, names)
			continue
		}
		key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		names[f.Name] = key
	}
}

// Check collects rule violations for Validate methods. The zero value is
// ready to use.
type Check struct{ errs []error }

// That records msg (formatted) unless ok holds.
func (c *Check) That(ok bool, format string, args ...any) {
	if !ok {
		c.errs = append(c.errs, fmt.Errorf(format, args...))
	}
}

// Err joins the recorded violations (nil when none).
func (c *Check) Err() error { return errors.Join(c.errs...) }
