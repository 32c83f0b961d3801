package search

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

// TestDocumentsHoldOnlyPaymentFields: searches return each document's
// source whole (sourceWhole), which is right only while the payment
// documents hold exactly the fields the API decodes plus the two sort
// longs, and the index stores the source unfiltered (a filter costs the
// engine a parse and a rewrite of every document it indexes).
func TestDocumentsHoldOnlyPaymentFields(t *testing.T) {
	var m struct {
		Mappings struct {
			Properties map[string]any `json:"properties"`
		} `json:"mappings"`
	}
	if err := json.Unmarshal([]byte(projection.PaymentsMapping), &m); err != nil {
		t.Fatal(err)
	}
	var mapped, decoded []string
	for f := range m.Mappings.Properties {
		mapped = append(mapped, f)
	}
	typ := reflect.TypeFor[projection.PaymentDoc]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		decoded = append(decoded, name)
	}
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
	// id_hi and id_lo are sort keys only, which a PaymentDoc does not decode.
	sortOnly := []string{"id_hi", "id_lo"}
	mapped = slices.DeleteFunc(mapped, func(f string) bool { return slices.Contains(sortOnly, f) })
	slices.Sort(mapped)
	slices.Sort(decoded)
	if !slices.Equal(mapped, decoded) {
		t.Errorf("the index maps %v but a PaymentDoc decodes %v", mapped, decoded)
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
