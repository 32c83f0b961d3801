// Package commandhttp exposes the command use cases (internal/command) over
// HTTP with gin: the routes of docs/command-api.md, request decoding, response
// rendering, the JWKS and the OpenAPI document. Errors go through
// httpapi.WriteError, the one place that maps them to problem+json.
package commandhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildcat-payments/wildcat/internal/auth"
	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
)

// Response headers (docs/command-api.md).
const (
	HeaderConsistencyToken  = "X-Consistency-Token"
	HeaderIdempotencyKey    = "Idempotency-Key"
	HeaderIdempotentReplay  = "Idempotent-Replayed"
	jsonContentType         = "application/json; charset=utf-8"
	timeFormat              = "2006-01-02T15:04:05.000000Z07:00"
	wellKnownJWKS           = "/.well-known/jwks.json"
	openAPIPath             = "/openapi.json"
	maxIdempotencyKeyHeader = 1
)

// Options configure Register.
type Options struct {
	Service  *command.Service
	Verifier httpapi.TokenVerifier
	Keys     httpapi.KeyAuthenticator // nil: API keys are not accepted
	// KeyLimit rate-limits API keys on the payment routes (nil: none).
	KeyLimit gin.HandlerFunc
	// Integrations serves API keys and webhook endpoints (nil: no routes).
	Integrations *command.Integrations
	// Users resolves the names shown in executed_by (cached).
	Users    UserNames
	JWKS     auth.JWKS
	Registry *prometheus.Registry // metrics of payments and replays; nil for none
}

type handler struct {
	svc          *command.Service
	integrations *command.Integrations
	users        UserNames
	jwks         []byte
	created      prometheus.Counter
	replayed     prometheus.Counter
}

// Register adds the command API's routes to r.
func Register(r *gin.Engine, o Options) error {
	jwks, err := json.Marshal(o.JWKS)
	if err != nil {
		return err
	}
	if o.KeyLimit == nil {
		o.KeyLimit = func(*gin.Context) {}
	}
	h := &handler{svc: o.Service, jwks: jwks, integrations: o.Integrations, users: o.Users,
		created: prometheus.NewCounter(prometheus.CounterOpts{Name: "wildcat_payments_created_total",
			Help: "Payments created (replays excluded)."}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "wildcat_idempotent_replays_total",
			Help: "Payment requests answered from a stored Idempotency-Key."}),
	}
	if o.Registry != nil {
		o.Registry.MustRegister(h.created, h.replayed)
	}
	doc, err := OpenAPIJSON()
	if err != nil {
		return err
	}

	r.GET(openAPIPath, func(c *gin.Context) { c.Data(http.StatusOK, jsonContentType, doc) })
	r.GET(wellKnownJWKS, h.getJWKS)
	r.POST("/v1/users", h.signUp)
	r.POST("/v1/auth/token", h.token)

	a := r.Group("/v1", httpapi.Authenticate(o.Verifier, o.Keys), keyActor)
	// People only: their account, customers, links, keys and webhooks.
	u := a.Group("", httpapi.RequireUser())
	u.GET("/me", h.me)
	u.POST("/customers", h.createCustomer)
	u.GET("/customers/:id", h.getCustomer)
	u.PATCH("/customers/:id", h.updateCustomer)
	u.POST("/customers/:id/users", h.linkByEmail)
	u.PUT("/customers/:id/users/:user_id", h.link)
	u.DELETE("/customers/:id/users/:user_id", h.unlink)
	if o.Integrations != nil {
		h.registerIntegrations(u, o.Integrations)
	}
	// People, and API keys within their scopes.
	w := a.Group("", httpapi.RequireScope(auth.ScopePaymentsWrite), o.KeyLimit)
	w.POST("/payments", h.createPayment)
	w.POST("/payments/batch", h.createPayments)
	w.POST("/payments/:id/cancel", h.cancelPayment)
	w.POST("/payments/:id/retry", h.retryPayment)
	w.POST("/payments/:id/refunds", h.createRefund)
	a.GET("/dead-letters", httpapi.RequireScope(auth.ScopePaymentsRead), o.KeyLimit, h.deadLetters)
	a.GET("/api-key", o.KeyLimit, currentKey)
	return nil
}

// decode reads a JSON body of at most limit bytes into dst.
func decode(c *gin.Context, limit int64, dst any) error {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return &domain.Error{Code: domain.EINVALID, Reason: "unsupported_media_type",
				Message: "The request body must be JSON (Content-Type: application/json)."}
		}
	}
	body, err := httpapi.ReadBody(c, limit)
	if err != nil {
		return err
	}
	return httpapi.DecodeJSON(body, dst)
}

// render writes v as JSON with status.
func render(c *gin.Context, status int, v any) {
	body, err := encode(v)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(status, jsonContentType, body)
}

// encode returns the response body of v: JSON without HTML escaping, ending
// in a newline.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func written(c *gin.Context, commit command.Commit) {
	c.Header(HeaderConsistencyToken, commit.Token())
}

func noContent(c *gin.Context) {
	c.Status(http.StatusNoContent)
	c.Writer.WriteHeaderNow()
}

func (h *handler) getJWKS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, jsonContentType, h.jwks)
}

func (h *handler) signUp(c *gin.Context) {
	var in command.SignUpInput
	if err := decode(c, httpapi.MaxBody, &in); err != nil {
		httpapi.WriteError(c, err)
		return
	}
	u, commit, err := h.svc.SignUp(c.Request.Context(), c.ClientIP(), in)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	written(c, commit)
	render(c, http.StatusCreated, userOf(u))
}

