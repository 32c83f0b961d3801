package projection

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// TestIDSortKeyKeepsIDOrder: ordering by (hi, lo) is ordering by the id's
// canonical text, so the tie-breaker the searches use is the id's order.
func TestIDSortKeyKeepsIDOrder(t *testing.T) {
	ids := []string{"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
		"7fffffff-ffff-ffff-7fff-ffffffffffff", "80000000-0000-0000-8000-000000000000",
		"7fffffff-ffff-ffff-8000-000000000000", "80000000-0000-0000-7fff-ffffffffffff"}
	for range 2000 {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		ids = append(ids, fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]))
	}
	type keyed struct {
		id     string
		hi, lo int64
	}
	ks := make([]keyed, len(ids))
	for i, id := range ids {
		hi, lo, err := IDSortKey(id)
		if err != nil {
			t.Fatal(err)
		}
		if upper, _, _ := IDSortKey(strings.ToUpper(id)); upper != hi {
			t.Fatalf("%s: upper case gives another key", id)
		}
		ks[i] = keyed{id, hi, lo}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if a.hi != b.hi {
			return cmp.Compare(a.hi, b.hi)
		}
		return cmp.Compare(a.lo, b.lo)
	})
	for i := 1; i < len(ks); i++ {
		if ks[i-1].id >= ks[i].id {
			t.Fatalf("(hi, lo) puts %s before %s", ks[i-1].id, ks[i].id)
		}
	}
	for _, bad := range []string{"", "not-a-uuid", "0b9e6f3c5a2d4c1e9f8a7b6c5d4e3f2a", "0b9e6f3c-5a2d-4c1e-9f8a-7b6c5d4e3f2g"} {
		if _, _, err := IDSortKey(bad); err == nil {
			t.Errorf("IDSortKey(%q) accepted", bad)
		}
	}
}

// TestPaymentDocJSON: the indexed document carries the sort keys; decoding
// it back ignores them; a document without a UUID cannot be encoded.
func TestPaymentDocJSON(t *testing.T) {
	d := PaymentDoc{PaymentView: domain.PaymentView{Payment: domain.Payment{ID: "80000000-0000-0000-0000-000000000001", Amount: 5, Currency: "DKK", Date: time.Unix(0, 0).UTC()}}}
	buf, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf, &m); err != nil {
		t.Fatal(err)
	}
	if m["id_hi"] != float64(0) || m["id_lo"] != float64(-1<<63+1) || m["amount"] != float64(5) || m["id"] != d.ID {
		t.Errorf("document %s", buf)
	}
	if evs, ok := m["events"].([]any); !ok || len(evs) != 0 {
		t.Errorf("document %s: events %v, want [] (a payment without a timeline read)", buf, m["events"])
	}
	d.Events = []EventDoc{}
	var back PaymentDoc
	if err := json.Unmarshal(buf, &back); err != nil || !reflect.DeepEqual(back, d) {
		t.Errorf("decoded %+v, %v; want %+v", back, err, d)
	}
	if _, err := json.Marshal(PaymentDoc{PaymentView: domain.PaymentView{Payment: domain.Payment{ID: "x"}}}); err == nil {
		t.Error("a document without a UUID id was encoded")
	}
}

// BenchmarkBuildOps encodes a flush of 1,000 payment documents, the
// projector's per-document CPU outside the engine.
func BenchmarkBuildOps(b *testing.B) {
	docs := make([]Loaded[PaymentDoc], 1000)
	ids := make([]string, len(docs))
	versions := make(map[string]uint64, len(docs))
	for i := range docs {
		id := fmt.Sprintf("0193a5b2-7c1d-7e4f-8a6b-%012x", i)
		d := pay(id, "c1", "u1", "Shop <&> Co")
		d.Description = "Invoice 2026-11 \"monthly\""
		docs[i], ids[i], versions[id] = Loaded[PaymentDoc]{ID: id, Doc: d}, id, uint64(i+1)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ops, dead := BuildOps("payments", ids, versions, docs); len(ops) != len(docs) || len(dead) != 0 {
			b.Fatalf("ops %d dead %d", len(ops), len(dead))
		}
	}
}

