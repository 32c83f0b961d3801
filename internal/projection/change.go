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
)

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
}
