// Package domain holds Wildcat's domain types (users, customers, links and
// payments), their validation rules and the application error type. It uses
// only the standard library so every other package can depend on it.
package domain

import (
	"errors"
	"fmt"
)

// Error codes. Exactly one place (internal/httpapi) maps them to HTTP statuses.
const (
	EINVALID       = "invalid"       // the request is malformed or fails validation
	ENOTFOUND      = "not_found"     // the resource does not exist or is not visible to the caller
	ECONFLICT      = "conflict"      // the request conflicts with the current state
	EUNAUTHORIZED  = "unauthorized"  // missing or bad credentials
	EFORBIDDEN     = "forbidden"     // authenticated, but the credential does not allow this (e.g. an API key's scopes)
	ERATELIMITED   = "rate_limited"  // too many attempts; retry later
	ETOOLARGE      = "too_large"     // the request body exceeds its limit
	EUNAVAILABLE   = "unavailable"   // a dependency is down or a wait timed out; retry later
	EINTERNAL      = "internal"      // a bug or an unexpected failure
	EUNPROCESSABLE = "unprocessable" // well-formed but semantically unacceptable (e.g. a batch with bad items)
)

// FieldError names one invalid field of a request and why it is invalid.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the application error. Code selects the HTTP status and the
// problem type; Reason is a finer, stable machine-readable code (for example
// "idempotency_key_reused") that clients may branch on; Message is safe to
// show to the caller; Fields lists every invalid field of a validation error.
type Error struct {
	Code       string
	Reason     string
	Message    string
	Fields     []FieldError
	RetryAfter int // seconds; set for rate_limited and unavailable
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("domain: %s (%s): %s", e.Code, e.Reason, e.Message)
	}
	return fmt.Sprintf("domain: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the caller-safe message of err. Errors that are not an
// *Error never leak their text: it may contain internals.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "An internal error occurred."
	}
}

// Validation collects field errors so that every problem of a request is
// reported at once. The zero value is ready to use; it is not safe for
// concurrent use.
type Validation struct {
	fields []FieldError
}

// Add records that field is invalid.
func (v *Validation) Add(field, format string, args ...any) {
	v.fields = append(v.fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Fields returns the recorded field errors.
func (v *Validation) Fields() []FieldError { return v.fields }

// Err returns nil when nothing was recorded, otherwise an EINVALID *Error
// carrying every field error.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	msg := "The request is invalid."
	if len(v.fields) == 1 {
		msg = v.fields[0].Field + ": " + v.fields[0].Message
	}
	return &Error{Code: EINVALID, Message: msg, Fields: v.fields}
}
