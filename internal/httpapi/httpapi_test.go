package httpapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

type payment struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

func TestDecodeJSON(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		wantField  string // "" = no field named
		wantOK     bool
	}{
		{"OK", `{"amount": 1250, "currency": "DKK"}`, "", true},
		{"ErrEmpty", ``, "", false},
		{"ErrFloat", `{"amount": 12.5}`, "amount", false},
		{"ErrExponent", `{"amount": 1e3}`, "amount", false},
		{"ErrHuge", `{"amount": 99999999999999999999}`, "amount", false},
		{"ErrString", `{"amount": "1250"}`, "amount", false},
		{"ErrUnknownField", `{"amount": 1, "admin": true}`, "admin", false},
		{"ErrTrailing", `{"amount": 1} {"amount": 2}`, "", false},
		{"ErrTruncated", `{"amount": 1`, "", false},
		{"ErrArray", `[1,2]`, "", false},
		{"ErrSyntax", `{amount: 1}`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p payment
			err := httpapi.DecodeJSON([]byte(tc.body), &p)
			if tc.wantOK {
				if err != nil || p.Amount != 1250 || p.Currency != "DKK" {
					t.Fatalf("got %+v, %v; want amount 1250 DKK", p, err)
				}
				return
			}
			var e *domain.Error
			if !errors.As(err, &e) || e.Code != domain.EINVALID {
				t.Fatalf("got %v, want an EINVALID *domain.Error", err)
			}
			if tc.wantField != "" && (len(e.Fields) != 1 || e.Fields[0].Field != tc.wantField) {
				t.Fatalf("fields = %+v, want one naming %q", e.Fields, tc.wantField)
			}
		})
	}
}

func TestProblems(t *testing.T) {
	r := httpapi.NewEngine(testenv.Logger(t), httpapi.NewRegistry(), httpapi.EngineOptions{Service: "test"})
	r.POST("/echo", func(c *gin.Context) {
		body, err := httpapi.ReadBody(c, 16)
		if err != nil {
			httpapi.WriteError(c, err)
			return
		}
		c.String(http.StatusOK, "%s", body)
	})
	r.GET("/fail/:kind", func(c *gin.Context) {
		switch c.Param("kind") {
		case "conflict":
			httpapi.WriteError(c, fmt.Errorf("postgres: insert: %w", &domain.Error{Code: domain.ECONFLICT, Reason: "duplicate_payment_ref_id", Message: "exists"}))
		case "limited":
			httpapi.WriteError(c, &domain.Error{Code: domain.ERATELIMITED, Message: "slow down", RetryAfter: 7})
		case "internal":
			httpapi.WriteError(c, errors.New("dial tcp 10.0.0.1:5432: secret password"))
		case "panic":
			panic("boom")
		}
	})
	for _, tc := range []struct {
		name, method, path, body string
		wantStatus               int
		wantCode                 string
		wantHeader               [2]string
	}{
		{"ReasonBecomesCode", "GET", "/fail/conflict", "", 409, "duplicate_payment_ref_id", [2]string{}},
		{"RetryAfter", "GET", "/fail/limited", "", 429, "rate_limited", [2]string{"Retry-After", "7"}},
		{"InternalHidesText", "GET", "/fail/internal", "", 500, "internal", [2]string{}},
		{"PanicIsProblem", "GET", "/fail/panic", "", 500, "internal", [2]string{}},
		{"TooLarge", "POST", "/echo", strings.Repeat("x", 17), 413, "too_large", [2]string{}},
		{"InvalidUTF8", "POST", "/echo", "\xff\xfe", 400, "invalid", [2]string{}},
		{"UnknownRoute", "GET", "/nowhere", "", 404, "not_found", [2]string{}},
		{"WrongMethod", "DELETE", "/echo", "", 405, "method_not_allowed", [2]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", w.Code, tc.wantStatus, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != httpapi.ProblemContentType {
				t.Errorf("Content-Type = %q, want %q", ct, httpapi.ProblemContentType)
			}
			var p httpapi.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatalf("body is not a problem: %v: %s", err, w.Body)
			}
			if p.Status != tc.wantStatus || p.Code != tc.wantCode || p.Title == "" || p.Type == "" {
				t.Errorf("problem = %+v, want status %d code %q", p, tc.wantStatus, tc.wantCode)
			}
			if strings.Contains(w.Body.String(), "secret") || strings.Contains(w.Body.String(), "boom") {
				t.Errorf("problem leaks internals: %s", w.Body)
			}
			if h := tc.wantHeader; h[0] != "" && w.Header().Get(h[0]) != h[1] {
				t.Errorf("%s = %q, want %q", h[0], w.Header().Get(h[0]), h[1])
			}
		})
	}
}
