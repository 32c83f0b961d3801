package main

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

// routes adds GET /healthz, /readyz and /metrics to r.
//
// /readyz answers 200 when the instance does its job: it is the active
// streamer (or backfilling) with PostgreSQL and the search engine
// answering, or it is a healthy standby waiting for the leader lock (the
// body names the role, so a probe can tell them apart). It answers 503
// while starting, reconnecting or waiting for migrations, or when a
// dependency does not answer.
func routes(r *gin.Engine, p *projection.Projector, reg *prometheus.Registry) {
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		st := p.Status()
		body := gin.H{"role": st.Role}
		if st.AppliedLSN != "" {
			body["applied_lsn"] = st.AppliedLSN
		}
		if st.Compaction != "" {
			body["compaction"] = st.Compaction
		}
		if st.Rebuild != "" {
			body["rebuild"] = st.Rebuild
		}
		status := http.StatusOK
		switch st.Role {
		case projection.RoleActive, projection.RoleBackfilling, projection.RoleStandby:
			if err := p.Ping(ctx); err != nil {
				status, body["error"] = http.StatusServiceUnavailable, err.Error()
			}
		default:
			status = http.StatusServiceUnavailable
			if st.LastError != "" {
				body["error"] = st.LastError
			}
		}
		body["status"] = map[bool]string{true: "ok", false: "unavailable"}[status == http.StatusOK]
		c.JSON(status, body)
	})
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
}
