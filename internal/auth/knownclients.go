package auth

import (
	"sync"
	"time"
)

// KnownClients remembers, for a while, the keys (an email and a client
// address) that logged in successfully, so that a throttle on an account can
// still let its owner in from where they logged in before. Memory is bounded:
// past maxKeys live entries nothing new is remembered (the throttle then
// applies as if the client were new). It is safe for concurrent use.
type KnownClients struct {
	mu        sync.Mutex
	ttl       time.Duration
	maxKeys   int
	seen      map[string]time.Time
	lastSweep time.Time
	now       func() time.Time
}

// NewKnownClients returns a memory that keeps a key for ttl after its last
// successful login. ttl ≤ 0 remembers nothing.
func NewKnownClients(ttl time.Duration) *KnownClients {
	return &KnownClients{ttl: ttl, maxKeys: DefaultMaxKeys, seen: make(map[string]time.Time), now: time.Now}
}

// Known reports whether key logged in successfully within the ttl.
func (k *KnownClients) Known(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	at, ok := k.seen[key]
	return ok && k.now().Sub(at) < k.ttl
}

// Remember records a successful login of key now.
func (k *KnownClients) Remember(key string) {
	if k.ttl <= 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if now.Sub(k.lastSweep) >= k.ttl || len(k.seen) >= k.maxKeys {
		k.lastSweep = now
		for key, at := range k.seen {
			if now.Sub(at) >= k.ttl {
				delete(k.seen, key)
			}
		}
	}
	if _, ok := k.seen[key]; ok || len(k.seen) < k.maxKeys {
		k.seen[key] = now
	}
}
