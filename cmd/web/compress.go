package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
)

// minGzipSize is the smallest file worth compressing: below it the gzip
// header and a round of CPU cost more than they save.
const minGzipSize = 1024

// gzipped serves the UI's text files (JavaScript, CSS, HTML, SVG, JSON)
// gzip-compressed to browsers that accept it. The initial JavaScript is
// ~620 kB raw and ~200 kB gzipped, so on a phone's connection this is most
// of the login page's first paint (issue 19: Lighthouse flagged
// uses-text-compression). dist does not change while the server runs, so
// each file is compressed once, at the best level, and kept in memory (the
// whole UI is a few MB raw, well under that compressed). Safe for
// concurrent use.
type gzipped struct {
	dist fs.FS
	mu   sync.Mutex
	m    map[string][]byte
}

func newGzipped(dist fs.FS) *gzipped { return &gzipped{dist: dist, m: map[string][]byte{}} }

// compressible reports whether files named like p are text worth compressing.
func compressible(p string) bool {
	switch path.Ext(p) {
	case ".js", ".mjs", ".css", ".html", ".svg", ".json", ".txt":
		return true
	}
	return false
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// (gzip;q=0 refuses it).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}

// body returns the gzip-compressed contents of p, or nil when p is too
// small to bother.
func (g *gzipped) body(p string) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if b, ok := g.m[p]; ok {
		return b, nil
	}
	raw, err := fs.ReadFile(g.dist, p)
	if err != nil {
		return nil, fmt.Errorf("web: read %s: %w", p, err)
	}
	var b []byte
	if len(raw) >= minGzipSize {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(raw)
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("web: gzip %s: %w", p, err)
		}
		b = buf.Bytes()
	}
	g.m[p] = b
	return b, nil
}

// serve writes p gzipped and reports true, or reports false (nothing
// written) when p is not compressible, too small, or not wanted gzipped.
func (g *gzipped) serve(c *gin.Context, p string) bool {
	if !compressible(p) {
		return false
	}
	c.Header("Vary", "Accept-Encoding")
	if !acceptsGzip(c.Request) {
		return false
	}
	b, err := g.body(p)
	if err != nil || b == nil {
		return false
	}
	h := c.Writer.Header()
	if ct := mime.TypeByExtension(path.Ext(p)); ct != "" {
		h.Set("Content-Type", ct)
	}
	h.Set("Content-Encoding", "gzip")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	c.Status(http.StatusOK)
	if c.Request.Method != http.MethodHead {
		_, _ = c.Writer.Write(b)
	}
	return true
}
