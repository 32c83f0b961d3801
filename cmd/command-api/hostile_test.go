package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestHostileBodies sends malformed and hostile payment requests: each is a
// 4xx problem+json, nothing is written, and the server stays healthy.
func TestHostileBodies(t *testing.T) {
	s := mustServer(t, nil)
	u := s.signUp("Fuzzer")
	c := s.createCustomer(u, "Shop")
	valid := `"customer_id":"` + c.ID + `","currency":"DKK","third_party":"ACME"`
	with := func(field string) string { return `{` + valid + `,` + field + `}` }
	amount := func(v string) string {
		return `{"customer_id":"` + c.ID + `","currency":"DKK","third_party":"ACME","amount":` + v + `}`
	}
	payment := func(k, v string) string {
		fields := map[string]string{"customer_id": `"` + c.ID + `"`, "amount": "100", "currency": `"DKK"`, "third_party": `"ACME"`}
		fields[k] = v
		var parts []string
		for f, val := range fields {
			if val != "" {
				parts = append(parts, `"`+f+`":`+val)
			}
		}
		return "{" + strings.Join(parts, ",") + "}"
	}

	for _, tc := range []struct {
		name    string
		body    string
		ctype   string
		status  int
		field   string // the field the problem must name, if any
		noCheck bool
	}{
		{name: "AmountFloat", body: amount("10.5"), status: 400, field: "amount"},
		{name: "AmountExponent", body: amount("1e3"), status: 400, field: "amount"},
		{name: "AmountString", body: amount(`"100"`), status: 400, field: "amount"},
		{name: "AmountHuge", body: amount("99999999999999999999999999"), status: 400, field: "amount"},
		{name: "AmountNegative", body: amount("-100"), status: 400, field: "amount"},
		{name: "AmountZero", body: amount("0"), status: 400, field: "amount"},
		{name: "AmountOverLimit", body: amount("1000000000000001"), status: 400, field: "amount"},
		{name: "AmountNull", body: amount("null"), status: 400, field: "amount"},
		{name: "AmountBool", body: amount("true"), status: 400, field: "amount"},
		{name: "AmountMissing", body: `{` + valid + `}`, status: 400, field: "amount"},
		{name: "CurrencyLower", body: payment("currency", `"dkk"`), status: 400, field: "currency"},
		{name: "CurrencyUnknown", body: payment("currency", `"XXX"`), status: 400, field: "currency"},
		{name: "CurrencyNumber", body: payment("currency", `208`), status: 400, field: "currency"},
		{name: "ThirdPartyEmpty", body: payment("third_party", `""`), status: 400, field: "third_party"},
		{name: "ThirdParty65", body: payment("third_party", `"`+strings.Repeat("x", 65)+`"`), status: 400, field: "third_party"},
		{name: "ThirdPartyNUL", body: payment("third_party", `"a\u0000b"`), status: 400, field: "third_party"},
		{name: "Description501", body: with(`"amount":1,"description":"` + strings.Repeat("d", 501) + `"`), status: 400, field: "description"},
		{name: "CustomerIDBad", body: payment("customer_id", `"123"`), status: 400, field: "customer_id"},
		{name: "CustomerIDInjection", body: payment("customer_id", `"' OR 1=1 --"`), status: 400, field: "customer_id"},
		{name: "CustomerIDObject", body: payment("customer_id", `{"$ne":null}`), status: 400, field: "customer_id"},
		{name: "RefIDBad", body: with(`"amount":1,"payment_ref_id":"zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"`), status: 400, field: "payment_ref_id"},
		{name: "DateBad", body: with(`"amount":1,"date":"yesterday"`), status: 400, field: "date"},
		{name: "DateNoZone", body: with(`"amount":1,"date":"2024-01-01T00:00:00"`), status: 400, field: "date"},
		{name: "DateImpossible", body: with(`"amount":1,"date":"2024-02-30T00:00:00Z"`), status: 400, field: "date"},
		{name: "DateTooEarly", body: with(`"amount":1,"date":"0001-01-01T00:00:00Z"`), status: 400, field: "date"},
		{name: "UnknownField", body: with(`"amount":1,"status":"failed"`), status: 400, field: "status"},
		{name: "InvalidUTF8", body: "{\"customer_id\":\"" + c.ID + "\",\"amount\":1,\"currency\":\"DKK\",\"third_party\":\"\xff\xfe\"}", status: 400},
		{name: "TruncatedJSON", body: `{"customer_id":"` + c.ID + `","amount":1`, status: 400},
		{name: "TrailingData", body: amount("1") + `{}`, status: 400},
		{name: "Array", body: `[` + amount("1") + `]`, status: 400},
		{name: "Null", body: `null`, status: 400},
		{name: "EmptyBody", body: ``, status: 400},
		{name: "NotJSON", body: `amount=1`, status: 400},
		{name: "WrongContentType", body: amount("1"), ctype: "text/plain", status: 400},
		{name: "FormContentType", body: amount("1"), ctype: "application/x-www-form-urlencoded", status: 400},
		{name: "DeepNesting", body: strings.Repeat("[", 100000) + strings.Repeat("]", 100000), status: 400},
		{name: "TwoMiBString", body: with(`"amount":1,"description":"` + strings.Repeat("a", 2<<20) + `"`), status: 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := s.with(t)
			before := s.counts()
			ctype := tc.ctype
			if ctype == "" {
				ctype = "application/json"
			}
			res := s.do(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: []byte(tc.body), Header: map[string]string{"Content-Type": ctype}})
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d: %.300s", res.Status, tc.status, res.Body)
			}
			p := res.problem(t)
			if tc.field != "" && !strings.Contains(strings.Join(p.fields(), ","), tc.field) && !strings.Contains(p.Detail, tc.field) {
				t.Errorf("problem does not name %s: %s", tc.field, res.Body)
			}
			s.assertCounts(before)
		})
	}
	s.must(req{Method: "GET", Path: "/readyz"}, http.StatusOK)
	s.must(req{Method: "POST", Path: "/v1/payments", Token: u.Token, Body: amount("1")}, http.StatusCreated)
}

