package search

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/query"
)

// TestSourceStoredAsIndexed: searches return each document's source whole
// (sourceWhole), which is right only while the payment documents hold
// exactly the fields the API decodes plus the two sort longs (checked with
// the mapping in internal/shapetest), and the index stores the source
// unfiltered (a filter costs the engine a parse and a rewrite of every
// document it indexes).
func TestSourceStoredAsIndexed(t *testing.T) {
	var src struct {
		Mappings struct {
			Source map[string]any `json:"_source"`
		} `json:"mappings"`
	}
	if err := json.Unmarshal([]byte(projection.PaymentsMapping), &src); err != nil {
		t.Fatal(err)
	}
	if src.Mappings.Source != nil {
		t.Errorf("the mapping configures the stored source (%v); it must be stored as indexed", src.Mappings.Source)
	}
}

// TestUnmarshalMatchesEncodingJSON: the engine responses decode to the
// same values with the fast codec as with encoding/json.
func TestUnmarshalMatchesEncodingJSON(t *testing.T) {
	page := []byte(`{"took":3,"hits":{"total":{"value":10000,"relation":"gte"},"hits":[
	 {"_id":"a","_source":{"id":"0b9e6f3c-5a2d-4c1e-9f8a-7b6c5d4e3f2a","payment_ref_id":"3f1c2b7a-9d84-4e5f-a6b7-c8d9e0f1a2b3",
	  "customer_id":"6d1f0a8e-2b3c-4d5e-8f9a-0b1c2d3e4f5a","user_id":"01a2145f-20a9-768a-b32a-158c0c04b3ce","amount":123456789012345,
	  "currency":"DKK","third_party":"Ørsted \"Energi\" \u00e6\\n","description":"<b>&amp;</b>","status":"succeeded",
	  "date":"2026-11-25T20:21:48.320316Z","created_at":"2026-11-25T20:21:48.320316Z","updated_at":"2026-11-25T20:21:48.320316123Z",
	  "customer_name":"Shop","user_name":"Ann","user_email":"ann@example.com","id_hi":826590347402709022,"id_lo":-6950469578131746006},"sort":[1795638371699,826590347402709022,-6950469578131746006]}]}}`)
	var std, fast paymentHits
	if err := json.Unmarshal(page, &std); err != nil {
		t.Fatal(err)
	}
	if err := unmarshal(page, &fast); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(std, fast) {
		t.Errorf("decoded differently:\nencoding/json %+v\nunmarshal     %+v", std, fast)
	}
	if d := fast.Hits.Hits[0].Source; d.Amount != 123456789012345 || d.UpdatedAt.Nanosecond() != 320316123 || d.Date.Location() != time.UTC {
		t.Errorf("source %+v", d)
	}
	if err := unmarshal([]byte(`{"hits":{"hits":[{"_source":{"amount":1.5}}]}}`), &fast); err == nil {
		t.Error("a fractional amount was accepted")
	}
	if err := unmarshal([]byte(`{"hits":{"hits":[{"_source":{"amount":1},"sort":[1,"a",2]}]}}`), &fast); err == nil {
		t.Error("a sort value that is not a long was accepted")
	}
}

// searchPage is an engine answer with n payments as a search returns
// them: whole sources with their sort keys, sorted by date.
func searchPage(tb testing.TB, n int) []byte {
	var page strings.Builder
	page.WriteString(`{"hits":{"total":{"value":10000,"relation":"gte"},"hits":[`)
	for i := range n {
		id := fmt.Sprintf("0193a5b2-7c1d-7e4f-8a6b-%012x", i)
		hi, lo, err := projection.IDSortKey(id)
		if err != nil {
			tb.Fatal(err)
		}
		if i > 0 {
			page.WriteByte(',')
		}
		fmt.Fprintf(&page, `{"_source":{"id":%q,"payment_ref_id":"3f1c2b7a-9d84-4e5f-a6b7-c8d9e0f1a2b3",`+
			`"customer_id":"6d1f0a8e-2b3c-4d5e-8f9a-0b1c2d3e4f5a","user_id":"01a2145f-20a9-768a-b32a-158c0c04b3ce","amount":%d,`+
			`"currency":"DKK","third_party":"Shop <&> Co","description":"Invoice 2026-11 \"monthly\"","status":"succeeded",`+
			`"date":"2026-11-25T20:21:48.320316Z","created_at":"2026-11-25T20:21:48.320316Z","updated_at":"2026-11-25T20:21:48.32Z",`+
			`"customer_name":"Shop <&> Co","user_name":"Ann","user_email":"ann@example.com","id_hi":%d,"id_lo":%d},"sort":[1795638371699,%d,%d]}`,
			id, 1000+i, hi, lo, hi, lo)
	}
	page.WriteString(`]}}`)
	return []byte(page.String())
}

// TestDecodeSearch: every field of a hit's source reaches the query
// result, with the hit's sort key.
func TestDecodeSearch(t *testing.T) {
	res, err := decodeSearch(searchPage(t, 2), 2)
	if err != nil {
		t.Fatal(err)
	}
	var want query.Payment // fields set one by one: the test does not depend on how query.Payment is declared
	want.ID, want.PaymentRefID = "0193a5b2-7c1d-7e4f-8a6b-000000000001", "3f1c2b7a-9d84-4e5f-a6b7-c8d9e0f1a2b3"
	want.CustomerID, want.UserID = "6d1f0a8e-2b3c-4d5e-8f9a-0b1c2d3e4f5a", "01a2145f-20a9-768a-b32a-158c0c04b3ce"
	want.Amount, want.Currency, want.Status = 1001, "DKK", domain.StatusSucceeded
	want.ThirdParty, want.Description = "Shop <&> Co", `Invoice 2026-11 "monthly"`
	want.Date = time.Date(2026, 11, 25, 20, 21, 48, 320316000, time.UTC)
	want.CreatedAt, want.UpdatedAt = want.Date, time.Date(2026, 11, 25, 20, 21, 48, 320000000, time.UTC)
	want.CustomerName, want.UserName, want.UserEmail = "Shop <&> Co", "Ann", "ann@example.com"
	want.Key = query.SortKey{Value: 1795638371699, ID: want.ID}
	if len(res.Payments) != 2 || res.Total != 10000 || res.TotalExact || !reflect.DeepEqual(res.Payments[1], want) {
		t.Errorf("decoded %+v\nwant payments[1] %+v", res, want)
	}
}

// BenchmarkDecodeSearch decodes an engine answer of 51 payments (the
// default page plus one) into query results, the query API's per-search
// CPU after the engine answered.
func BenchmarkDecodeSearch(b *testing.B) {
	out := searchPage(b, 51)
	b.ReportAllocs()
	for b.Loop() {
		if res, err := decodeSearch(out, 51); err != nil || len(res.Payments) != 51 {
			b.Fatalf("%d payments, %v", len(res.Payments), err)
		}
	}
}
