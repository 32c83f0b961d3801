package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Error is an API's answer other than the expected success: an RFC 9457
// problem (Wildcat's problem+json) or, for answers that are not problems
// (a proxy's 502 page), just the status.
type Error struct {
	Status int    // HTTP status
	Code   string // the problem's stable code: "invalid", "insufficient_scope", "rate_limited", …
	Title  string
	Detail string
	Type   string
	// Fields are the field errors of a validation problem, in the
	// server's order (e.g. "payments[3].amount").
	Fields []FieldError
	// RetryAfter is the server's Retry-After, when it sent one: how long to
	// wait before trying again.
	RetryAfter time.Duration
	// Body is the raw answer when it was not a problem.
	Body []byte
}

// FieldError is one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wildcat: %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + ": " + f.Message)
		if i == len(e.Fields)-1 {
			b.WriteString(")")
		}
	}
	return b.String()
}

// ErrorCode returns the problem code of err if it is (or wraps) an *Error,
// and "" otherwise.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// newError builds the *Error of a response whose body has been read.
func newError(res *http.Response, body []byte) *Error {
	e := &Error{Status: res.StatusCode, RetryAfter: retryAfter(res.Header, time.Now())}
	var p struct {
		Type   string       `json:"type"`
		Title  string       `json:"title"`
		Detail string       `json:"detail"`
		Code   string       `json:"code"`
		Errors []FieldError `json:"errors"`
	}
	if strings.Contains(res.Header.Get("Content-Type"), "json") && json.Unmarshal(body, &p) == nil && p.Code != "" {
		e.Type, e.Title, e.Detail, e.Code, e.Fields = p.Type, p.Title, p.Detail, p.Code, p.Errors
		return e
	}
	e.Title = http.StatusText(res.StatusCode)
	e.Body = body
	return e
}
