package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/wildcat-payments/wildcat/internal/auth"
)

// keyedVerifier verifies tokens with the current public key, remembering
// accepted tokens until they expire (auth.CachedVerifier: the Ed25519
// check is paid once per token, not per request); the key can be swapped
// while requests are verified (JWKS refresh), which also forgets every
// token the old key accepted. It is safe for concurrent use.
type keyedVerifier struct {
	issuer, audience string
	v                atomic.Pointer[auth.CachedVerifier]
	key              atomic.Pointer[ed25519.PublicKey]
}

func newKeyedVerifier(key ed25519.PublicKey, issuer, audience string) *keyedVerifier {
	kv := &keyedVerifier{issuer: issuer, audience: audience}
	kv.set(key)
	return kv
}

// set installs key; it reports whether the key changed.
func (kv *keyedVerifier) set(key ed25519.PublicKey) bool {
	if old := kv.key.Load(); old != nil && old.Equal(key) {
		return false
	}
	kv.key.Store(&key)
	kv.v.Store(auth.NewCachedVerifier(auth.NewVerifier(key, kv.issuer, kv.audience), maxCachedTokens))
	return true
}

// maxCachedTokens bounds the verified-token cache (about 200 bytes each).
const maxCachedTokens = 50_000

// Verify implements httpapi.TokenVerifier.
func (kv *keyedVerifier) Verify(token string) (string, error) { return kv.v.Load().Verify(token) }

// fetchJWKS gets the Ed25519 key published at url.
func fetchJWKS(ctx context.Context, hc *http.Client, url string) (ed25519.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("query-api: jwks: %w", err)
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query-api: jwks: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("query-api: jwks: read: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("query-api: jwks: %s answered %d", url, res.StatusCode)
	}
	return auth.ParseJWKS(body)
}

// loadJWKS fetches the key at url, retrying with backoff for at most
// timeout (the command API may start after us).
func loadJWKS(ctx context.Context, logger *slog.Logger, hc *http.Client, url string, timeout time.Duration) (ed25519.PublicKey, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 200 * time.Millisecond
	for {
		key, err := fetchJWKS(ctx, hc, url)
		if err == nil {
			return key, nil
		}
		logger.Warn("jwks not available yet; retrying", "url", url, "error", err.Error(), "retry_in_ms", delay.Milliseconds())
		select {
		case <-ctx.Done():
			return nil, errors.Join(fmt.Errorf("query-api: jwks: gave up after %s", timeout), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// refreshJWKS re-fetches the key every interval until ctx ends, keeping
// the current key when a fetch fails.
func refreshJWKS(ctx context.Context, logger *slog.Logger, hc *http.Client, url string, interval time.Duration, kv *keyedVerifier) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		key, err := fetchJWKS(fctx, hc, url)
		cancel()
		switch {
		case err != nil:
			logger.Warn("jwks refresh failed; keeping the current key", "url", url, "error", err.Error())
		case kv.set(key):
			logger.Info("jwks key changed", "kid", auth.KeyID(key))
		}
	}
}
