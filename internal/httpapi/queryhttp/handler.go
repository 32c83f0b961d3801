// Package queryhttp is the HTTP adapter of the query API (docs/query-api.md): gin
// handlers that parse requests with internal/query, call its Service and
// write JSON, CSV or problem+json. It also serves the OpenAPI document.
package queryhttp

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/bytedance/sonic"
	"github.com/gin-gonic/gin"

	"github.com/wildcat-payments/wildcat/internal/auth"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
	"github.com/wildcat-payments/wildcat/internal/query"
)

// OpenAPI is the OpenAPI 3.1 document of the query API, served at
// GET /openapi.json and checked against real responses by the tests.
//
//go:embed openapi.json
var OpenAPI []byte

// ConsistencyHeader carries a command API write's position (docs/command-api.md, *Consistency token*).
const ConsistencyHeader = "X-Consistency-Token"

// DefaultExportTimeout bounds one CSV export.
const DefaultExportTimeout = 10 * time.Minute

// Options tunes the handler. The zero value is usable.
type Options struct {
	// ExportTimeout bounds one CSV export, which may outlive the engine's
	// general request timeout (default DefaultExportTimeout).
	ExportTimeout time.Duration
	// Logger reports exports aborted after rows were sent; nil discards.
	Logger *slog.Logger
	// Keys, when set, authenticates API keys (`Bearer wc_…`) besides user
	// access tokens; nil accepts access tokens only.
	Keys httpapi.KeyAuthenticator
	// KeyUsed, when set, is told of every request an API key authenticated
	// (its id and secret), to report the use (cmd/query-api's reporter).
	KeyUsed func(keyID, secret string)
	// KeyLimiter, when set, limits the requests of each API key (users are
	// not limited here).
	KeyLimiter *auth.KeyedLimiter
}

var _ httpapi.KeyAuthenticator = (*query.KeyAuthenticator)(nil)

// Handler serves the query API. It is safe for concurrent use.
type Handler struct {
	svc  *query.Service
	opts Options
}

// Register adds the query API's routes to r: GET /openapi.json without
// authentication and the /v1 routes behind bearer authentication: an
// access token verified by verifier or an API key (opts.Keys), which needs
// the payments:read scope for every route and is rate limited
// (opts.KeyLimiter).
func Register(r gin.IRouter, svc *query.Service, verifier httpapi.TokenVerifier, opts Options) {
	if opts.ExportTimeout <= 0 {
		opts.ExportTimeout = DefaultExportTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{svc: svc, opts: opts}
	r.GET("/openapi.json", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.Data(http.StatusOK, "application/json", OpenAPI)
	})
	var keys httpapi.KeyAuthenticator
	if opts.Keys != nil {
		keys = freshKeys{keys: opts.Keys, svc: svc, used: opts.KeyUsed}
	}
	v1 := r.Group("/v1", consistencyFirst, httpapi.Authenticate(verifier, keys), limitKeys(opts.KeyLimiter),
		httpapi.RequireScope(auth.ScopePaymentsRead))
	v1.GET("/payments", h.search)
	v1.GET("/payments/summary", h.summary)
	v1.GET("/payments/export.csv", h.export)
	v1.GET("/payments/:id", h.payment)
	v1.GET("/payments/:id/events", h.events)
	v1.GET("/customers", h.customers)
}

func (h *Handler) search(c *gin.Context) {
	v, err := query.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	req, err := query.ParseSearch(v, c.GetHeader(ConsistencyHeader))
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	page, err := h.svc.Search(c.Request.Context(), caller(c), req)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	writeJSON(c, page)
}

func (h *Handler) summary(c *gin.Context) {
	v, err := query.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	req, err := query.ParseSummary(v, c.GetHeader(ConsistencyHeader))
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	sum, err := h.svc.Summary(c.Request.Context(), caller(c), req)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	writeJSON(c, sum)
}

func (h *Handler) payment(c *gin.Context) {
	req, ok := h.read(c)
	if !ok {
		return
	}
	p, err := h.svc.Payment(c.Request.Context(), caller(c), c.Param("id"), req)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	writeJSON(c, p)
}

func (h *Handler) events(c *gin.Context) {
	req, ok := h.read(c)
	if !ok {
		return
	}
	evs, err := h.svc.Events(c.Request.Context(), caller(c), c.Param("id"), req)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	for i := range evs.Data {
		if evs.Data[i].Data, err = canonicalRaw(evs.Data[i].Data); err != nil {
			httpapi.WriteError(c, fmt.Errorf("queryhttp: event %d data: %w", evs.Data[i].ID, err))
			return
		}
	}
	writeJSON(c, evs)
}

// canonicalRaw returns raw JSON as encoding/json's Encoder writes a
// json.RawMessage: compact, with <, >, &, U+2028 and U+2029 escaped. jsonAPI
// writes Marshalers as they are, so an event's data is prepared here.
func canonicalRaw(raw json.RawMessage) (json.RawMessage, error) {
	var compact, out bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, err
	}
	json.HTMLEscape(&out, compact.Bytes())
	return out.Bytes(), nil
}

