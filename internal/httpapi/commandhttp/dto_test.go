package commandhttp

import (
	"fmt"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// TestPaymentBody pins a payment response byte for byte: the key order,
// the timestamps in UTC with exactly six fraction digits, no HTML escaping.
func TestPaymentBody(t *testing.T) {
	cph := time.FixedZone("CET", 3600)
	var p domain.Payment // fields set one by one: the test does not depend on how domain.Payment is declared
	p.ID, p.PaymentRefID = "0193a5b2-7c1d-7e4f-8a6b-000000000001", "3f1c2b7a-9d84-4e5f-a6b7-c8d9e0f1a2b3"
	p.CustomerID, p.UserID = "6d1f0a8e-2b3c-4d5e-8f9a-0b1c2d3e4f5a", "01a2145f-20a9-768a-b32a-158c0c04b3ce"
	p.Amount, p.Currency, p.Status = 1250, "DKK", domain.StatusSucceeded
	p.ThirdParty, p.Description = "Shop <&> Co", "Invoice \"11\"\n"
	p.Date = time.Date(2024, 2, 29, 23, 59, 59, 123456000, cph)
	p.CreatedAt = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	p.UpdatedAt = time.Date(2024, 3, 1, 0, 0, 0, 120000000, time.UTC)
	processed := time.Date(2024, 3, 1, 1, 0, 0, 5000, cph)
	p.Attempts, p.ProcessedAt = 2, &processed
	want := `{"id":"0193a5b2-7c1d-7e4f-8a6b-000000000001","payment_ref_id":"3f1c2b7a-9d84-4e5f-a6b7-c8d9e0f1a2b3",` +
		`"customer_id":"6d1f0a8e-2b3c-4d5e-8f9a-0b1c2d3e4f5a","user_id":"01a2145f-20a9-768a-b32a-158c0c04b3ce",` +
		`"amount":1250,"currency":"DKK","third_party":"Shop <&> Co","description":"Invoice \"11\"\n","status":"succeeded",` +
		`"failure_code":null,"failure_message":null,"attempts":2,"amount_refunded":0,` +
		`"date":"2024-02-29T22:59:59.123456Z","created_at":"2024-03-01T00:00:00.000000Z","updated_at":"2024-03-01T00:00:00.120000Z",` +
		`"processed_at":"2024-03-01T00:00:00.000005Z","executed_by":{"type":"user","id":"01a2145f-20a9-768a-b32a-158c0c04b3ce","name":"Ann","email":"ann@example.com"}}` + "\n"
	email := "ann@example.com"
	by := domain.Executor{Type: domain.ExecutorUser, ID: p.UserID, Name: "Ann", Email: &email}
	got, err := encode(paymentOf(p, by))
	if err != nil || string(got) != want {
		t.Errorf("payment body (%v)\n%s\nwant\n%s", err, got, want)
	}
	batch, err := encode(batchOf([]domain.Payment{p}, by))
	if err != nil || string(batch) != `{"payments":[`+want[:len(want)-1]+"]}\n" {
		t.Errorf("batch body (%v)\n%s", err, batch)
	}
}

// BenchmarkPaymentBatchBody renders the response of a batch of 1,000
// payments.
func BenchmarkPaymentBatchBody(b *testing.B) {
	ps := make([]domain.Payment, 1000)
	at := time.Date(2026, 11, 25, 20, 21, 48, 320316000, time.UTC)
	for i := range ps {
		p := &ps[i]
		p.ID, p.PaymentRefID = fmt.Sprintf("0193a5b2-7c1d-7e4f-8a6b-%012x", i), "3f1c2b7a-9d84-4e5f-a6b7-c8d9e0f1a2b3"
		p.CustomerID, p.UserID = "6d1f0a8e-2b3c-4d5e-8f9a-0b1c2d3e4f5a", "01a2145f-20a9-768a-b32a-158c0c04b3ce"
		p.Amount, p.Currency, p.Status, p.ThirdParty = int64(i+1), "DKK", domain.StatusSucceeded, "Shop"
		p.Date, p.CreatedAt, p.UpdatedAt = at, at, at
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encode(batchOf(ps, domain.Executor{})); err != nil {
			b.Fatal(err)
		}
	}
}
