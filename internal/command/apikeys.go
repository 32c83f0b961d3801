package command

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// API key secrets (SPEC §10): domain.domain.APIKeySecretPrefix + 43 base62
// characters (256 random bits).
const (
	apiKeyRandomLen = 43
	apiKeyNameMax   = 100
	base62          = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// API key scopes.
const (
	ScopePaymentsRead  = domain.ScopePaymentsRead
	ScopePaymentsWrite = domain.ScopePaymentsWrite
)

// Reasons of the integration use cases' errors.
const (
	ReasonAPIKeyNotFound          = "api_key_not_found"
	ReasonWebhookEndpointNotFound = "webhook_endpoint_not_found"
	ReasonWebhookDeliveryNotFound = "webhook_delivery_not_found"
)

// ErrAPIKeyNotFound answers a revoke of a key the customer does not have.
var ErrAPIKeyNotFound = &domain.Error{Code: domain.ENOTFOUND, Reason: ReasonAPIKeyNotFound,
	Message: "This customer has no API key with this id."}

// errBadKey answers every unusable API key alike: unknown, revoked or wrong.
var errBadKey = domain.Errorf(domain.EUNAUTHORIZED, "The access token is missing, invalid or expired.")

// APIKey is a customer's API key as listed (never with its secret).
type APIKey struct {
	ID         string
	CustomerID string
	Name       string
	Prefix     string
	Scopes     []string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// NewAPIKey is a key to store: its secret only as a hash.
type NewAPIKey struct {
	Name   string
	Prefix string
	Hash   []byte // SHA-256 of the whole secret
	Scopes []string
}

// StoredAPIKey is what authenticating a key needs.
type StoredAPIKey struct {
	ID         string
	CustomerID string
	Name       string
	Hash       []byte
	Scopes     []string
	CreatedBy  string
	Revoked    bool
}

// APIKeyStore keeps API keys. The methods taking userID answer
// ErrCustomerNotFound unless that user is linked to the customer.
type APIKeyStore interface {
	CreateAPIKey(ctx context.Context, userID, customerID string, k NewAPIKey) (APIKey, Commit, error)
	APIKeys(ctx context.Context, userID, customerID string) ([]APIKey, error)
	// RevokeAPIKey sets revoked_at once; revoking a revoked key succeeds.
	RevokeAPIKey(ctx context.Context, userID, customerID, keyID string) (Commit, error)
	// APIKeyByPrefix returns the key with prefix; ENOTFOUND if none.
	APIKeyByPrefix(ctx context.Context, prefix string) (StoredAPIKey, error)
	// APIKeyName returns the name of the key with id.
	APIKeyName(ctx context.Context, id string) (string, error)
	// RecordAPIKeyUse raises each key's last_used_at to the given time.
	RecordAPIKeyUse(ctx context.Context, uses map[string]time.Time) error
}

// APIKeyInput is the body of a key creation.
type APIKeyInput struct {
	Name   *string  `json:"name"`
	Scopes []string `json:"scopes"`
}

// CreatedAPIKey is a new key with its secret, shown this once.
type CreatedAPIKey struct {
	APIKey
	Secret string
}

// KeyActor is an API key making a request: the use cases limit it to its
// customer and record it as the executor of what it creates.
type KeyActor struct {
	ID         string
	Name       string
	CustomerID string
}

type keyActorCtx struct{}

// WithKeyActor returns ctx carrying k: the request is made with an API key.
func WithKeyActor(ctx context.Context, k KeyActor) context.Context {
	return context.WithValue(ctx, keyActorCtx{}, k)
}

// KeyActorFrom returns the API key of the request, if it is made with one.
func KeyActorFrom(ctx context.Context) (KeyActor, bool) {
	k, ok := ctx.Value(keyActorCtx{}).(KeyActor)
	return k, ok
}

// idempotencyScope returns the key under which an Idempotency-Key is stored:
// a user's own, or, for an API key, prefixed with the key's id, so that a
// key's Idempotency-Keys never collide with its creator's.
func idempotencyScope(ctx context.Context, key string) string {
	if k, ok := KeyActorFrom(ctx); ok && key != "" {
		return k.ID + ":" + key
	}
	return key
}

// NewAPIKeySecret returns a fresh secret.
func NewAPIKeySecret() (string, error) {
	s, err := randomBase62(apiKeyRandomLen)
	if err != nil {
		return "", err
	}
	return domain.APIKeySecretPrefix + s, nil
}

// randomBase62 returns n characters drawn uniformly from base62.
func randomBase62(n int) (string, error) {
	var b strings.Builder
	buf := make([]byte, 64)
	for b.Len() < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("command: random: %w", err)
		}
		for _, c := range buf {
			// 248 = 4·62: rejecting the rest keeps every character equally likely.
			if c < 248 && b.Len() < n {
				b.WriteByte(base62[c%62])
			}
		}
	}
	return b.String(), nil
}

// ValidAPIKeySecret reports whether s has the shape of a key secret.
func ValidAPIKeySecret(s string) bool {
	if len(s) != len(domain.APIKeySecretPrefix)+apiKeyRandomLen || !strings.HasPrefix(s, domain.APIKeySecretPrefix) {
		return false
	}
	for i := len(domain.APIKeySecretPrefix); i < len(s); i++ {
		if !strings.ContainsRune(base62, rune(s[i])) {
			return false
		}
	}
	return true
}