func (h *Handler) customers(c *gin.Context) {
	req, ok := h.read(c)
	if !ok {
		return
	}
	cs, err := h.svc.Customers(c.Request.Context(), caller(c), req)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	writeJSON(c, struct {
		Data []query.Customer `json:"data"`
	}{cs})
}

// caller is the query use cases' view of the authenticated principal.
func caller(c *gin.Context) query.Caller {
	p := httpapi.Caller(c)
	if p.IsKey() {
		return query.KeyCaller(p.KeyID, p.CustomerID)
	}
	return query.UserCaller(p.UserID)
}

// limitKeys ends a request of an API key that has used up its requests
// with 429 and Retry-After; users pass (nil l passes everyone).
func limitKeys(l *auth.KeyedLimiter) gin.HandlerFunc {
	if l == nil {
		return func(c *gin.Context) { c.Next() }
	}
	return httpapi.LimitKeys(l)
}

// freshKeys authenticates API keys through keys and, when a key is unknown
// but the request carries a consistency token (a client that has just
// created the key, then written with it), waits for the read model to
// reach that position and looks once more: read-your-writes holds for the
// key itself, not only for what it wrote.
type freshKeys struct {
	keys httpapi.KeyAuthenticator
	svc  *query.Service
	used func(keyID, secret string)
}

type tokenCtx struct{}

// consistencyFirst puts the request's consistency position (header or
// consistency_token parameter; unreadable ones are left to the handlers'
// validation) on its context, for freshKeys.
func consistencyFirst(c *gin.Context) {
	var lsn uint64
	for _, tok := range append(c.Request.URL.Query()["consistency_token"], c.GetHeader(ConsistencyHeader)) {
		if v, err := domain.DecodeConsistencyToken(strings.TrimSpace(tok)); err == nil {
			lsn = max(lsn, v)
		}
	}
	if lsn > 0 {
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), tokenCtx{}, lsn))
	}
	c.Next()
}

func (f freshKeys) AuthenticateKey(ctx context.Context, secret string) (auth.Principal, error) {
	p, err := f.authenticate(ctx, secret)
	if err == nil && f.used != nil {
		f.used(p.KeyID, secret)
	}
	return p, err
}

func (f freshKeys) authenticate(ctx context.Context, secret string) (auth.Principal, error) {
	p, err := f.keys.AuthenticateKey(ctx, secret)
	lsn, _ := ctx.Value(tokenCtx{}).(uint64)
	if domain.ErrorCode(err) != domain.EUNAUTHORIZED || lsn == 0 || f.svc.Applied() >= lsn {
		return p, err
	}
	if werr := f.svc.WaitFor(ctx, lsn); werr != nil {
		return p, err
	}
	if fk, ok := f.keys.(interface{ Forget(secret string) }); ok {
		fk.Forget(secret)
	}
	return f.keys.AuthenticateKey(ctx, secret)
}

func (h *Handler) read(c *gin.Context) (query.ReadRequest, bool) {
	v, err := query.ParseQuery(c.Request.URL.RawQuery)
	if err == nil {
		var req query.ReadRequest
		if req, err = query.ParseRead(v, c.GetHeader(ConsistencyHeader)); err == nil {
			return req, true
		}
	}
	httpapi.WriteError(c, err)
	return query.ReadRequest{}, false
}

// jsonAPI encodes responses: sonic (gin's optional codec) set up to write
// exactly what encoding/json's Encoder writes (TestEncodeMatchesEncodingJSON:
// sorted map keys, <, > and & escaped, U+2028/U+2029 escaped, invalid UTF-8
// replaced), at a third of the CPU on a 50-row page. The only
// json.Marshalers in responses are time.Time, whose output is compact and
// valid, and an event's data (json.RawMessage), which the events handler
// makes so (canonicalRaw): they are written as is, not compacted and
// validated again.
var jsonAPI = sonic.Config{EscapeHTML: true, SortMapKeys: true, NoValidateJSONMarshaler: true, CopyString: true, ValidateString: true}.Froze()

// writeJSON writes v as a private, uncacheable JSON 200 response.
func writeJSON(c *gin.Context, v any) {
	buf, err := encodeJSON(v)
	if err != nil {
		httpapi.WriteError(c, fmt.Errorf("queryhttp: encode response: %w", err))
		return
	}
	c.Header("Cache-Control", "private, no-store")
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Status(http.StatusOK)
	_, _ = c.Writer.Write(buf)
}

// encodeJSON is v as encoding/json's Encoder writes it, newline included.
func encodeJSON(v any) ([]byte, error) {
	buf, err := jsonAPI.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(buf, '\n'), nil
}

// exportContext returns a context for a long export: it ignores the
// general request deadline of parent (replacing it with timeout) but still
// ends when the client goes away.
func exportContext(parent context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), timeout)
	stop := context.AfterFunc(parent, func() {
		if errors.Is(parent.Err(), context.Canceled) {
			cancel()
		}
	})
	return ctx, func() { stop(); cancel() }
}
