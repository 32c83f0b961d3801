package projection

import (
	"encoding/json"
	"time"
)

// RedrivePrefix is the prefix of the logical decoding message with which
// `projector redrive` asks the active projector to re-index documents. The
// message travels through the replication stream, so the documents are
// re-read and indexed in commit order like any other change.
const RedrivePrefix = "wildcat.projector.redrive"

// RebuildPrefix is the prefix of the logical decoding message with which
// `projector rebuild` asks the active projector of an index prefix to
// rebuild the read model beside the stream (rebuild.go).
const RebuildPrefix = "wildcat.projector.rebuild"

// RebuildMessage is the JSON content of a rebuild message.
type RebuildMessage struct {
	IndexPrefix string `json:"index_prefix"`
	Reason      string `json:"reason"`
}

// RedriveDoc names one document to re-index.
type RedriveDoc struct {
	Index string `json:"index"` // alias name, e.g. <prefix>payments
	ID    string `json:"id"`
}

// RedriveMessage is the JSON content of a redrive message.
type RedriveMessage struct {
	Docs []RedriveDoc `json:"docs"`
}

// Plan is the merged effect of consecutive transactions: which documents
// are dirty and the version (commit LSN) each must be written with. Each
// document appears once, with the highest LSN of the changes that touched
// it. The content is read from the write model when the plan is applied.
type Plan struct {
	Payments  map[string]uint64 // payment id → version
	Customers map[string]uint64 // customer id → version (access document)
	// CustomerPayments lists customers whose name changed: all their
	// payment documents are re-projected with the rename's commit LSN.
	CustomerPayments map[string]uint64
	// UserPayments lists users whose name or e-mail (may have) changed.
	UserPayments map[string]uint64
	// UserCustomers lists users whose customers' access documents must be
	// rebuilt (their name or e-mail is carried there).
	UserCustomers map[string]uint64

	Xids            []uint32  // transactions whose effects the content must include
	Txs             int       // transactions merged
	FirstCommitTime time.Time // commit time of the oldest merged transaction
	LastCommitTime  time.Time // commit time of the newest merged transaction
	LastEnd         uint64    // end LSN of the newest merged transaction or keepalive
	// Resync is set when a transaction requires rebuilding the read model.
	Resync string
	// Rebuild is set when a transaction asks for a rebuild beside the
	// stream (the reason).
	Rebuild string
	// Deferred is filled by the Applier: parents whose re-projection
	// continues beside the stream (Applier.InlineReprojectBatches).
	Deferred []Reprojection
}

// NewPlan returns an empty plan.
func NewPlan() *Plan {
	return &Plan{
		Payments:         map[string]uint64{},
		Customers:        map[string]uint64{},
		CustomerPayments: map[string]uint64{},
		UserPayments:     map[string]uint64{},
		UserCustomers:    map[string]uint64{},
	}
}

// Docs is the number of documents the plan writes directly, plus one per
// parent re-projection; the flush policy compares it to the bulk size.
func (p *Plan) Docs() int {
	return len(p.Payments) + len(p.Customers) + len(p.CustomerPayments) + len(p.UserPayments) + len(p.UserCustomers)
}

// Empty reports whether the plan writes nothing.
func (p *Plan) Empty() bool { return p.Docs() == 0 && p.Resync == "" }

func mark(m map[string]uint64, id string, lsn uint64) {
	if id == "" {
		return
	}
	if lsn > m[id] {
		m[id] = lsn
	}
}

// userNames is what payment and access documents carry of a user.
type userNames struct{ name, email string }

// Planner turns transactions into plans. It remembers the name and e-mail
// of users seen in the stream, so that a users update that changes neither
// (a password change, say) does not re-project the user's payments; a user
// it has not seen is assumed changed. A Planner must be discarded when the
// stream restarts (its memory is then ahead of the replayed position). It
// is not safe for concurrent use.
type Planner struct {
	prefix   string
	users    map[string]userNames
	maxUsers int
}

// NewPlanner returns a planner for the indices with prefix.
func NewPlanner(prefix string) *Planner {
	return &Planner{prefix: prefix, users: map[string]userNames{}, maxUsers: 100_000}
}

// Add merges tx into p.
func (pl *Planner) Add(p *Plan, tx Tx) {
	if tx.EndLSN > p.LastEnd {
		p.LastEnd = tx.EndLSN
	}
	if tx.Keepalive {
		return
	}
	if tx.Resync != "" && p.Resync == "" {
		p.Resync = tx.Resync
	}
	if !tx.Partial {
		p.Txs++ // a chunked transaction counts once, with its last chunk
	}
	if n := len(p.Xids); n == 0 || p.Xids[n-1] != tx.Xid {
		p.Xids = append(p.Xids, tx.Xid)
	}
	if p.FirstCommitTime.IsZero() {
		p.FirstCommitTime = tx.CommitTime
	}
	p.LastCommitTime = tx.CommitTime
	lsn := tx.CommitLSN
	for _, c := range tx.Changes {
		pl.change(p, c, lsn)
	}
	for _, m := range tx.Messages {
		pl.message(p, m, lsn)
	}
}