// HashAPIKey returns the stored form of a secret.
func HashAPIKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateAPIKey creates a key for the customer; the secret is returned this
// once and stored only as a hash.
func (s *Integrations) CreateAPIKey(ctx context.Context, userID, customerID string, in APIKeyInput) (CreatedAPIKey, Commit, error) {
	if !domain.IsUUID(customerID) {
		return CreatedAPIKey{}, Commit{}, ErrCustomerNotFound
	}
	var v domain.Validation
	name := ""
	if in.Name == nil {
		v.Add("name", "is required")
	} else {
		name = strings.TrimSpace(*in.Name)
		domain.ValidateText(&v, "name", name, 1, apiKeyNameMax)
	}
	scopes := validScopes(&v, in.Scopes)
	if err := v.Err(); err != nil {
		return CreatedAPIKey{}, Commit{}, err
	}
	secret, err := NewAPIKeySecret()
	if err != nil {
		return CreatedAPIKey{}, Commit{}, err
	}
	k, c, err := s.store.CreateAPIKey(ctx, userID, customerID, NewAPIKey{Name: name, Prefix: secret[:domain.APIKeyPrefixLen],
		Hash: HashAPIKey(secret), Scopes: scopes})
	if err != nil {
		return CreatedAPIKey{}, Commit{}, err
	}
	return CreatedAPIKey{APIKey: k, Secret: secret}, c, nil
}

func validScopes(v *domain.Validation, in []string) []string {
	if len(in) == 0 {
		v.Add("scopes", "must list at least one of %s", strings.Join([]string{ScopePaymentsRead, ScopePaymentsWrite}, ", "))
		return nil
	}
	var out []string
	for i, sc := range in {
		switch {
		case sc != ScopePaymentsRead && sc != ScopePaymentsWrite:
			v.Add(fmt.Sprintf("scopes[%d]", i), "must be %s or %s", ScopePaymentsRead, ScopePaymentsWrite)
		case slices.Contains(out, sc):
			v.Add(fmt.Sprintf("scopes[%d]", i), "is listed twice")
		default:
			out = append(out, sc)
		}
	}
	slices.Sort(out)
	return out
}

// APIKeys lists the customer's keys, newest first, revoked ones included.
func (s *Integrations) APIKeys(ctx context.Context, userID, customerID string) ([]APIKey, error) {
	if !domain.IsUUID(customerID) {
		return nil, ErrCustomerNotFound
	}
	ks, err := s.store.APIKeys(ctx, userID, customerID)
	if err != nil {
		return nil, err
	}
	s.usage.overlay(ks)
	return ks, nil
}

// RevokeAPIKey revokes a key at once: writes made with it after this
// commits are refused, and both APIs stop accepting it within a second.
func (s *Integrations) RevokeAPIKey(ctx context.Context, userID, customerID, keyID string) (Commit, error) {
	if !domain.IsUUID(customerID) {
		return Commit{}, ErrCustomerNotFound
	}
	if !domain.IsUUID(keyID) {
		return Commit{}, ErrAPIKeyNotFound
	}
	c, err := s.store.RevokeAPIKey(ctx, userID, customerID, keyID)
	if err == nil {
		s.keys.forget(keyID)
	}
	return c, err
}

// AuthenticateKey checks an API key secret: found by its prefix, compared
// by hash in constant time, not revoked. Results (both ways) are cached for
// at most Options.KeyCacheTTL, so a revocation on another instance takes
// effect within that time. Every success is recorded for last_used_at,
// which is written in batches (FlushKeyUsage), never per request.
func (s *Integrations) AuthenticateKey(ctx context.Context, secret string) (StoredAPIKey, error) {
	if !ValidAPIKeySecret(secret) {
		return StoredAPIKey{}, errBadKey
	}
	hash := HashAPIKey(secret)
	k, ok := s.keys.get(hash)
	if !ok {
		found, err := s.store.APIKeyByPrefix(ctx, secret[:domain.APIKeyPrefixLen])
		switch {
		case domain.ErrorCode(err) == domain.ENOTFOUND:
			found = StoredAPIKey{Revoked: true}
		case err != nil:
			return StoredAPIKey{}, err
		}
		if subtle.ConstantTimeCompare(found.Hash, hash) != 1 {
			found = StoredAPIKey{Revoked: true}
		}
		k = found
		s.keys.put(hash, k)
	}
	if k.Revoked {
		return StoredAPIKey{}, errBadKey
	}
	s.usage.record(k.ID, s.now())
	return k, nil
}

// FlushKeyUsage writes the last_used_at of keys used since the previous
// flush in one statement.
func (s *Integrations) FlushKeyUsage(ctx context.Context) error {
	uses := s.usage.take()
	if len(uses) == 0 {
		return nil
	}
	if err := s.store.RecordAPIKeyUse(ctx, uses); err != nil {
		s.usage.putBack(uses)
		return err
	}
	return nil
}
