package config

import "runtime/debug"

// Garbage-collector defaults of the services, used when the environment
// does not set GOGC or GOMEMLIMIT itself (the Go runtime reads those).
//
// The services keep little live heap (a few MB) but allocate quickly per
// request, so Go's default GOGC=100 collects dozens of times a second:
// 13 % of the query API's CPU under the search benchmark. GOGC=400 makes
// collections four times rarer (+8 % searches/s, p99 46 → 42 ms), and the
// soft memory limit makes the collector work harder before the heap could
// approach the 128 MB a service may use.
const (
	DefaultGCPercent   = 400
	DefaultMemoryLimit = 96 << 20
)

// TuneGC applies the defaults above unless getenv sets GOGC or GOMEMLIMIT.
func TuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
}
