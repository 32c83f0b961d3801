package main

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// recorder collects latencies and errors of one scenario. Safe for
// concurrent use.
type recorder struct {
	mu     sync.Mutex
	lat    []time.Duration
	errors map[string]int
}

func newRecorder() *recorder { return &recorder{errors: map[string]int{}} }

func (r *recorder) ok(d time.Duration) {
	r.mu.Lock()
	r.lat = append(r.lat, d)
	r.mu.Unlock()
}

func (r *recorder) fail(kind string) {
	r.mu.Lock()
	r.errors[kind]++
	r.mu.Unlock()
}

// Stats summarizes a recorder over an elapsed wall time.
type Stats struct {
	Count   int            `json:"count"`
	PerSec  float64        `json:"per_sec"`
	P50Ms   float64        `json:"p50_ms"`
	P99Ms   float64        `json:"p99_ms"`
	MaxMs   float64        `json:"max_ms"`
	Errors  map[string]int `json:"errors,omitempty"`
	Elapsed float64        `json:"elapsed_s"`
}

func (r *recorder) stats(elapsed time.Duration, itemsPerOp int) Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	lat := slices.Clone(r.lat)
	slices.Sort(lat)
	s := Stats{Count: len(lat) * itemsPerOp, Elapsed: elapsed.Seconds(), Errors: r.errors}
	if elapsed > 0 {
		s.PerSec = float64(s.Count) / elapsed.Seconds()
	}
	if len(lat) > 0 {
		s.P50Ms = ms(quantile(lat, 0.50))
		s.P99Ms = ms(quantile(lat, 0.99))
		s.MaxMs = ms(lat[len(lat)-1])
	}
	if len(s.Errors) == 0 {
		s.Errors = nil
	}
	return s
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(float64(len(sorted)-1) * q)
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (s Stats) String() string {
	e := ""
	if n := s.errorCount(); n > 0 {
		e = fmt.Sprintf(" errors=%d %v", n, s.Errors)
	}
	return fmt.Sprintf("%9.0f/s  p50 %7.2f ms  p99 %7.2f ms  (n=%d)%s", s.PerSec, s.P50Ms, s.P99Ms, s.Count, e)
}

func (s Stats) errorCount() int {
	n := 0
	for _, v := range s.Errors {
		n += v
	}
	return n
}

// drive runs fn from clients goroutines until d has passed and returns the
// wall time. fn returns the error kind ("" for success).
func drive(clients int, d time.Duration, rec *recorder, fn func(worker int) string) time.Duration {
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if kind := fn(w); kind != "" {
					rec.fail(kind)
					continue
				}
				rec.ok(time.Since(t0))
			}
		}(w)
	}
	wg.Wait()
	return time.Since(start)
}
