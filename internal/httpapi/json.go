package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// Body limits (docs/command-api.md, *Errors*).
const (
	MaxBody      = 1 << 20 // 1 MiB
	MaxBatchBody = 8 << 20 // 8 MiB
)

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// ReadBody reads the whole request body, at most limit bytes. A larger body
// is a too_large error, a body that is not valid UTF-8 is invalid.
func ReadBody(c *gin.Context, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, domain.Errorf(domain.ETOOLARGE, "The request body exceeds %d bytes.", limit)
		}
		return nil, domain.Errorf(domain.EINVALID, "The request body could not be read.")
	}
	if !utf8.Valid(body) {
		return nil, domain.Errorf(domain.EINVALID, "The request body is not valid UTF-8.")
	}
	return body, nil
}

// DecodeJSON strictly decodes one JSON value from body into dst: unknown
// fields, wrong types, numbers that do not fit (floats into integers, huge
// values) and trailing data are invalid, with a message naming the field.
func DecodeJSON(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return domain.Errorf(domain.EINVALID, "The request body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return domain.Errorf(domain.EINVALID, "The request body must hold exactly one JSON value.")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return domain.Errorf(domain.EINVALID, "The request body must hold exactly one JSON value.")
	}
	return nil
}

func decodeError(err error) error {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return domain.Errorf(domain.EINVALID, "The request body is not valid JSON (at byte %d).", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return domain.Errorf(domain.EINVALID, "The request body is truncated JSON.")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return domain.Errorf(domain.EINVALID, "The request body must be a JSON object.")
		}
		msg := fmt.Sprintf("must be %s", jsonKind(typeErr))
		return &domain.Error{Code: domain.EINVALID, Message: field + ": " + msg,
			Fields: []domain.FieldError{{Field: field, Message: msg}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &domain.Error{Code: domain.EINVALID, Message: "Unknown field " + field + ".",
			Fields: []domain.FieldError{{Field: field, Message: "is not a known field"}}}
	default:
		return domain.Errorf(domain.EINVALID, "The request body could not be decoded.")
	}
}

func jsonKind(e *json.UnmarshalTypeError) string {
	switch e.Type.Kind().String() {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		if e.Value == "number" || strings.HasPrefix(e.Value, "number ") {
			return "an integer within range (minor units, no fraction)"
		}
		return "an integer"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "of type " + e.Type.String()
}
