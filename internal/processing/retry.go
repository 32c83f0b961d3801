package processing

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Strategy is how the delay before a retry grows with the attempt number.
type Strategy string

// Retry strategies (SPEC §9).
const (
	// StrategyImmediate retries at once.
	StrategyImmediate Strategy = "immediate"
	// StrategyIncremental waits Base × attempt.
	StrategyIncremental Strategy = "incremental"
	// StrategyExponential waits Base × 2^(attempt−1) with jitter: a random
	// delay in [d/2, d], so that payments failed by one provider outage do
	// not all come back at the same instant.
	StrategyExponential Strategy = "exponential"
)

// RetryPolicy decides when a transient failure is retried and when a
// payment has had enough attempts. The zero value is not usable; start from
// DefaultRetryPolicy.
type RetryPolicy struct {
	Strategy    Strategy
	Base        time.Duration // first delay (incremental, exponential)
	Cap         time.Duration // no delay is longer
	MaxAttempts int           // attempts per drive, then a dead letter
	MaxAge      time.Duration // since the payment (or refund) was created, then a dead letter; 0 for none
	// Rand returns a float in [0, 1); nil means math/rand/v2.
	Rand func() float64
}

// DefaultRetryPolicy is exponential with jitter from 1 s to 5 min, 10
// attempts, 24 h.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Strategy: StrategyExponential, Base: time.Second, Cap: 5 * time.Minute, MaxAttempts: 10, MaxAge: 24 * time.Hour}
}

// Validate reports a policy that cannot work.
func (p RetryPolicy) Validate() error {
	switch p.Strategy {
	case StrategyImmediate, StrategyIncremental, StrategyExponential:
	default:
		return fmt.Errorf("processing: retry strategy %q: want immediate, incremental or exponential", p.Strategy)
	}
	if p.MaxAttempts < 1 || p.Base < 0 || p.Cap < p.Base || p.MaxAge < 0 {
		return fmt.Errorf("processing: retry policy %+v: want max attempts ≥ 1 and 0 ≤ base ≤ cap", p)
	}
	return nil
}

// Delay returns the wait after failed attempt number attempt (1-based).
func (p RetryPolicy) Delay(attempt int) time.Duration {
	attempt = max(attempt, 1)
	var d time.Duration
	switch p.Strategy {
	case StrategyImmediate:
		return 0
	case StrategyIncremental:
		d = p.Base * time.Duration(attempt)
		if attempt > 0 && d/time.Duration(attempt) != p.Base { // overflow
			d = p.Cap
		}
	default:
		d = p.Base
		for i := 1; i < attempt && d < p.Cap; i++ {
			d *= 2
		}
	}
	d = min(d, p.Cap)
	if p.Strategy == StrategyExponential && d > 0 {
		r := p.Rand
		if r == nil {
			r = rand.Float64
		}
		d = d/2 + time.Duration(r()*float64(d/2))
	}
	return d
}

// Exhausted reports whether a failure after attempt number attempt of this
// drive, age after creation, ends the retries.
func (p RetryPolicy) Exhausted(attempt int, age time.Duration) bool {
	return attempt >= p.MaxAttempts || (p.MaxAge > 0 && age >= p.MaxAge)
}
