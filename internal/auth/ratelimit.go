package auth

import (
	"math"
	"sync"
	"time"
)

// KeyedLimiter is a token bucket per key (an email, a client address, a user
// id): each key may spend limit tokens at once, refilled at limit per window.
// Buckets that have refilled completely are forgotten, so memory is bounded
// by the keys active within one window; past maxKeys active keys new keys are
// refused (fail closed) rather than growing without bound. It is safe for
// concurrent use.
type KeyedLimiter struct {
	mu        sync.Mutex
	burst     float64
	perSecond float64
	window    time.Duration
	maxKeys   int
	buckets   map[string]*bucket
	lastSweep time.Time
	now       func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// DefaultMaxKeys bounds the number of keys a KeyedLimiter tracks at once.
const DefaultMaxKeys = 1_000_000

// NewKeyedLimiter returns a limiter allowing limit attempts per key per
// window. limit ≤ 0 disables it: every Take succeeds.
func NewKeyedLimiter(limit int, window time.Duration) *KeyedLimiter {
	l := &KeyedLimiter{burst: float64(limit), window: window, maxKeys: DefaultMaxKeys,
		buckets: make(map[string]*bucket), now: time.Now}
	if limit > 0 && window > 0 {
		l.perSecond = float64(limit) / window.Seconds()
	}
	return l
}

// Take spends one token of key. When the bucket is empty it spends nothing
// and returns false with the time until a token is available.
func (l *KeyedLimiter) Take(key string) (ok bool, retryAfter time.Duration) {
	if l.perSecond == 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.maxKeys {
			return false, l.window
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) / l.perSecond * float64(time.Second))
		return false, wait
	}
	b.tokens--
	return true, 0
}

// Refund gives back one token of key, for attempts that should not count
// (a successful login after a Take).
func (l *KeyedLimiter) Refund(key string) {
	if l.perSecond == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[key]; b != nil {
		l.refill(b, l.now())
		b.tokens = math.Min(l.burst, b.tokens+1)
	}
}

func (l *KeyedLimiter) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+d.Seconds()*l.perSecond)
		b.at = now
	}
}

// sweep forgets full buckets at most once per window; a full bucket behaves
// exactly like a missing one.
func (l *KeyedLimiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.window && len(l.buckets) < l.maxKeys {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// RetryAfterSeconds rounds d up to whole seconds, at least 1, for a
// Retry-After header.
func RetryAfterSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}
