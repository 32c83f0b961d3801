package projection

import "time"

// Table is a write-model table the projector follows.
type Table uint8

// The tables of the publication.
const (
	TableUnknown Table = iota
	TableUsers
	TableCustomers
	TableLinks // customer_users
	TablePayments
	TablePaymentEvents // payment_events: a payment's timeline
	TableRefunds
	TableAPIKeys // api_keys: a customer's API keys, carried by its access document
)

// Tables lists every table the projector follows.
var Tables = []Table{TableUsers, TableCustomers, TableLinks, TablePayments, TablePaymentEvents, TableRefunds, TableAPIKeys}

// TableByName maps a published relation name to its Table.
func TableByName(name string) Table {
	switch name {
	case "users":
		return TableUsers
	case "customers":
		return TableCustomers
	case "customer_users":
		return TableLinks
	case "payments":
		return TablePayments
	case "payment_events":
		return TablePaymentEvents
	case "refunds":
		return TableRefunds
	case "api_keys":
		return TableAPIKeys
	}
	return TableUnknown
}

// String implements fmt.Stringer.
func (t Table) String() string {
	switch t {
	case TableUsers:
		return "users"
	case TableCustomers:
		return "customers"
	case TableLinks:
		return "customer_users"
	case TablePayments:
		return "payments"
	case TablePaymentEvents:
		return "payment_events"
	case TableRefunds:
		return "refunds"
	case TableAPIKeys:
		return "api_keys"
	}
	return "unknown"
}

// Op is the kind of a row change.
type Op uint8

// Row change kinds.
const (
	OpInsert Op = iota + 1
	OpUpdate
	OpDelete
)

// Row is a decoded tuple: column name → text value. A nil value is SQL
// NULL; an absent column was not sent (an unchanged TOASTed value, or a
// column outside the replica identity of an old tuple).
type Row map[string]*string

// Get returns the text value of col and whether it is present and not NULL.
func (r Row) Get(col string) (string, bool) {
	v, ok := r[col]
	if !ok || v == nil {
		return "", false
	}
	return *v, true
}

// Change is one row change of a transaction. New is the new tuple of an
// insert or update; Old is the old tuple (full with REPLICA IDENTITY FULL,
// the key only, or nil) of an update or delete.
type Change struct {
	Table Table
	Op    Op
	New   Row
	Old   Row
}

// Message is a transactional logical decoding message
// (pg_logical_emit_message) carried by a transaction.
type Message struct {
	Prefix  string
	Content []byte
}

// Tx is one committed transaction as decoded from the replication stream,
// or, when Keepalive is set, a position the server reported while nothing
// was in flight: every transaction committed before EndLSN has been
// delivered ahead of it.
type Tx struct {
	Xid        uint32    // top-level transaction id (Begin message)
	CommitLSN  uint64    // LSN of the commit record: the version of its documents
	EndLSN     uint64    // end of the commit record: the position to acknowledge
	CommitTime time.Time // commit timestamp
	Changes    []Change
	Messages   []Message
	// Resync, when not empty, says why the read model must be rebuilt from
	// a fresh snapshot (a TRUNCATE, a schema change the projector cannot
	// follow).
	Resync string
	// Keepalive marks an idle position rather than a transaction.
	Keepalive bool
	// Partial marks a chunk of a large transaction with more chunks to
	// follow: its changes carry the final CommitLSN (known from the Begin
	// message) but EndLSN is zero, so applying it acknowledges nothing; the
	// last chunk, with EndLSN set, completes the transaction.
	Partial bool
}

// Weight is what tx counts against a Budget: its row changes and messages,
// plus one for the transaction itself.
func (tx Tx) Weight() int { return 1 + len(tx.Changes) + len(tx.Messages) }

// PlannedColumns are the columns of t the Planner reads; the stream decoder
// keeps only these of each tuple (the documents' content is read from the
// write model when a plan is applied), which keeps decoded transactions
// small. A column the server did not send stays absent.
func PlannedColumns(t Table) []string {
	switch t {
	case TablePayments:
		return []string{"id"}
	case TablePaymentEvents, TableRefunds:
		// A new event or a refund's change makes its payment dirty.
		return []string{"payment_id"}
	case TableCustomers:
		return []string{"id", "name"}
	case TableAPIKeys:
		// A key created or revoked rebuilds its customer's access document.
		return []string{"customer_id"}
	case TableLinks:
		return []string{"customer_id", "user_id"}
	case TableUsers:
		return []string{"id", "name", "email"}
	}
	return nil
}
