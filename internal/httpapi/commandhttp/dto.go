package commandhttp

import (
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// The JSON shapes of responses. Timestamps are RFC 3339 in UTC with
// microseconds, the precision PostgreSQL stores, so a value read back is
// byte-for-byte what was written and replays are identical to originals.

type userJSON struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

type tokenJSON struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

type customerJSON struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Email     *string `json:"email"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
}

// PaymentJSON is a payment as the command API returns it: a domain.Payment
// with its timestamps in the API's form. The three strings shadow the
// payment's time fields of the same names (encoding/json writes the
// shallower of two fields with one name); they are the payment's last three
// fields, so declared after it they keep its key order. Exported for the
// tests that read responses (cmd/command-api) and check the shape
// (internal/shapetest).
type PaymentJSON struct {
	domain.Payment
	Date        string          `json:"date"`
	CreatedAt   string          `json:"created_at"`
	UpdatedAt   string          `json:"updated_at"`
	ProcessedAt *string         `json:"processed_at"`
	ExecutedBy  domain.Executor `json:"executed_by"`
}

// RefundJSON is a refund as the command API returns it.
type RefundJSON struct {
	domain.Refund
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func refundOf(r domain.Refund) RefundJSON {
	return RefundJSON{Refund: r, CreatedAt: ts(r.CreatedAt), UpdatedAt: ts(r.UpdatedAt)}
}

// deadLettersJSON is a page of dead letters.
type deadLettersJSON struct {
	Data       []PaymentJSON `json:"data"`
	NextCursor *string       `json:"next_cursor"`
	HasMore    bool          `json:"has_more"`
}

type batchJSON struct {
	Payments []PaymentJSON `json:"payments"`
}

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

func userOf(u domain.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, CreatedAt: ts(u.CreatedAt)}
}

func customerOf(c domain.Customer) customerJSON {
	return customerJSON{ID: c.ID, Name: c.Name, Email: c.Email, CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt)}
}

func paymentOf(p domain.Payment, by domain.Executor) PaymentJSON {
	return PaymentJSON{Payment: p, Date: ts(p.Date), CreatedAt: ts(p.CreatedAt), UpdatedAt: ts(p.UpdatedAt),
		ProcessedAt: tsp(p.ProcessedAt), ExecutedBy: by}
}

func batchOf(ps []domain.Payment, by domain.Executor) batchJSON {
	out := batchJSON{Payments: make([]PaymentJSON, len(ps))}
	for i, p := range ps {
		out.Payments[i] = paymentOf(p, by)
	}
	return out
}
