package commandhttp

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
)

// FuzzPaymentRequest feeds arbitrary bodies through the decoding and
// validation of POST /v1/payments. It must never panic, every failure must be
// an application error with a code, and whatever passes must satisfy the
// domain rules. Run briefly in CI:
//
//	go test ./internal/httpapi/commandhttp -run '^$' -fuzz FuzzPaymentRequest -fuzztime 20s
func FuzzPaymentRequest(f *testing.F) {
	for _, seed := range []string{
		`{"customer_id":"123e4567-e89b-42d3-a456-426614174000","amount":1250,"currency":"DKK","third_party":"ACME"}`,
		`{"customer_id":"123e4567-e89b-42d3-a456-426614174000","amount":1,"currency":"EUR","third_party":"x","description":"d","payment_ref_id":"0b6f3f58-1d52-4c39-9a0f-1c2f3a4b5c6d","date":"2024-01-01T00:00:00Z"}`,
		`{"amount":10.5}`, `{"amount":1e3}`, `{"amount":-1}`, `{"amount":99999999999999999999}`, `{"amount":"1"}`,
		`{"currency":"dkk"}`, `{"third_party":""}`, `{"third_party":"a\u0000b"}`, `{"date":"2024-02-30T00:00:00Z"}`,
		`{"unknown":1}`, `[]`, `null`, `{`, `{"amount":1}{}`, "{\"third_party\":\"\xff\"}", ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in command.PaymentInput
		if err := httpapi.DecodeJSON(body, &in); err != nil {
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("decode error %v is not EINVALID", err)
			}
			return
		}
		var v domain.Validation
		p := in.Validate(&v, "")
		if err := v.Err(); err != nil {
			if domain.ErrorCode(err) != domain.EINVALID || len(v.Fields()) == 0 {
				t.Fatalf("validation error %v without fields", err)
			}
			return
		}
		if p.Amount <= 0 || p.Amount > domain.MaxAmount || !domain.IsCurrency(p.Currency) || !domain.IsUUID(p.CustomerID) ||
			(p.PaymentRefID != "" && !domain.IsUUID(p.PaymentRefID)) || !utf8.ValidString(p.ThirdParty) ||
			utf8.RuneCountInString(p.ThirdParty) < 1 || utf8.RuneCountInString(p.ThirdParty) > domain.MaxThirdPartyLen ||
			utf8.RuneCountInString(p.Description) > domain.MaxDescriptionLen {
			t.Fatalf("accepted an invalid payment %+v from %q", p, body)
		}
		// What is accepted renders back to JSON.
		if _, err := json.Marshal(p); err != nil {
			t.Fatal(err)
		}
	})
}
