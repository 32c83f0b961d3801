package queryhttp

import (
	"bytes"
	"encoding/json"
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
			{ID: "0b9e6f3c-5a2d-4c1e-9f8a-7b6c5d4e3f2a", Amount: 123456789012345, Currency: "DKK", ThirdParty: tricky,
				Description: tricky, Status: domain.StatusSucceeded, Date: at, CreatedAt: at.In(cph), UpdatedAt: at.Truncate(time.Second),
				CustomerName: tricky, UserName: "Ann", UserEmail: "ann@example.com"},
			{ID: "x", Amount: 1, Date: time.Time{}},
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
