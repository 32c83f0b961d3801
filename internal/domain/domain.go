package domain

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxAmount is the largest payment amount in minor units (10^15).
const MaxAmount int64 = 1_000_000_000_000_000

// Limits of text fields, counted in Unicode code points.
const (
	MaxNameLen        = 200
	MaxEmailLen       = 254
	MinPasswordLen    = 12
	MaxPasswordLen    = 256
	MaxThirdPartyLen  = 64
	MaxDescriptionLen = 500
	MaxBatchSize      = 1000
)

// User is a person or client that logs in. The password hash never leaves
// the command side.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Customer is the party on whose behalf payments are made (a shop).
type Customer struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     *string   `json:"email"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Link grants a user access to a customer.
type Link struct {
	CustomerID string    `json:"customer_id"`
	UserID     string    `json:"user_id"`
	CreatedAt  time.Time `json:"created_at"`
}

// Payment is one payment as stored in the write model, and the one
// description of a payment's fields: every other payment shape is built from
// it (PaymentView, the index document projection.PaymentDoc, the query
// result query.Payment, the command API's response). Amount is in the
// currency's minor units. The JSON names are the columns of the payments
// table (an idempotent replay decodes to_jsonb of its rows) and the fields of
// the index and of both APIs; internal/shapetest checks that the mapping, the
// OpenAPI documents and the Go types agree on them.
type Payment struct {
	ID           string    `json:"id"`
	PaymentRefID string    `json:"payment_ref_id"`
	CustomerID   string    `json:"customer_id"`
	UserID       string    `json:"user_id"`
	Amount       int64     `json:"amount"`
	Currency     string    `json:"currency"`
	ThirdParty   string    `json:"third_party"`
	Description  string    `json:"description"`
	Status       Status    `json:"status"`
	Date         time.Time `json:"date"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// The processing state (SPEC §9): the provider's or our code and message
	// when failed, provider attempts made, when it settled, and how much of
	// it has been refunded.
	FailureCode    *string    `json:"failure_code"`
	FailureMessage *string    `json:"failure_message"`
	Attempts       int        `json:"attempts"`
	ProcessedAt    *time.Time `json:"processed_at"`
	AmountRefunded int64      `json:"amount_refunded"`
	// APIKeyID is the API key that made the payment, when a key did (SPEC
	// §10); UserID is then the user who created the key. The APIs show both
	// as executed_by (Executor).
	APIKeyID *string `json:"-" db:"api_key_id"`
}

// Executor types: who made a payment.
const (
	ExecutorUser   = "user"
	ExecutorAPIKey = "api_key"
)

// Executor is who made a payment: a user (with name and email) or an API
// key (with its name).
type Executor struct {
	Type  string  `json:"type"`
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Email *string `json:"email,omitempty"`
}

// PaymentView is a payment as the read side shows it: the payment plus the
// current name of its customer and the name and email of the user who made
// it, which the projector copies into every payment document (and again when
// they change).
type PaymentView struct {
	Payment
	CustomerName string `json:"customer_name"`
	UserName     string `json:"user_name"`
	UserEmail    string `json:"user_email"`
	// ExecutedBy is the user or API key that executed the payment.
	ExecutedBy Executor `json:"executed_by"`
}

// ValidateAmount checks 0 < amount ≤ MaxAmount.
func ValidateAmount(v *Validation, field string, amount int64) {
	if amount <= 0 || amount > MaxAmount {
		v.Add(field, "must be an integer number of minor units between 1 and %d", MaxAmount)
	}
}

// ValidateCurrency checks that code is an upper-case ISO 4217 code.
func ValidateCurrency(v *Validation, field, code string) {
	if !IsCurrency(code) {
		v.Add(field, "must be an upper-case ISO 4217 currency code such as DKK or EUR")
	}
}

// ValidateText checks a single-line field (a name, a third party): valid
// UTF-8, between min and max code points, not blank when min > 0, and no
// control character at all (C0 including tab and newlines, DEL, C1), which
// could forge lines in logs or CSV and hide text in a terminal.
func ValidateText(v *Validation, field, s string, min, max int) {
	validateText(v, field, s, min, max, false)
}

// ValidateMultilineText is ValidateText for free text (descriptions,
// reasons): tab, newline and carriage return are allowed, every other
// control character is not.
func ValidateMultilineText(v *Validation, field, s string, min, max int) {
	validateText(v, field, s, min, max, true)
}

func validateText(v *Validation, field, s string, min, max int, multiline bool) {
	if !utf8.ValidString(s) {
		v.Add(field, "must be valid UTF-8")
		return
	}
	n := utf8.RuneCountInString(s)
	if n < min || n > max {
		if min > 0 {
			v.Add(field, "must be %d to %d characters", min, max)
		} else {
			v.Add(field, "must be at most %d characters", max)
		}
		return
	}
	if min > 0 && strings.TrimSpace(s) == "" {
		v.Add(field, "must not be blank")
		return
	}
	for _, r := range s {
		if !unicode.IsControl(r) || multiline && (r == '\t' || r == '\n' || r == '\r') {
			continue
		}
		if multiline {
			v.Add(field, "must not contain control characters other than tab and line breaks")
		} else {
			v.Add(field, "must not contain control characters (tab and line breaks included)")
		}
		return
	}
}

// ValidateEmail checks that s is a plain address (no display name) of at
// most MaxEmailLen bytes.
func ValidateEmail(v *Validation, field, s string) {
	if len(s) == 0 || len(s) > MaxEmailLen || !utf8.ValidString(s) {
		v.Add(field, "must be an email address of at most %d characters", MaxEmailLen)
		return
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		v.Add(field, "must be a plain email address like name@example.com")
	}
}

// NormalizeEmail trims surrounding space. Case is preserved for display;
// uniqueness is case-insensitive in the database.
func NormalizeEmail(s string) string { return strings.TrimSpace(s) }

// API keys (SPEC §10): the scopes a key may hold, and the shape of its
// secret: "wc_" + 43 base62 characters, of which the first APIKeyPrefixLen
// characters (prefix included) are its public, unique prefix.
const (
	ScopePaymentsRead  = "payments:read"
	ScopePaymentsWrite = "payments:write"
	APIKeySecretPrefix = "wc_"
	APIKeyPrefixLen    = 12
)
