package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildcat-payments/wildcat/internal/httpapi"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

// TestServeWriteTimeout: every server has a WriteTimeout (issue 18, low
// finding), so a response that is not written in time is cut off and a
// slow reader cannot hold a connection forever; a streaming handler (the
// CSV export) extends its own deadline with ExtendWriteDeadline.
func TestServeWriteTimeout(t *testing.T) {
	r := httpapi.NewEngine(slog.New(slog.DiscardHandler), prometheus.NewRegistry(), httpapi.EngineOptions{Service: "t"})
	r.GET("/slow", func(c *gin.Context) {
		time.Sleep(400 * time.Millisecond)
		c.String(200, "late")
	})
	r.GET("/stream", func(c *gin.Context) {
		if err := httpapi.ExtendWriteDeadline(c, 2*time.Second); err != nil {
			t.Errorf("ExtendWriteDeadline: %v", err)
		}
		c.Writer.WriteHeader(200)
		for range 4 {
			time.Sleep(150 * time.Millisecond)
			_, _ = io.WriteString(c.Writer, "row\n")
			c.Writer.Flush()
		}
	})
	base := testenv.MustServe(t, 10*time.Second, func(ctx context.Context, ready func(string)) error {
		return httpapi.ServeWith(ctx, slog.New(slog.DiscardHandler), "127.0.0.1:0", r,
			httpapi.ServeOptions{Grace: time.Second, WriteTimeout: 200 * time.Millisecond}, ready)
	})
	if res, err := http.Get(base + "/slow"); err == nil {
		body, rerr := io.ReadAll(res.Body)
		res.Body.Close()
		if rerr == nil {
			t.Errorf("GET /slow after the write timeout = %d %q, want the connection cut", res.StatusCode, body)
		}
	}
	res, err := http.Get(base + "/stream")
	if err != nil {
		t.Fatalf("GET /stream: %v", err)
	}
	defer res.Body.Close()
	if body, err := io.ReadAll(res.Body); err != nil || string(body) != "row\nrow\nrow\nrow\n" {
		t.Errorf("GET /stream = %q, %v; want 4 rows past the server's write timeout", body, err)
	}
}
