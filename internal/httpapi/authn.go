package httpapi

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// TokenVerifier verifies a bearer token and returns the user id in it.
type TokenVerifier interface {
	Verify(token string) (userID string, err error)
}

// Authenticate requires `Authorization: Bearer <token>`, verified by v. On
// success the user id is stored under UserIDKey; otherwise the request ends
// with 401 and `WWW-Authenticate: Bearer`.
func Authenticate(v TokenVerifier) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			c.Header("WWW-Authenticate", `Bearer realm="wildcat"`)
			WriteError(c, domain.Errorf(domain.EUNAUTHORIZED, "An Authorization: Bearer token is required."))
			return
		}
		uid, err := v.Verify(strings.TrimSpace(token))
		if err != nil {
			c.Header("WWW-Authenticate", `Bearer realm="wildcat", error="invalid_token"`)
			WriteError(c, err)
			return
		}
		c.Set(UserIDKey, uid)
		c.Next()
	}
}

// UserID returns the authenticated caller's id ("" when unauthenticated).
func UserID(c *gin.Context) string { return c.GetString(UserIDKey) }