// BuildOps asks a PaymentDoc's marshaler directly; the bytes must be what
// json.Marshal writes (escaping included) with the fingerprint of those
// bytes appended, and a customer still encodes.
func TestBuildOpsEncodesLikeJSONMarshal(t *testing.T) {
	d := pay("p1", "c1", "u1", "Shop <&> \"Co\" \u2028 é")
	c := CustomerDoc{ID: d.CustomerID, Name: "Shop <&>", UserIDs: []string{"u1"}}
	want, _ := json.Marshal(d)
	wantC, _ := json.Marshal(c)
	want = fmt.Appendf(want[:len(want)-1], `,"fp":%d}`, Fingerprint(want))
	wantC = fmt.Appendf(wantC[:len(wantC)-1], `,"fp":%d}`, Fingerprint(wantC))
	ops, dead := BuildOps("payments", []string{d.ID}, map[string]uint64{d.ID: 3}, []Loaded[PaymentDoc]{{ID: d.ID, Doc: d}})
	opsC, _ := BuildOps("customers", []string{c.ID}, map[string]uint64{c.ID: 4}, []Loaded[CustomerDoc]{{ID: c.ID, Doc: c}})
	if len(dead) != 0 || string(ops[0].Doc) != string(want) || string(opsC[0].Doc) != string(wantC) {
		t.Errorf("payment %s\nwant    %s\ncustomer %s\nwant     %s", ops[0].Doc, want, opsC[0].Doc, wantC)
	}
}

// TestPaymentDocBytes pins the indexed document byte for byte (the mapping
// is strict: a renamed or added field is an indexing error).
func TestPaymentDocBytes(t *testing.T) {
	var d PaymentDoc // fields set one by one: the test does not depend on how PaymentDoc is declared
	d.ID, d.PaymentRefID = "80000000-0000-0000-0000-000000000001", "3f1c2b7a-9d84-4e5f-a6b7-c8d9e0f1a2b3"
	d.CustomerID, d.UserID = "6d1f0a8e-2b3c-4d5e-8f9a-0b1c2d3e4f5a", "01a2145f-20a9-768a-b32a-158c0c04b3ce"
	d.Amount, d.Currency, d.Status = 1250, "DKK", "succeeded"
	d.ThirdParty, d.Description = "Shop <&> Co", "Invoice \"11\"\n"
	d.Date = time.Date(2024, 2, 29, 22, 59, 59, 123456000, time.UTC)
	d.CreatedAt = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	d.UpdatedAt = time.Date(2024, 3, 1, 0, 0, 0, 120000000, time.UTC)
	d.CustomerName, d.UserName, d.UserEmail = "Shop <&> Co", "Ann", "ann@example.com"
	d.ExecutedBy = domain.Executor{Type: domain.ExecutorAPIKey, ID: "01a2145f-20a9-768a-b32a-158c0c04b3cf", Name: "ERP <sync>"}
	processed := time.Date(2024, 3, 1, 0, 0, 1, 0, time.UTC)
	d.Attempts, d.ProcessedAt, d.AmountRefunded = 1, &processed, 250
	d.Events = []EventDoc{
		{ID: 7, Type: domain.EventPaymentCreated, Data: json.RawMessage(`{}`), CreatedAt: d.CreatedAt},
		{ID: 9, Type: domain.EventPaymentSucceeded, Data: json.RawMessage(`{"attempt": 1, "provider_reference": "<r>"}`), CreatedAt: processed},
	}
	want := `{"id":"80000000-0000-0000-0000-000000000001","payment_ref_id":"3f1c2b7a-9d84-4e5f-a6b7-c8d9e0f1a2b3",` +
		`"customer_id":"6d1f0a8e-2b3c-4d5e-8f9a-0b1c2d3e4f5a","user_id":"01a2145f-20a9-768a-b32a-158c0c04b3ce",` +
		`"amount":1250,"currency":"DKK","third_party":"Shop \u003c\u0026\u003e Co","description":"Invoice \"11\"\n",` +
		`"status":"succeeded","date":"2024-02-29T22:59:59.123456Z","created_at":"2024-03-01T00:00:00Z",` +
		`"updated_at":"2024-03-01T00:00:00.12Z","failure_code":null,"failure_message":null,"attempts":1,` +
		`"processed_at":"2024-03-01T00:00:01Z","amount_refunded":250,"customer_name":"Shop \u003c\u0026\u003e Co","user_name":"Ann",` +
		`"user_email":"ann@example.com",` +
		`"executed_by":{"type":"api_key","id":"01a2145f-20a9-768a-b32a-158c0c04b3cf","name":"ERP \u003csync\u003e"},"events":[{"id":7,"type":"payment.created","data":{},"created_at":"2024-03-01T00:00:00Z"},` +
		`{"id":9,"type":"payment.succeeded","data":{"attempt":1,"provider_reference":"\u003cr\u003e"},"created_at":"2024-03-01T00:00:01Z"}],` +
		`"id_hi":0,"id_lo":-9223372036854775807,"fp":427748445}`
	ops, dead := BuildOps("payments", []string{d.ID}, map[string]uint64{d.ID: 3}, []Loaded[PaymentDoc]{{ID: d.ID, Doc: d}})
	if len(dead) != 0 || len(ops) != 1 || string(ops[0].Doc) != want {
		t.Errorf("document %v\n%s\nwant\n%s", dead, ops[0].Doc, want)
	}
}