func (h *handler) token(c *gin.Context) {
	var in command.LoginInput
	if err := decode(c, httpapi.MaxBody, &in); err != nil {
		httpapi.WriteError(c, err)
		return
	}
	tok, err := h.svc.Login(c.Request.Context(), c.ClientIP(), in)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	c.Header("Pragma", "no-cache")
	render(c, http.StatusOK, tokenJSON{AccessToken: tok.Token, TokenType: "Bearer", ExpiresIn: int64(tok.ExpiresIn / time.Second)})
}

func (h *handler) me(c *gin.Context) {
	u, err := h.svc.Me(c.Request.Context(), httpapi.UserID(c))
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	render(c, http.StatusOK, userOf(u))
}

func (h *handler) createCustomer(c *gin.Context) {
	var in command.CustomerInput
	if err := decode(c, httpapi.MaxBody, &in); err != nil {
		httpapi.WriteError(c, err)
		return
	}
	cu, commit, err := h.svc.CreateCustomer(c.Request.Context(), httpapi.UserID(c), in)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	written(c, commit)
	c.Header("Location", "/v1/customers/"+cu.ID)
	render(c, http.StatusCreated, customerOf(cu))
}

func (h *handler) getCustomer(c *gin.Context) {
	cu, err := h.svc.Customer(c.Request.Context(), httpapi.UserID(c), c.Param("id"))
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	render(c, http.StatusOK, customerOf(cu))
}

func (h *handler) updateCustomer(c *gin.Context) {
	var in command.CustomerPatchInput
	if err := decode(c, httpapi.MaxBody, &in); err != nil {
		httpapi.WriteError(c, err)
		return
	}
	cu, commit, err := h.svc.UpdateCustomer(c.Request.Context(), httpapi.UserID(c), c.Param("id"), in)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	written(c, commit)
	render(c, http.StatusOK, customerOf(cu))
}

func (h *handler) link(c *gin.Context) {
	commit, err := h.svc.Link(c.Request.Context(), httpapi.UserID(c), c.Param("id"), c.Param("user_id"))
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	written(c, commit)
	noContent(c)
}

func (h *handler) unlink(c *gin.Context) {
	commit, err := h.svc.Unlink(c.Request.Context(), httpapi.UserID(c), c.Param("id"), c.Param("user_id"))
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	written(c, commit)
	noContent(c)
}

func (h *handler) linkByEmail(c *gin.Context) {
	var in command.LinkByEmailInput
	if err := decode(c, httpapi.MaxBody, &in); err != nil {
		httpapi.WriteError(c, err)
		return
	}
	commit, err := h.svc.LinkByEmail(c.Request.Context(), httpapi.UserID(c), c.Param("id"), in)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	written(c, commit)
	noContent(c)
}

// idempotencyKey returns the Idempotency-Key header ("" when absent); a
// header that is present but empty, or repeated, is invalid.
func idempotencyKey(c *gin.Context) (string, error) {
	vals := c.Request.Header.Values(HeaderIdempotencyKey)
	switch len(vals) {
	case 0:
		return "", nil
	case maxIdempotencyKeyHeader:
		if err := command.ValidateIdempotencyKey(vals[0]); err != nil {
			return "", err
		}
		return vals[0], nil
	}
	return "", command.ValidateIdempotencyKey("")
}

func (h *handler) createPayment(c *gin.Context) {
	key, err := idempotencyKey(c)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	var in command.PaymentInput
	if err := decode(c, httpapi.MaxBody, &in); err != nil {
		httpapi.WriteError(c, err)
		return
	}
	res, err := h.svc.CreatePayment(c.Request.Context(), httpapi.UserID(c), key, in)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	h.paymentsWritten(c, res)
	render(c, res.StatusCode, paymentOf(res.Payments[0], h.caller(c)))
}

func (h *handler) createPayments(c *gin.Context) {
	key, err := idempotencyKey(c)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	var body struct {
		Payments []json.RawMessage `json:"payments"`
	}
	if err := decode(c, httpapi.MaxBatchBody, &body); err != nil {
		httpapi.WriteError(c, err)
		return
	}
	if len(body.Payments) > domain.MaxBatchSize {
		httpapi.WriteError(c, command.CheckBatchSize(len(body.Payments))) // before decoding thousands of items
		return
	}
	in := command.BatchInput{Items: make([]command.BatchItem, len(body.Payments))}
	for i, raw := range body.Payments {
		if err := httpapi.DecodeJSON(raw, &in.Items[i].Payment); err != nil {
			in.Items[i].DecodeErrors = itemDecodeErrors(err)
		}
	}
	res, err := h.svc.CreatePayments(c.Request.Context(), httpapi.UserID(c), key, in)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	h.paymentsWritten(c, res)
	render(c, res.StatusCode, batchOf(res.Payments, h.caller(c)))
}

func (h *handler) paymentsWritten(c *gin.Context, res command.PaymentResult) {
	written(c, res.Commit)
	if res.Replayed {
		c.Header(HeaderIdempotentReplay, "true")
		h.replayed.Inc()
		return
	}
	h.created.Add(float64(len(res.Payments)))
}

// itemDecodeErrors lists why a batch item could not be decoded, with field
// names relative to the item ("" for the item itself).
func itemDecodeErrors(err error) []domain.FieldError {
	var e *domain.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		return e.Fields
	}
	return []domain.FieldError{{Field: "", Message: "must be a JSON object of payment fields"}}
}
