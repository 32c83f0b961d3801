package httpapi

import (
	"context"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/wildcat-payments/wildcat/internal/auth"
	"github.com/wildcat-payments/wildcat/internal/domain"
)

// TokenVerifier verifies a bearer token and returns the user id in it.
type TokenVerifier interface {
	Verify(token string) (userID string, err error)
}

// KeyAuthenticator authenticates API keys (`wc_…` bearer credentials).
type KeyAuthenticator interface {
	AuthenticateKey(ctx context.Context, secret string) (auth.Principal, error)
}

// APIKeyPrefix starts every API key secret.
const APIKeyPrefix = domain.APIKeySecretPrefix

// ReasonInsufficientScope is the problem code of an API key used beyond its
// scopes.
const ReasonInsufficientScope = "insufficient_scope"

// PrincipalKey is the gin context key of the authenticated auth.Principal.
const PrincipalKey = "wildcat.principal"

// Authenticate requires `Authorization: Bearer <credential>`: a user access
// token verified by v, or, when keys is not nil, an API key. On success the
// caller is stored under PrincipalKey (and the user id under UserIDKey);
// otherwise the request ends with 401 and `WWW-Authenticate: Bearer`.
func Authenticate(v TokenVerifier, keys KeyAuthenticator) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		scheme, token, ok := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			c.Header("WWW-Authenticate", `Bearer realm="wildcat"`)
			WriteError(c, domain.Errorf(domain.EUNAUTHORIZED, "An Authorization: Bearer token is required."))
			return
		}
		var p auth.Principal
		var err error
		if keys != nil && strings.HasPrefix(token, APIKeyPrefix) {
			p, err = keys.AuthenticateKey(c.Request.Context(), token)
		} else {
			var uid string
			uid, err = v.Verify(token)
			p = auth.UserPrincipal(uid)
		}
		if err != nil {
			c.Header("WWW-Authenticate", `Bearer realm="wildcat", error="invalid_token"`)
			WriteError(c, err)
			return
		}
		c.Set(PrincipalKey, p)
		c.Set(UserIDKey, p.UserID)
		c.Next()
	}
}

// UserID returns the authenticated caller's user id ("" when
// unauthenticated); for an API key, the user who created it.
func UserID(c *gin.Context) string { return c.GetString(UserIDKey) }

// Caller returns the authenticated principal.
func Caller(c *gin.Context) auth.Principal {
	p, _ := c.Get(PrincipalKey)
	pr, _ := p.(auth.Principal)
	return pr
}

// RequireScope ends the request with 403 insufficient_scope when the caller
// is an API key without scope (users pass: their links decide).
func RequireScope(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !Caller(c).Allows(scope) {
			WriteError(c, &domain.Error{Code: domain.EFORBIDDEN, Reason: ReasonInsufficientScope,
				Message: "This API key does not have the " + scope + " scope."})
			return
		}
		c.Next()
	}
}

// RequireUser ends the request with 403 insufficient_scope when the caller
// is an API key: account and access management is for people only.
func RequireUser() gin.HandlerFunc {
	return func(c *gin.Context) {
		if Caller(c).IsKey() {
			WriteError(c, &domain.Error{Code: domain.EFORBIDDEN, Reason: ReasonInsufficientScope,
				Message: "API keys cannot do this; it needs a user's access token."})
			return
		}
		c.Next()
	}
}
