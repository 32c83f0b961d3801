package client

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// RetryPolicy says how often and how patiently a request is retried.
// Only requests that are safe to repeat are retried: GET, HEAD, PUT,
// DELETE and OPTIONS, and anything carrying an Idempotency-Key (every
// create sent by this package does). They are retried after a connection
// error and after 429, 500, 502, 503 and 504 (and 409
// idempotency_in_progress: the same key is still being written).
type RetryPolicy struct {
	// MaxAttempts is the number of attempts, the first included; 1 turns
	// retries off. Default 4.
	MaxAttempts int
	// BaseDelay is the first backoff; it doubles per attempt, and a random
	// delay between 0 and it is waited ("full jitter"). Default 100 ms.
	BaseDelay time.Duration
	// MaxDelay caps the backoff. Default 5 s.
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; an answer asking
	// for a longer wait is returned (as *Error with RetryAfter) rather than
	// waited for. Default 30 s.
	MaxRetryAfter time.Duration
}

// NoRetry sends every request once.
var NoRetry = RetryPolicy{MaxAttempts: 1}

// DefaultRetry is the policy of a zero RetryPolicy.
var DefaultRetry = RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 5 * time.Second, MaxRetryAfter: 30 * time.Second}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultRetry.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultRetry.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultRetry.MaxDelay
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultRetry.MaxRetryAfter
	}
	return p
}

// backoff is the wait before attempt n+1 after n failed attempts (n ≥ 1):
// a random duration in [0, min(MaxDelay, BaseDelay·2^(n-1))].
func (p RetryPolicy) backoff(n int) time.Duration {
	ceil := p.MaxDelay
	if n-1 < 30 {
		ceil = min(p.MaxDelay, p.BaseDelay<<(n-1))
	}
	return rand.N(ceil + 1)
}

// safeToRepeat reports whether req may be sent again after an answer was
// possibly lost.
func safeToRepeat(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return req.Header.Get("Idempotency-Key") != ""
}

// retryableStatus reports whether an answer with this status is worth
// another attempt: the server did not (or may not) have done the work.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); 0 if
// absent or unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
