package command

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// The request bodies of the use cases. Fields are pointers so that a
// missing (or null) required field is reported as missing instead of
// silently becoming a zero value.

// SignUpInput is the body of a sign-up.
type SignUpInput struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
	Name     *string `json:"name"`
}

// LoginInput is the body of a token request.
type LoginInput struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
}

// CustomerInput is the body of a customer creation.
type CustomerInput struct {
	Name  *string `json:"name"`
	Email *string `json:"email"`
}

// CustomerPatchInput is the body of a customer update: absent fields stay
// as they are; `"email": null` clears the email.
type CustomerPatchInput struct {
	Name  Optional[string] `json:"name"`
	Email Optional[string] `json:"email"`
}

// LinkByEmailInput is the body of a link by email.
type LinkByEmailInput struct {
	Email *string `json:"email"`
}

// PaymentInput is one payment of a request. Amount is in minor units.
type PaymentInput struct {
	CustomerID   *string `json:"customer_id"`
	Amount       *int64  `json:"amount"`
	Currency     *string `json:"currency"`
	ThirdParty   *string `json:"third_party"`
	Description  *string `json:"description"`
	PaymentRefID *string `json:"payment_ref_id"`
	Date         *string `json:"date"`
}

// Optional is a JSON field that distinguishes absent (Set false), null
// (Set and Null) and a value.
type Optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON implements json.Unmarshaler; it is called only when the
// field is present.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// Date bounds: RFC 3339 with a four-digit year; earlier dates are surely
// mistakes.
var (
	minDate = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDate = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

func required[T any](v *domain.Validation, field string, p *T) bool {
	if p == nil {
		v.Add(field, "is required")
		return false
	}
	return true
}

// Validate checks in, recording every problem under prefix+field, and
// returns the normalized payment (UUIDs in lower case, date in UTC truncated
// to microseconds, the precision stored).
func (in PaymentInput) Validate(v *domain.Validation, prefix string) NewPayment {
	var p NewPayment
	if required(v, prefix+"customer_id", in.CustomerID) {
		domain.ValidateUUID(v, prefix+"customer_id", *in.CustomerID)
		p.CustomerID = strings.ToLower(*in.CustomerID)
	}
	if required(v, prefix+"amount", in.Amount) {
		domain.ValidateAmount(v, prefix+"amount", *in.Amount)
		p.Amount = *in.Amount
	}
	if required(v, prefix+"currency", in.Currency) {
		domain.ValidateCurrency(v, prefix+"currency", *in.Currency)
		p.Currency = *in.Currency
	}
	if required(v, prefix+"third_party", in.ThirdParty) {
		domain.ValidateText(v, prefix+"third_party", *in.ThirdParty, 1, domain.MaxThirdPartyLen)
		p.ThirdParty = *in.ThirdParty
	}
	if in.Description != nil {
		domain.ValidateMultilineText(v, prefix+"description", *in.Description, 0, domain.MaxDescriptionLen)
		p.Description = *in.Description
	}
	if in.PaymentRefID != nil {
		domain.ValidateUUID(v, prefix+"payment_ref_id", *in.PaymentRefID)
		p.PaymentRefID = strings.ToLower(*in.PaymentRefID)
	}
	if in.Date != nil {
		t, err := time.Parse(time.RFC3339Nano, *in.Date)
		switch {
		case err != nil:
			v.Add(prefix+"date", "must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z")
		case t.Before(minDate) || t.After(maxDate):
			v.Add(prefix+"date", "must be between 1970-01-01 and 9999-12-31")
		default:
			t = t.UTC().Truncate(time.Microsecond)
			p.Date = &t
		}
	}
	return p
}

// validatePassword checks the length of a new password in characters.
func validatePassword(v *domain.Validation, field, pw string) {
	if n := utf8.RuneCountInString(pw); n < domain.MinPasswordLen || n > domain.MaxPasswordLen {
		v.Add(field, "must be %d to %d characters", domain.MinPasswordLen, domain.MaxPasswordLen)
	}
}
