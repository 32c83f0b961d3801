package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness probe of a dependency; it returns nil when the
// dependency answers.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// RegisterHealth adds GET /healthz (the process is alive), GET /readyz (every
// check passes within two seconds; otherwise 503 naming the failing ones)
// and GET /metrics (Prometheus exposition of reg).
func RegisterHealth(r *gin.Engine, reg *prometheus.Registry, checks ...Check) {
	r.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		status, failed := http.StatusOK, gin.H{}
		for _, ch := range checks {
			if err := ch.Check(ctx); err != nil {
				status = http.StatusServiceUnavailable
				failed[ch.Name] = err.Error()
			}
		}
		if status != http.StatusOK {
			c.JSON(status, gin.H{"status": "unavailable", "failed": failed})
			return
		}
		c.JSON(status, gin.H{"status": "ok"})
	})
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
}
