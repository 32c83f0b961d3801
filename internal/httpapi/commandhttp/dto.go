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

type paymentJSON struct {
	ID           string `json:"id"`
	PaymentRefID string `json:"payment_ref_id"`
	CustomerID   string `json:"customer_id"`
	UserID       string `json:"user_id"`
	Amount       int64  `json:"amount"`
	Currency     string `json:"currency"`
	ThirdParty   string `json:"third_party"`
	Description  string `json:"description"`
	Status       string `json:"status"`
	Date         string `json:"date"`
	CreatedAt    string `json:"created_at"`
	UpdatedAt    string `json:"updated_at"`
}

type batchJSON struct {
	Payments []paymentJSON `json:"payments"`
}

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

func userOf(u domain.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, CreatedAt: ts(u.CreatedAt)}
}

func customerOf(c domain.Customer) customerJSON {
	return customerJSON{ID: c.ID, Name: c.Name, Email: c.Email, CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt)}
}

func paymentOf(p domain.Payment) paymentJSON {
	return paymentJSON{ID: p.ID, PaymentRefID: p.PaymentRefID, CustomerID: p.CustomerID, UserID: p.UserID,
		Amount: p.Amount, Currency: p.Currency, ThirdParty: p.ThirdParty, Description: p.Description,
		Status: string(p.Status), Date: ts(p.Date), CreatedAt: ts(p.CreatedAt), UpdatedAt: ts(p.UpdatedAt)}
}

func batchOf(ps []domain.Payment) batchJSON {
	out := batchJSON{Payments: make([]paymentJSON, len(ps))}
	for i, p := range ps {
		out.Payments[i] = paymentOf(p)
	}
	return out
}
