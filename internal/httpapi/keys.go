package httpapi

import (
	"math"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// KeyLimiter rations requests per API key.
type KeyLimiter interface {
	Take(key string) (ok bool, retryAfter time.Duration)
}

// ReasonKeyRateLimited is the problem code of an API key over its rate.
const ReasonKeyRateLimited = "rate_limited"

// LimitKeys answers 429 with Retry-After when the calling API key is over
// its rate; user tokens pass (their own limits apply where they matter).
func LimitKeys(l KeyLimiter) gin.HandlerFunc {
	return func(c *gin.Context) {
		if p := Caller(c); p.IsKey() {
			if ok, wait := l.Take(p.KeyID); !ok {
				WriteError(c, &domain.Error{Code: domain.ERATELIMITED, Reason: ReasonKeyRateLimited,
					Message: "This API key is over its request rate; retry later.", RetryAfter: max(1, int(math.Ceil(wait.Seconds())))})
				return
			}
		}
		c.Next()
	}
}