// TestRouting: unknown routes and methods are problems too, and the
// operational endpoints answer.
func TestRouting(t *testing.T) {
	s := mustServer(t, nil)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/v1/nope", http.StatusNotFound},
		{"GET", "/v1/payments", http.StatusMethodNotAllowed},
		{"DELETE", "/v1/users", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			s := s.with(t)
			s.must(req{Method: tc.method, Path: tc.path}, tc.status).problem(t)
		})
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/.well-known/jwks.json"} {
		s.must(req{Method: "GET", Path: path}, http.StatusOK)
	}
}

// TestOpenAPIDocument: the served document is a valid OpenAPI 3.1 document,
// and the response validator used by every test does reject a response that
// breaks it (so the suite's validation can fail).
func TestOpenAPIDocument(t *testing.T) {
	s := mustServer(t, nil)
	res := s.must(req{Method: "GET", Path: "/openapi.json"}, http.StatusOK)
	doc, err := openapi3.NewLoader().LoadFromData(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid document: %v", err)
	}
	for _, op := range []string{"/v1/users", "/v1/auth/token", "/v1/me", "/v1/customers", "/v1/customers/{id}",
		"/v1/customers/{id}/users", "/v1/customers/{id}/users/{user_id}", "/v1/payments", "/v1/payments/batch", "/.well-known/jwks.json"} {
		if doc.Paths.Find(op) == nil {
			t.Errorf("path %s is not documented", op)
		}
	}

	hr, _ := http.NewRequest("POST", s.base+"/v1/payments", nil)
	broken := []struct {
		name string
		res  response
	}{
		{"UndocumentedStatus", response{Status: http.StatusTeapot, Header: http.Header{"Content-Type": {"application/problem+json"}}, Body: []byte(`{}`)}},
		{"MissingField", response{Status: 201, Header: http.Header{"Content-Type": {"application/json"}, "X-Consistency-Token": {"c1.0000000000000001"}}, Body: []byte(`{"id":"x"}`)}},
		{"FloatAmount", response{Status: 201, Header: http.Header{"Content-Type": {"application/json"}, "X-Consistency-Token": {"c1.0000000000000001"}},
			Body: []byte(`{"id":"0b6f3f58-1d52-4c39-9a0f-1c2f3a4b5c6d","payment_ref_id":"0b6f3f58-1d52-4c39-9a0f-1c2f3a4b5c6d","customer_id":"0b6f3f58-1d52-4c39-9a0f-1c2f3a4b5c6d","user_id":"0b6f3f58-1d52-4c39-9a0f-1c2f3a4b5c6d","amount":10.5,"currency":"DKK","third_party":"x","description":"","status":"succeeded","date":"2024-01-01T00:00:00Z","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}`)}},
		{"NoConsistencyToken", response{Status: 201, Header: http.Header{"Content-Type": {"application/json"}},
			Body: []byte(`{"id":"0b6f3f58-1d52-4c39-9a0f-1c2f3a4b5c6d","payment_ref_id":"0b6f3f58-1d52-4c39-9a0f-1c2f3a4b5c6d","customer_id":"0b6f3f58-1d52-4c39-9a0f-1c2f3a4b5c6d","user_id":"0b6f3f58-1d52-4c39-9a0f-1c2f3a4b5c6d","amount":10,"currency":"DKK","third_party":"x","description":"","status":"succeeded","date":"2024-01-01T00:00:00Z","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}`)}},
		{"ProblemWithoutCode", response{Status: 400, Header: http.Header{"Content-Type": {"application/problem+json"}}, Body: []byte(`{"type":"t","title":"t","status":400,"detail":"d"}`)}},
	}
	for _, tc := range broken {
		t.Run(tc.name, func(t *testing.T) {
			if err := validateResponse(hr, tc.res); err == nil {
				t.Errorf("the validator accepted a response that breaks the document")
			}
		})
	}
}
