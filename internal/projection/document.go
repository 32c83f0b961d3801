// Package projection is the projector's use cases and the read model they
// keep:
//
//   - document.go, mapping.go, build.go: the read model, the documents the
//     projector writes and the query API reads, their indices and mappings;
//   - change.go, plan.go, budget.go: replicated transactions and how they
//     merge into plans (which documents are dirty, at which version);
//   - apply.go: reading a plan's documents, bulk writes, retries, dead
//     letters;
//   - daemon.go, loop.go, backfill.go, compact.go, metrics.go: the daemon:
//     leader handling, the stream → index loop, backfills, compaction;
//   - fingerprint.go, reconcile.go: each document's fingerprint, and the
//     reconciler that compares the index with the write model and repairs it;
//   - ports.go: the interfaces its adapters implement (internal/postgres,
//     internal/postgres/pgoutput, internal/search); cmd/projector wires them.
package projection

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// Index names. Each name is prefixed (INDEX_PREFIX, empty by default) so
// tests and several deployments can share one engine. Payments and
// customers are aliases over versioned indices (payments_v1, …), so a
// mapping change is a new index plus an alias swap.
func PaymentsAlias(prefix string) string  { return prefix + "payments" }
func CustomersAlias(prefix string) string { return prefix + "customers" }
func StateIndex(prefix string) string     { return prefix + "projector_state" }

// MappingVersion is the suffix of the concrete indices behind the aliases.
// v2 added id_hi and id_lo (IDSortKey); v3 keeps them in the stored source
// (no source filter); v4 adds the processing state (failure_code,
// failure_message, attempts, processed_at, amount_refunded) and the event
// timeline (events); v5 adds the payment's executor (executed_by, a user or
// an API key) and the customer's live API keys (api_keys) to the access
// documents; v6 adds fp, the document's fingerprint (EncodeDocument), to
// both, for the reconciler. A projector finding indices of another version
// rebuilds the read model.
const MappingVersion = "v6"

// StateDocID is the id of the document in StateIndex that holds the
// projector's applied position.
const StateDocID = "applied"

// PaymentDoc is the denormalized payment document: a domain.PaymentView
// (the payment plus the customer's current name, the user's name and email
// and its executor, executed_by: the user or the API key that made it) and
// the payment's event timeline, as indexed. The query
// API's results are the view alone (searches leave the timeline out of the
// source they fetch); GET /v1/payments/{id}/events reads only the timeline.
type PaymentDoc struct {
	domain.PaymentView
	// Events is the payment's timeline in id order (never nil in a
	// document read from the write model).
	Events []EventDoc `json:"events"`
}

// EventDoc is one entry of a payment document's timeline: a
// domain.PaymentEvent without the payment id, which is the document's.
type EventDoc struct {
	ID        int64            `json:"id"`
	Type      domain.EventType `json:"type"`
	Data      json.RawMessage  `json:"data"`
	CreatedAt time.Time        `json:"created_at"`
}

// PaymentEvent returns e as an event of payment paymentID.
func (e EventDoc) PaymentEvent(paymentID string) domain.PaymentEvent {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	return domain.PaymentEvent{ID: e.ID, PaymentID: paymentID, Type: e.Type, Data: data, CreatedAt: e.CreatedAt}
}

// MarshalJSON writes the document as indexed: the view's fields, the
// timeline, and id_hi and id_lo (IDSortKey), the searches' tie-breaker.
// Decoding a PaymentDoc ignores those two.
func (d PaymentDoc) MarshalJSON() ([]byte, error) {
	hi, lo, err := IDSortKey(d.ID)
	if err != nil {
		return nil, err
	}
	events := d.Events
	if events == nil {
		events = []EventDoc{}
	}
	// The anonymous struct has no MarshalJSON of its own.
	return json.Marshal(struct {
		domain.PaymentView
		Events []EventDoc `json:"events"`
		IDHi   int64      `json:"id_hi"`
		IDLo   int64      `json:"id_lo"`
	}{d.PaymentView, events, hi, lo})
}

// IDSortKey splits a UUID into two longs whose order, hi then lo, is the
// order of the UUID's canonical lower-case text. Searches break ties on
// them rather than on the id keyword: sorting on two numeric doc values
// costs the engine less than on a keyword (default table view, 12
// clients on the engine: +15 % searches/s with id_hi/id_lo on a
// 19-segment index; +35 % with a numeric stand-in on a merged one).
func IDSortKey(id string) (hi, lo int64, err error) {
	if !domain.IsUUID(id) {
		return 0, 0, fmt.Errorf("projection: id %q is not a UUID", id)
	}
	hex := strings.ReplaceAll(id, "-", "")
	h, err1 := strconv.ParseUint(hex[:16], 16, 64)
	l, err2 := strconv.ParseUint(hex[16:], 16, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("projection: id %q: %w", id, err)
	}
	// Flipping the sign bit maps unsigned order onto signed order.
	return int64(h ^ 1<<63), int64(l ^ 1<<63), nil
}

// CustomerUser is a linked user as carried in a CustomerDoc.
type CustomerUser struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// CustomerAPIKey is a live (not revoked) API key of a customer as carried
// in its CustomerDoc: how the query API, which has no PostgreSQL
// connection, authenticates keys (it finds the key by Prefix and compares
// the SHA-256 of the presented secret with Hash in constant time) and
// sees a revocation (the key leaves the document).
type CustomerAPIKey struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Prefix string   `json:"prefix"` // the secret's first 12 characters; the only indexed field
	Hash   string   `json:"hash"`   // hex of the SHA-256 of the secret
	Scopes []string `json:"scopes"`
}

// CustomerDoc is the access document of one customer: who is linked to it
// and which API keys act for it. The query API scopes every request with
// the ids of the customers whose user_ids contain the caller (or, for an
// API key, the one customer whose api_keys hold it), and lists them for
// filter pickers.
type CustomerDoc struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Email     *string          `json:"email"`
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`
	UserIDs   []string         `json:"user_ids"`
	Users     []CustomerUser   `json:"users"`
	APIKeys   []CustomerAPIKey `json:"api_keys"`
}

// StateDoc is the projector's published position: every change committed at
// or before AppliedLSN is indexed and searchable.
type StateDoc struct {
	AppliedLSN uint64    `json:"applied_lsn"` // stored as long; LSNs fit in int64 in practice
	LSN        string    `json:"lsn"`         // the same position in PostgreSQL's X/Y text form
	CommitTime time.Time `json:"commit_time"` // commit time of the last applied transaction
	UpdatedAt  time.Time `json:"updated_at"`
}
