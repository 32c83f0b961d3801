package query_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/query"
)

// keyFinder is a read model of API keys by prefix that counts lookups.
type keyFinder struct {
	mu      sync.Mutex
	keys    map[string]query.StoredKey
	err     error
	lookups int
	asked   []string
}

func (f *keyFinder) APIKey(ctx context.Context, prefix string) (query.StoredKey, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	f.asked = append(f.asked, prefix)
	if f.err != nil {
		return query.StoredKey{}, false, f.err
	}
	k, ok := f.keys[prefix]
	return k, ok, nil
}

func (f *keyFinder) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func hashHex(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func TestKeyAuthenticator(t *testing.T) {
	ctx := context.Background()
	const secret = "wc_AbCdEfGhI0123456789012345678901234567890123"
	stored := query.StoredKey{ID: "k1", Name: "ERP", CustomerID: c1, Hash: hashHex(secret), Scopes: []string{"payments:read"}}
	newAuth := func() (*query.KeyAuthenticator, *keyFinder, *time.Time) {
		f := &keyFinder{keys: map[string]query.StoredKey{secret[:12]: stored}}
		a := query.NewKeyAuthenticator(f, query.KeyOptions{})
		now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		query.SetKeyClock(a, func() time.Time { return now })
		return a, f, &now
	}
	t.Run("OK", func(t *testing.T) {
		a, f, _ := newAuth()
		p, err := a.AuthenticateKey(ctx, secret)
		if err != nil || p.KeyID != "k1" || p.KeyName != "ERP" || p.CustomerID != c1 || p.UserID != "" ||
			!slices.Equal(p.Scopes, []string{"payments:read"}) {
			t.Fatalf("got %+v, %v", p, err)
		}
		if !slices.Equal(f.asked, []string{"wc_AbCdEfGhI"}) {
			t.Fatalf("looked up %q, want the 12-character prefix", f.asked)
		}
	})
	t.Run("WrongSecretWithAKnownPrefixIsUnauthorized", func(t *testing.T) {
		a, _, _ := newAuth()
		_, err := a.AuthenticateKey(ctx, secret[:12]+"X"+secret[13:])
		if domain.ErrorCode(err) != domain.EUNAUTHORIZED {
			t.Fatalf("got %v, want unauthorized", err)
		}
	})
	t.Run("UnknownAndShortKeysAreUnauthorized", func(t *testing.T) {
		a, _, _ := newAuth()
		for _, s := range []string{"wc_unknown000000000000000000000000000000000000", "wc_"} {
			if _, err := a.AuthenticateKey(ctx, s); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
				t.Fatalf("%q: got %v, want unauthorized", s, err)
			}
		}
	})
	t.Run("AnswersAreCachedForAtMostMaxScopeTTL", func(t *testing.T) {
		a, f, now := newAuth()
		for range 3 {
			if _, err := a.AuthenticateKey(ctx, secret); err != nil {
				t.Fatal(err)
			}
		}
		if f.lookups != 1 {
			t.Fatalf("%d lookups for 3 requests within the TTL, want 1", f.lookups)
		}
		// Revoked: the key leaves the read model.
		f.set(func() { delete(f.keys, secret[:12]) })
		*now = now.Add(query.MaxScopeTTL - time.Millisecond)
		if _, err := a.AuthenticateKey(ctx, secret); err != nil {
			t.Fatalf("within the TTL: %v, want the cached key", err)
		}
		*now = now.Add(time.Millisecond)
		if _, err := a.AuthenticateKey(ctx, secret); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
			t.Fatalf("after the TTL: %v, want unauthorized", err)
		}
		// The negative answer is cached too, and expires the same way.
		f.set(func() { f.keys[secret[:12]] = stored })
		if _, err := a.AuthenticateKey(ctx, secret); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
			t.Fatalf("negative answer within the TTL: %v, want unauthorized", err)
		}
		*now = now.Add(query.MaxScopeTTL)
		if _, err := a.AuthenticateKey(ctx, secret); err != nil {
			t.Fatalf("after the TTL: %v, want the key", err)
		}
		if f.lookups != 3 {
			t.Fatalf("%d lookups, want 3", f.lookups)
		}
	})
	t.Run("EngineFailuresAreNotCached", func(t *testing.T) {
		a, f, _ := newAuth()
		down := &domain.Error{Code: domain.EUNAVAILABLE, Message: "down"}
		f.set(func() { f.err = down })
		if _, err := a.AuthenticateKey(ctx, secret); !errors.Is(err, down) {
			t.Fatalf("got %v, want the engine's error", err)
		}
		f.set(func() { f.err = nil })
		if _, err := a.AuthenticateKey(ctx, secret); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	})
	t.Run("CacheIsBounded", func(t *testing.T) {
		f := &keyFinder{keys: map[string]query.StoredKey{}}
		a := query.NewKeyAuthenticator(f, query.KeyOptions{MaxEntries: 2})
		for _, s := range []string{"wc_a00000000000", "wc_b00000000000", "wc_c00000000000", "wc_a00000000000"} {
			_, _ = a.AuthenticateKey(ctx, s)
		}
		if f.lookups != 4 {
			t.Fatalf("%d lookups, want 4 (the first answer was forgotten when the cache was full)", f.lookups)
		}
	})
}
