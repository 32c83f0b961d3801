package command

import (
	"context"
	"maps"
	"sync"
	"time"
)

// IntegrationStore is what the integration use cases (SPEC §10) need from
// the write model.
type IntegrationStore interface {
	APIKeyStore
	WebhookStore
}

// IntegrationOptions configure Integrations.
type IntegrationOptions struct {
	// KeyCacheTTL is how long an authenticated (or refused) API key is
	// remembered before it is looked up again (default and maximum
	// MaxKeyCacheTTL): the bound on how late another instance sees a
	// revocation.
	KeyCacheTTL time.Duration
	// AllowPrivateWebhooks accepts http:// URLs and private, loopback and
	// link-local addresses for webhook endpoints (local stacks and tests).
	AllowPrivateWebhooks bool
	// ValidateWebhookURL checks an endpoint URL (the delivery side's guard
	// applied at creation); nil accepts any absolute http(s) URL.
	ValidateWebhookURL func(raw string, allowPrivate bool) error
}

// MaxKeyCacheTTL bounds IntegrationOptions.KeyCacheTTL so that a revoked
// key stops working within one second on every instance.
const MaxKeyCacheTTL = 500 * time.Millisecond

// Integrations runs the use cases of API keys and webhook endpoints. It is
// safe for concurrent use.
type Integrations struct {
	store IntegrationStore
	opts  IntegrationOptions
	keys  *keyCache
	usage *keyUsage
	now   func() time.Time
}

// NewIntegrations returns the integration use cases on store.
func NewIntegrations(store IntegrationStore, opts IntegrationOptions) *Integrations {
	if opts.KeyCacheTTL <= 0 || opts.KeyCacheTTL > MaxKeyCacheTTL {
		opts.KeyCacheTTL = MaxKeyCacheTTL
	}
	return &Integrations{store: store, opts: opts, keys: newKeyCache(opts.KeyCacheTTL, 100_000),
		usage: &keyUsage{m: map[string]time.Time{}}, now: time.Now}
}

// RunKeyUsageFlusher flushes last_used_at every interval until ctx ends,
// then once more.
func (s *Integrations) RunKeyUsageFlusher(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := s.FlushKeyUsage(flushCtx); err != nil {
				onErr(err)
			}
			return
		case <-t.C:
			if err := s.FlushKeyUsage(ctx); err != nil {
				onErr(err)
			}
		}
	}
}

// keyCache remembers looked-up keys by the hash of their secret (never the
// secret) for a short time, refused ones included, so a client sending a
// key with every request costs one look-up per TTL.
type keyCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[string]cachedKey
}

type cachedKey struct {
	k  StoredAPIKey
	at time.Time
}

func newKeyCache(ttl time.Duration, maxEntries int) *keyCache {
	return &keyCache{ttl: ttl, max: maxEntries, now: time.Now, m: map[string]cachedKey{}}
}

func (c *keyCache) get(hash []byte) (StoredAPIKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[string(hash)]
	if !ok || c.now().Sub(e.at) >= c.ttl {
		return StoredAPIKey{}, false
	}
	return e.k, true
}

func (c *keyCache) put(hash []byte, k StoredAPIKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.m) >= c.max {
		for h, e := range c.m {
			if now.Sub(e.at) >= c.ttl {
				delete(c.m, h)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[string(hash)] = cachedKey{k: k, at: now}
}

// forget drops the key with id, so this instance refuses a key it revoked
// at once.
func (c *keyCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.m {
		if e.k.ID == id {
			delete(c.m, h)
		}
	}
}

// keyUsage collects when keys were last used until the next flush.
type keyUsage struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (u *keyUsage) record(id string, at time.Time) {
	u.mu.Lock()
	if at.After(u.m[id]) {
		u.m[id] = at
	}
	u.mu.Unlock()
}

func (u *keyUsage) take() map[string]time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := u.m
	u.m = map[string]time.Time{}
	return out
}

func (u *keyUsage) putBack(uses map[string]time.Time) {
	for id, at := range uses {
		u.record(id, at)
	}
}

// overlay shows uses not flushed yet in a listing.
func (u *keyUsage) overlay(ks []APIKey) {
	u.mu.Lock()
	pending := maps.Clone(u.m)
	u.mu.Unlock()
	for i := range ks {
		if at, ok := pending[ks[i].ID]; ok && (ks[i].LastUsedAt == nil || at.After(*ks[i].LastUsedAt)) {
			ks[i].LastUsedAt = &at
		}
	}
}
