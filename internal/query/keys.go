package query

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/wildcat-payments/wildcat/internal/auth"
	"github.com/wildcat-payments/wildcat/internal/domain"
)

// StoredKey is a live API key as the read model keeps it (in its
// customer's access document).
type StoredKey struct {
	ID         string
	Name       string
	CustomerID string
	Hash       string // hex of the SHA-256 of the secret
	Scopes     []string
}

// KeyFinder finds live API keys in the read model. internal/search
// implements it. Implementations must be safe for concurrent use.
type KeyFinder interface {
	// APIKey returns the live key whose secret starts with prefix; found is
	// false when there is none (unknown or revoked).
	APIKey(ctx context.Context, prefix string) (key StoredKey, found bool, err error)
}

// KeyPrefixLen is how many leading characters of a secret identify its key.
const KeyPrefixLen = domain.APIKeyPrefixLen

// DefaultMaxCachedKeys bounds a KeyAuthenticator's cache.
const DefaultMaxCachedKeys = 10_000

// KeyOptions tunes a KeyAuthenticator. The zero value is usable.
type KeyOptions struct {
	// TTL is how long an answer (a key, or that there is none) is reused;
	// default and at most MaxScopeTTL, so that a revocation takes effect
	// within the 1 s freshness target (projection lag + refresh + TTL).
	// Negative disables the cache.
	TTL time.Duration
	// MaxEntries bounds the cache (default DefaultMaxCachedKeys).
	MaxEntries int
	// OnLookup, if set, is told whether each authentication was answered
	// by the cache (for metrics).
	OnLookup func(cached bool)
}

// KeyAuthenticator authenticates API keys (`wc_…` secrets) against the read
// model, without PostgreSQL: the key is found by its prefix in its
// customer's access document and the SHA-256 of the presented secret is
// compared with the stored one in constant time. Answers, positive and
// negative, are cached for at most MaxScopeTTL under the SHA-256 of the
// secret (never the secret itself). It implements httpapi.KeyAuthenticator
// and is safe for concurrent use.
type KeyAuthenticator struct {
	finder KeyFinder
	opts   KeyOptions
	flight singleflight.Group

	mu    sync.Mutex
	cache map[[sha256.Size]byte]keyEntry
	now   func() time.Time
}

type keyEntry struct {
	p       auth.Principal
	ok      bool
	fetched time.Time
}

// NewKeyAuthenticator returns a KeyAuthenticator reading keys through f.
func NewKeyAuthenticator(f KeyFinder, opts KeyOptions) *KeyAuthenticator {
	if opts.TTL == 0 || opts.TTL > MaxScopeTTL {
		opts.TTL = MaxScopeTTL
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxCachedKeys
	}
	return &KeyAuthenticator{finder: f, opts: opts, cache: map[[sha256.Size]byte]keyEntry{}, now: time.Now}
}

// errBadKey is what an unknown, revoked or malformed key gets: the same
// answer as a bad access token, so nothing tells them apart.
var errBadKey = domain.Errorf(domain.EUNAUTHORIZED, "The access token is missing, invalid or expired.")

// AuthenticateKey returns the principal of the API key secret: its id,
// name, customer and scopes, with no user id. An unknown or revoked key is
// EUNAUTHORIZED; an engine failure is returned as is (and not cached).
func (a *KeyAuthenticator) AuthenticateKey(ctx context.Context, secret string) (auth.Principal, error) {
	sum := sha256.Sum256([]byte(secret))
	if a.opts.TTL > 0 {
		a.mu.Lock()
		e, hit := a.cache[sum]
		a.mu.Unlock()
		if hit && a.now().Sub(e.fetched) < a.opts.TTL {
			a.observe(true)
			return e.result()
		}
	}
	a.observe(false)
	if len(secret) < KeyPrefixLen {
		return auth.Principal{}, errBadKey
	}
	prefix := secret[:KeyPrefixLen]
	v, err, _ := a.flight.Do(hex.EncodeToString(sum[:]), func() (any, error) {
		start := a.now()
		ctx, cancel := shared(ctx)
		defer cancel()
		k, found, err := a.finder.APIKey(ctx, prefix)
		if err != nil {
			return nil, err
		}
		e := keyEntry{fetched: start}
		if stored, derr := hex.DecodeString(k.Hash); found && derr == nil && subtle.ConstantTimeCompare(sum[:], stored) == 1 {
			e.ok = true
			e.p = auth.Principal{KeyID: k.ID, KeyName: k.Name, CustomerID: k.CustomerID, Scopes: k.Scopes}
		}
		a.remember(sum, e)
		return e, nil
	})
	if err != nil {
		return auth.Principal{}, err
	}
	return v.(keyEntry).result()
}

// Forget drops the cached answer for secret, so the next authentication
// looks it up again.
func (a *KeyAuthenticator) Forget(secret string) {
	sum := sha256.Sum256([]byte(secret))
	a.mu.Lock()
	delete(a.cache, sum)
	a.mu.Unlock()
}

func (e keyEntry) result() (auth.Principal, error) {
	if !e.ok {
		return auth.Principal{}, errBadKey
	}
	return e.p, nil
}

func (a *KeyAuthenticator) remember(sum [sha256.Size]byte, e keyEntry) {
	if a.opts.TTL <= 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= a.opts.MaxEntries {
		for k, old := range a.cache {
			if a.now().Sub(old.fetched) >= a.opts.TTL {
				delete(a.cache, k)
			}
		}
		if len(a.cache) >= a.opts.MaxEntries {
			clear(a.cache) // all fresh: forgetting costs only lookups
		}
	}
	if old, ok := a.cache[sum]; !ok || old.fetched.Before(e.fetched) {
		a.cache[sum] = e
	}
}

func (a *KeyAuthenticator) observe(cached bool) {
	if a.opts.OnLookup != nil {
		a.opts.OnLookup(cached)
	}
}