func (pl *Planner) change(p *Plan, c Change, lsn uint64) {
	row := c.New
	if c.Op == OpDelete {
		row = c.Old
	}
	switch c.Table {
	case TablePayments:
		id, _ := row.Get("id")
		mark(p.Payments, id, lsn)
		if c.Op == OpUpdate {
			// A changed primary key arrives as the old key.
			if old, ok := c.Old.Get("id"); ok && old != id {
				mark(p.Payments, old, lsn)
			}
		}
	case TablePaymentEvents, TableRefunds:
		// The payment document carries the timeline (and the refunds'
		// effect, amount_refunded, arrives with its own payments update).
		// Events are append-only and refunds are never deleted; a delete
		// would carry only the replica identity (id), and marks nothing.
		if id, ok := row.Get("payment_id"); ok {
			mark(p.Payments, id, lsn)
		}
	case TableCustomers:
		id, _ := row.Get("id")
		mark(p.Customers, id, lsn)
		if c.Op == OpUpdate && nameChanged(c.Old, c.New, "name") {
			mark(p.CustomerPayments, id, lsn)
		}
	case TableAPIKeys:
		// The access document carries the customer's live keys. Keys are
		// revoked (an update), never deleted: a delete would carry only the
		// replica identity (id), and marks nothing.
		if id, ok := row.Get("customer_id"); ok {
			mark(p.Customers, id, lsn)
		}
	case TableLinks:
		for _, r := range []Row{c.New, c.Old} {
			if id, ok := r.Get("customer_id"); ok {
				mark(p.Customers, id, lsn)
			}
		}
	case TableUsers:
		id, _ := row.Get("id")
		pl.userChange(p, c, id, lsn)
	}
}

// userChange plans a change of user id: a name or e-mail change
// re-projects the user's payments and access documents.
func (pl *Planner) userChange(p *Plan, c Change, id string, lsn uint64) {
	switch c.Op {
	case OpInsert:
		pl.remember(id, c.New)
	case OpUpdate:
		name, _ := c.New.Get("name")
		email, _ := c.New.Get("email")
		changed := true
		if _, full := c.Old["name"]; full {
			changed = nameChanged(c.Old, c.New, "name", "email")
		} else if known, ok := pl.users[id]; ok {
			changed = known.name != name || known.email != email
		}
		if changed {
			mark(p.UserPayments, id, lsn)
			mark(p.UserCustomers, id, lsn)
		}
		pl.remember(id, c.New)
	case OpDelete:
		delete(pl.users, id)
		// Links cascade and arrive as their own deletes.
	}
}

// nameChanged reports whether any of cols differs between the old and new
// tuple; without a full old tuple it cannot tell and says yes.
func nameChanged(old, new Row, cols ...string) bool {
	for _, col := range cols {
		o, okOld := old[col]
		n, okNew := new[col]
		if !okOld || !okNew {
			return true
		}
		if (o == nil) != (n == nil) || (o != nil && *o != *n) {
			return true
		}
	}
	return false
}

func (pl *Planner) remember(id string, row Row) {
	name, okName := row.Get("name")
	email, okEmail := row.Get("email")
	if id == "" || !okName || !okEmail {
		delete(pl.users, id)
		return
	}
	if len(pl.users) >= pl.maxUsers {
		// Forgetting only costs a re-projection that was not needed.
		clear(pl.users)
	}
	pl.users[id] = userNames{name: name, email: email}
}

func (pl *Planner) message(p *Plan, m Message, lsn uint64) {
	if m.Prefix == RebuildPrefix {
		var msg RebuildMessage
		if json.Unmarshal(m.Content, &msg) == nil && msg.IndexPrefix == pl.prefix {
			p.Rebuild = "requested: " + msg.Reason
		}
		return
	}
	if m.Prefix != RedrivePrefix {
		return
	}
	var msg RedriveMessage
	if err := json.Unmarshal(m.Content, &msg); err != nil {
		return
	}
	for _, d := range msg.Docs {
		switch d.Index {
		case PaymentsAlias(pl.prefix):
			mark(p.Payments, d.ID, lsn)
		case CustomersAlias(pl.prefix):
			mark(p.Customers, d.ID, lsn)
		}
	}
}

// PublishedLSN is the position to publish once everything up to end (the
// end of the last applied commit record, or a keepalive's WAL end) is
// applied. When end falls on a WAL page boundary, the page header that
// follows holds no records, yet pg_current_wal_insert_lsn() read right
// after that commit (what the command API puts in consistency tokens)
// points past it; publishing the header's end keeps such a token from
// waiting for unrelated WAL. 40 bytes covers the long header of a segment's
// first page; no commit record can end within it.
func PublishedLSN(end uint64) uint64 {
	const walPage = 8192
	if end > 0 && end%walPage == 0 {
		return end + 40
	}
	return end
}

// SnapshotVersion is the external version of documents copied from a new
// slot's exported snapshot. Every document version V promises that the
// document reflects every transaction with commit LSN ≤ V. The snapshot
// holds exactly the transactions whose commit record starts before the
// consistent point; one that commits right at it (it was still running when
// the slot became consistent) is streamed with the consistent point as its
// commit LSN. So the copy is one below: a version equal to that
// transaction's would make its own write a version conflict, and the index
// would keep the older content for good (docs/projector.md, *Versions*).
func SnapshotVersion(consistentPoint uint64) uint64 { return consistentPoint - 1 }
