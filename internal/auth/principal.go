package auth

import (
	"slices"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// API key scopes (SPEC §10).
const (
	ScopePaymentsRead  = domain.ScopePaymentsRead
	ScopePaymentsWrite = domain.ScopePaymentsWrite
)

// Principal is who is calling: a user with an access token, or an API key
// acting for one customer with scopes. For a key, UserID is the user who
// created it (on whose authority its payments are made).
type Principal struct {
	UserID     string
	KeyID      string // "" for a user token
	KeyName    string
	CustomerID string   // the key's customer; "" for a user
	Scopes     []string // the key's scopes; nil for a user
}

// IsKey reports whether the caller is an API key.
func (p Principal) IsKey() bool { return p.KeyID != "" }

// Allows reports whether p may act with scope: a user may do anything
// their links allow (checked elsewhere); a key only within its scopes.
func (p Principal) Allows(scope string) bool {
	return !p.IsKey() || slices.Contains(p.Scopes, scope)
}

// UserPrincipal is the principal of a user access token.
func UserPrincipal(userID string) Principal { return Principal{UserID: userID} }
