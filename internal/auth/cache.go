package auth

import (
	"sync"
	"time"
)

// CachedVerifier remembers tokens a Verifier accepted until they expire, so
// a client sending the same token with every request pays for the Ed25519
// signature check once instead of on every request. Only accepted tokens
// are cached (the token itself is the key, so a tampered token is a
// different key and is verified in full). At most maxEntries tokens are
// remembered; when full, expired entries are dropped and, if that is not
// enough, the whole cache is. It is safe for concurrent use.
type CachedVerifier struct {
	v          *Verifier
	maxEntries int
	now        func() time.Time

	mu      sync.RWMutex
	entries map[string]cachedToken
}

type cachedToken struct {
	userID  string
	expires time.Time
}

// NewCachedVerifier wraps v with a cache of at most maxEntries tokens.
func NewCachedVerifier(v *Verifier, maxEntries int) *CachedVerifier {
	return &CachedVerifier{v: v, maxEntries: maxEntries, now: time.Now, entries: make(map[string]cachedToken)}
}

// Verify implements httpapi.TokenVerifier with the semantics of
// Verifier.Verify, except that a cached token is accepted until its exp
// without checking it again.
func (c *CachedVerifier) Verify(token string) (string, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.entries[token]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.userID, nil
	}
	claims, err := c.v.claims(token)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.maxEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.maxEntries {
			clear(c.entries)
		}
	}
	c.entries[token] = cachedToken{userID: claims.Subject, expires: claims.ExpiresAt.Time}
	return claims.Subject, nil
}
