package config

import "runtime/debug"

// Garbage-collector settings of the services, used when the environment
// does not set GOGC or GOMEMLIMIT itself (the Go runtime reads those).
//
// The query API keeps little live heap (a few MB) but allocates quickly per
// search, so Go's default GOGC=100 collects dozens of times a second: 13 %
// of its CPU under the search benchmark. SearchGCPercent makes collections
// four times rarer (+8 % searches/s, p99 46 → 42 ms). The write side keeps
// the default: there GOGC=400 bought nothing measurable and raised peak RSS
// (command API 60 → 105 MB, projector 46 → 87 MB). DefaultMemoryLimit makes
// the collector work harder before any heap could approach the 128 MB a
// service may use.
const (
	SearchGCPercent    = 400
	DefaultMemoryLimit = 96 << 20
)

// TuneGC sets GOGC to gcPercent (0 keeps Go's default) and the soft memory
// limit to DefaultMemoryLimit, each unless getenv sets it.
func TuneGC(getenv func(string) string, gcPercent int) {
	if getenv("GOGC") == "" && gcPercent > 0 {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
}
