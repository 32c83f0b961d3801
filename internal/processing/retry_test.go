package processing_test

import (
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/processing"
)

func TestRetryDelay(t *testing.T) {
	policy := func(s processing.Strategy, r float64) processing.RetryPolicy {
		return processing.RetryPolicy{Strategy: s, Base: time.Second, Cap: 30 * time.Second, MaxAttempts: 5,
			Rand: func() float64 { return r }}
	}
	for _, tc := range []struct {
		name    string
		policy  processing.RetryPolicy
		attempt int
		want    time.Duration
	}{
		{"Immediate", policy(processing.StrategyImmediate, 0.5), 3, 0},
		{"IncrementalFirst", policy(processing.StrategyIncremental, 0), 1, time.Second},
		{"IncrementalThird", policy(processing.StrategyIncremental, 0), 3, 3 * time.Second},
		{"IncrementalCapped", policy(processing.StrategyIncremental, 0), 100, 30 * time.Second},
		{"IncrementalZeroAttempt", policy(processing.StrategyIncremental, 0), 0, time.Second},
		{"ExponentialFirstLowJitter", policy(processing.StrategyExponential, 0), 1, 500 * time.Millisecond},
		{"ExponentialFirstHighJitter", policy(processing.StrategyExponential, 0.999999999), 1, time.Second - 1},
		{"ExponentialFourth", policy(processing.StrategyExponential, 0), 4, 4 * time.Second},
		{"ExponentialCapped", policy(processing.StrategyExponential, 0.5), 60, 22500 * time.Millisecond},
		{"ExponentialHugeAttempt", policy(processing.StrategyExponential, 0), 1 << 30, 15 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.policy.Delay(tc.attempt); got != tc.want {
				t.Errorf("Delay(%d) = %s, want %s", tc.attempt, got, tc.want)
			}
		})
	}
}

func TestRetryExhausted(t *testing.T) {
	p := processing.RetryPolicy{Strategy: processing.StrategyExponential, Base: time.Second, Cap: time.Minute, MaxAttempts: 3, MaxAge: time.Hour}
	for _, tc := range []struct {
		name    string
		attempt int
		age     time.Duration
		want    bool
	}{
		{"FirstAttempt", 1, 0, false},
		{"BelowMax", 2, 59 * time.Minute, false},
		{"MaxAttempts", 3, 0, true},
		{"MaxAge", 1, time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Exhausted(tc.attempt, tc.age); got != tc.want {
				t.Errorf("Exhausted(%d, %s) = %v, want %v", tc.attempt, tc.age, got, tc.want)
			}
		})
	}
	t.Run("NoMaxAge", func(t *testing.T) {
		p := p
		p.MaxAge = 0
		if p.Exhausted(1, 1000*time.Hour) {
			t.Error("Exhausted with MaxAge 0 and an old payment = true, want false")
		}
	})
}

func TestRetryPolicyValidate(t *testing.T) {
	if err := processing.DefaultRetryPolicy().Validate(); err != nil {
		t.Errorf("default policy: %v", err)
	}
	bad := processing.DefaultRetryPolicy()
	bad.Strategy = "fibonacci"
	if bad.Validate() == nil {
		t.Error("unknown strategy accepted")
	}
	bad = processing.DefaultRetryPolicy()
	bad.MaxAttempts = 0
	if bad.Validate() == nil {
		t.Error("max attempts 0 accepted")
	}
}
