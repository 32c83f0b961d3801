package queryhttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/query"
)

// TestEncodeMatchesEncodingJSON: responses are byte for byte what
// encoding/json's Encoder writes.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	email, cursor := "shop@example.com", "c1.abc"
	at := time.Date(2026, 11, 25, 20, 21, 48, 320316123, time.UTC)
	cph := time.FixedZone("CET", 3600)
	tricky := "<b>&amp;</b> \"quoted\" \\ back\u2028line\u2029para \x7f tab\t nl\n æøå 😀 \xff invalid"
	values := map[string]any{
		"page": query.Page{Data: []query.Payment{
			{PaymentView: domain.PaymentView{Payment: domain.Payment{ID: "0b9e6f3c-5a2d-4c1e-9f8a-7b6c5d4e3f2a", Amount: 123456789012345,
				Currency: "DKK", ThirdParty: tricky, Description: tricky, Status: domain.StatusSucceeded, Date: at, CreatedAt: at.In(cph),
				UpdatedAt: at.Truncate(time.Second)}, CustomerName: tricky, UserName: "Ann", UserEmail: "ann@example.com",
				ExecutedBy: domain.Executor{Type: domain.ExecutorAPIKey, ID: "4e000000-0000-4000-8000-00000000004e", Name: tricky}}},
			{PaymentView: domain.PaymentView{Payment: domain.Payment{ID: "x", Amount: 1, Date: time.Time{}}}},
		}, NextCursor: &cursor, HasMore: true, Total: 10000, TotalRelation: "gte"},
		"empty page": query.Page{Data: []query.Payment{}, TotalRelation: "eq"},
		"summary": query.Summary{Count: 3, SumByCurrency: map[string]int64{"USD": 1, "DKK": 2, "EUR": 3},
			CountByStatus: map[string]int64{"succeeded": 3}, Histogram: []query.Day{{Date: "2026-11-25", Count: 3,
				SumByCurrency: map[string]int64{"SEK": 9, "DKK": -1}}}},
		"nil maps": query.Summary{},
		"customers": struct {
			Data []query.Customer `json:"data"`
		}{Data: []query.Customer{{ID: "c", Name: tricky, Email: &email, Users: []query.User{{ID: "u", Name: "Bo", Email: "bo@example.com"}}},
			{ID: "d", Name: "No email", Users: nil}}},
	}
	for name, v := range values {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		got, err := encodeJSON(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s:\nencoding/json %s\nencodeJSON    %s", name, want.Bytes(), got)
		}
	}
}

// TestPageBytes pins a page of GET /v1/payments byte for byte.
func TestPageBytes(t *testing.T) {
	cursor := "c1.abc"
	page := query.Page{Data: make([]query.Payment, 1), NextCursor: &cursor, HasMore: true, Total: 10000, TotalRelation: "gte"}
	p := &page.Data[0] // fields set one by one: the test does not depend on how query.Payment is declared
	p.ID, p.PaymentRefID = "80000000-0000-0000-0000-000000000001", "3f1c2b7a-9d84-4e5f-a6b7-c8d9e0f1a2b3"
	p.CustomerID, p.UserID = "6d1f0a8e-2b3c-4d5e-8f9a-0b1c2d3e4f5a", "01a2145f-20a9-768a-b32a-158c0c04b3ce"
	p.Amount, p.Currency, p.Status = 1250, "DKK", domain.StatusSucceeded
	p.ThirdParty, p.Description = "Shop <&> Co", "Invoice \"11\"\n"
	p.Date = time.Date(2024, 2, 29, 22, 59, 59, 123456000, time.UTC)
	p.CreatedAt = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	p.UpdatedAt = time.Date(2024, 3, 1, 0, 0, 0, 120000000, time.UTC)
	p.CustomerName, p.UserName, p.UserEmail = "Shop <&> Co", "Ann", "ann@example.com"
	email := "ann@example.com"
	p.ExecutedBy = domain.Executor{Type: domain.ExecutorUser, ID: p.UserID, Name: "Ann", Email: &email}
	code, msg, processed := "do_not_honor", "Declined <by> the issuer", time.Date(2024, 3, 1, 0, 0, 1, 500000000, time.UTC)
	p.Status, p.FailureCode, p.FailureMessage, p.Attempts, p.ProcessedAt = domain.StatusFailed, &code, &msg, 2, &processed
	p.Key = query.SortKey{Value: 7, ID: p.ID}
	want := `{"data":[{"id":"80000000-0000-0000-0000-000000000001","payment_ref_id":"3f1c2b7a-9d84-4e5f-a6b7-c8d9e0f1a2b3",` +
		`"customer_id":"6d1f0a8e-2b3c-4d5e-8f9a-0b1c2d3e4f5a","user_id":"01a2145f-20a9-768a-b32a-158c0c04b3ce",` +
		`"amount":1250,"currency":"DKK","third_party":"Shop \u003c\u0026\u003e Co","description":"Invoice \"11\"\n",` +
		`"status":"failed","date":"2024-02-29T22:59:59.123456Z","created_at":"2024-03-01T00:00:00Z",` +
		`"updated_at":"2024-03-01T00:00:00.12Z","failure_code":"do_not_honor","failure_message":"Declined \u003cby\u003e the issuer",` +
		`"attempts":2,"processed_at":"2024-03-01T00:00:01.5Z","amount_refunded":0,` +
		`"customer_name":"Shop \u003c\u0026\u003e Co","user_name":"Ann",` +
		`"user_email":"ann@example.com","executed_by":{"type":"user","id":"01a2145f-20a9-768a-b32a-158c0c04b3ce","name":"Ann","email":"ann@example.com"}}],"next_cursor":"c1.abc","has_more":true,"total":10000,"total_relation":"gte"}` + "\n"
	got, err := encodeJSON(page)
	if err != nil || string(got) != want {
		t.Errorf("page (%v)\n%s\nwant\n%s", err, got, want)
	}
}

// BenchmarkEncodePage encodes a page of 50 payments, the query API's
// per-search CPU for the response body.
func BenchmarkEncodePage(b *testing.B) {
	at := time.Date(2026, 11, 25, 20, 21, 48, 320316000, time.UTC)
	cursor := "c1.abc"
	page := query.Page{Data: make([]query.Payment, 50), NextCursor: &cursor, HasMore: true, Total: 10000, TotalRelation: "gte"}
	for i := range page.Data {
		p := &page.Data[i] // fields set one by one: the benchmark does not depend on how query.Payment is declared
		p.ID, p.PaymentRefID = fmt.Sprintf("0193a5b2-7c1d-7e4f-8a6b-%012x", i), "3f1c2b7a-9d84-4e5f-a6b7-c8d9e0f1a2b3"
		p.CustomerID, p.UserID = "6d1f0a8e-2b3c-4d5e-8f9a-0b1c2d3e4f5a", "01a2145f-20a9-768a-b32a-158c0c04b3ce"
		p.Amount, p.Currency, p.Status = int64(1000+i), "DKK", domain.StatusSucceeded
		p.ThirdParty, p.Description = "Shop <&> Co", `Invoice 2026-11 "monthly"`
		p.Date, p.CreatedAt, p.UpdatedAt = at, at, at
		p.CustomerName, p.UserName, p.UserEmail = "Shop <&> Co", "Ann", "ann@example.com"
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeJSON(page); err != nil {
			b.Fatal(err)
		}
	}
}
