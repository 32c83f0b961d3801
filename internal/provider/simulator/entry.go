// Package simulator is the engine of cmd/provider-sim, a payment provider
// (an acquirer) for local runs and fault tests (docs/provider-sim.md): it
// honours idempotency keys, keeps a ledger of every money movement and
// decline (optionally persisted to an append-only file), burns a key that a
// look-up found nothing under, and decides each request's fate — success,
// decline, a transient failure that moved nothing, or an unknown outcome
// that moved money and lost the answer — from configured rates, test
// headers or magic third parties.
package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Kind says whether an entry or a key belongs to charges or to refunds;
// the two have separate key spaces.
type Kind string

// The kinds of movement.
const (
	KindCharge Kind = "charge"
	KindRefund Kind = "refund"
)

// The statuses of an entry.
const (
	StatusSucceeded = "succeeded"
	StatusDeclined  = "declined"
)

// Entry is what the simulator recorded under one idempotency key: a money
// movement (Status succeeded) or a decline. It is the JSON body of a
// success, a decline, a look-up and each ledger line.
type Entry struct {
	Kind       Kind      `json:"kind"`
	Status     string    `json:"status"`
	Key        string    `json:"idempotency_key"`
	ID         string    `json:"id,omitempty"` // the provider's reference of a movement
	ChargeKey  string    `json:"charge_key,omitempty"`
	Amount     int64     `json:"amount"`
	Currency   string    `json:"currency"`
	PaymentID  string    `json:"payment_id,omitempty"`
	RefundID   string    `json:"refund_id,omitempty"`
	Reference  string    `json:"reference,omitempty"`
	ThirdParty string    `json:"third_party,omitempty"`
	Code       string    `json:"code,omitempty"` // decline code
	Message    string    `json:"message,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// Succeeded reports whether the entry moved money.
func (e *Entry) Succeeded() bool { return e.Status == StatusSucceeded }

// movementID derives the provider's reference from the key: one movement
// per key, and the same reference after a restart or in a replayed run.
func movementID(kind Kind, key string) string {
	sum := sha256.Sum256([]byte(string(kind) + "\x00" + key))
	prefix := "ch_"
	if kind == KindRefund {
		prefix = "re_"
	}
	return prefix + hex.EncodeToString(sum[:12])
}

// slot names one idempotency key in its kind's key space.
type slot struct {
	kind Kind
	key  string
}
