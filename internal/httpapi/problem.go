// Package httpapi holds the HTTP plumbing shared by the three binaries: a
// gin engine with request logging, metrics, recovery, body limits and
// timeouts; RFC 9457 problem responses; strict JSON decoding; the health
// endpoints; and a server with graceful shutdown.
package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// ProblemContentType is the media type of RFC 9457 problem details.
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem details object with Wildcat's extensions:
// code (stable, machine-readable) and errors (one entry per invalid field).
type Problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail"`
	Code   string              `json:"code"`
	Errors []domain.FieldError `json:"errors,omitempty"`
}

// statusOf is the one table that maps application error codes to HTTP.
var statusOf = map[string]int{
	domain.EINVALID:       http.StatusBadRequest,
	domain.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	domain.ENOTFOUND:      http.StatusNotFound,
	domain.ECONFLICT:      http.StatusConflict,
	domain.EUNAUTHORIZED:  http.StatusUnauthorized,
	domain.EFORBIDDEN:     http.StatusForbidden,
	domain.ERATELIMITED:   http.StatusTooManyRequests,
	domain.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	domain.EUNAVAILABLE:   http.StatusServiceUnavailable,
	domain.EINTERNAL:      http.StatusInternalServerError,
}

// StatusOf returns the HTTP status for an application error code.
func StatusOf(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ProblemOf converts err into a Problem. Errors that are not *domain.Error
// become an opaque 500; their text is never shown to the caller.
func ProblemOf(err error) Problem {
	code := domain.ErrorCode(err)
	status := StatusOf(code)
	p := Problem{
		Type:   "https://wildcat.dev/problems/" + code,
		Title:  http.StatusText(status),
		Status: status,
		Detail: domain.ErrorMessage(err),
		Code:   code,
	}
	var e *domain.Error
	if errors.As(err, &e) {
		if e.Reason != "" {
			p.Code = e.Reason
			p.Type = "https://wildcat.dev/problems/" + e.Reason
		}
		p.Errors = e.Fields
	}
	return p
}

// WriteError writes err as problem+json, sets Retry-After where the error
// carries one, records it for the request log and aborts the chain.
func WriteError(c *gin.Context, err error) {
	p := ProblemOf(err)
	var e *domain.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	_ = c.Error(err) // the request logger reports it
	c.Header("Cache-Control", "no-store")
	c.Render(p.Status, problemRender{p})
	c.Abort()
}

// problemRender renders a Problem as JSON with the problem+json media type.
type problemRender struct{ p Problem }

func (r problemRender) Render(w http.ResponseWriter) error {
	r.WriteContentType(w)
	return jsonEncode(w, r.p)
}

func (r problemRender) WriteContentType(w http.ResponseWriter) {
	w.Header().Set("Content-Type", ProblemContentType)
}
