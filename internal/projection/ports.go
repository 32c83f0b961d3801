package projection

import (
	"context"
	"errors"
	"time"
)

// The projector's ports: what its use cases need from the write model's
// replication, from PostgreSQL and from the search engine. The adapters
// live in internal/postgres/pgoutput (Replication), internal/postgres
// (Source, StateStore) and internal/search (Engine); cmd/projector wires
// them. Source, Index and DeadLetters (apply.go) are ports too.

// Replication opens replication connections to the write model.
type Replication interface {
	Connect(ctx context.Context) (ReplicationConn, error)
}

// ReplicationConn is one replication connection. It is not safe for
// concurrent use; Start hands it to the returned Stream.
type ReplicationConn interface {
	// CreateSlot creates the permanent slot name and exports its snapshot,
	// valid while the connection runs no other command.
	CreateSlot(ctx context.Context, name string) (NewSlot, error)
	// DropSlot drops slot name, waiting until it is inactive; a missing
	// slot is not an error.
	DropSlot(ctx context.Context, name string) error
	// Start streams the slot's transactions from opts.Confirmed.
	Start(ctx context.Context, opts StreamOptions) (Stream, error)
	Close()
}

// NewSlot is a freshly created slot.
type NewSlot struct {
	Name string
	// ConsistentPoint: transactions whose commit record starts at or after
	// it are streamed; the snapshot holds those before it.
	ConsistentPoint uint64
	Snapshot        string // exported snapshot name
}

// StreamOptions configures ReplicationConn.Start.
type StreamOptions struct {
	Slot        string
	Publication string
	// Confirmed is the slot's confirmed position: streaming resumes there
	// and nothing before it is acknowledged again.
	Confirmed uint64
	// Fingerprint is the schema of the published tables when the backfill
	// was taken ("schema.table" → Fingerprint); a relation that differs
	// makes the transaction carrying it ask for a resync.
	Fingerprint map[string]string
	// StatusInterval is the period of standby status updates (default 10s);
	// updates are also sent as soon as an acknowledgement moves.
	StatusInterval time.Duration
	// IdlePoll is how often an idle stream asks the server for its WAL
	// position (default 100ms).
	IdlePoll time.Duration
	// ChunkChanges is the most row changes (and messages) handed out in one
	// Tx: a larger transaction is delivered in Partial chunks as it is
	// decoded, not held whole (default 1000).
	ChunkChanges int
	// Budget, when set, bounds the changes handed out and not yet released
	// by the consumer; while it is exhausted the stream stops reading.
	Budget *Budget
}

// Stream is a running replication stream. Run delivers transactions (and
// keepalive positions) until ctx ends or the connection fails; Ack reports
// the position up to which their effects are indexed and searchable.
type Stream interface {
	Run(ctx context.Context, out chan<- Tx) error
	Ack(lsn uint64)
	Acked() uint64
	// Release returns a taken transaction's changes to the budget.
	Release(tx Tx)
	// Waiting counts transactions with changes read and not yet taken.
	Waiting() int
	// ServerWALEnd is the server's WAL position from its last message.
	ServerWALEnd() uint64
}

// StateStore is the projector's own state in PostgreSQL: its tables, the
// slot's state, the leader lock and backfill snapshots.
type StateStore interface {
	DeadLetters
	Ping(ctx context.Context) error
	// Ready fails until the publication and the projector's tables exist.
	Ready(ctx context.Context, publication string) error
	Slot(ctx context.Context, name string) (SlotState, error)
	// TerminateSlotHolder ends the walsender that holds slot name, if any.
	TerminateSlotHolder(ctx context.Context, name string) error
	// GetBackfill returns the completed backfill of slot or ErrNoBackfill.
	GetBackfill(ctx context.Context, slot string) (Backfill, error)
	PutBackfill(ctx context.Context, b Backfill) error
	DeleteBackfill(ctx context.Context, slot string) error
	// OpenSnapshot imports the exported snapshot name; with name empty it
	// opens a new snapshot of the current state.
	OpenSnapshot(ctx context.Context, name string) (Snapshot, error)
	// Leader returns the (not yet taken) leader lock of slot.
	Leader(ctx context.Context, slot string) (Leader, error)
}

// SlotState describes a replication slot.
type SlotState struct {
	Exists      bool
	Active      bool
	ActivePID   int32
	Plugin      string
	WALStatus   string // reserved, extended, unreserved, lost
	Confirmed   uint64 // confirmed_flush_lsn
	RetainedWAL int64  // bytes between restart_lsn and the current WAL position
	CurrentWAL  uint64 // pg_current_wal_lsn()
}

// Backfill is the record of a completed backfill of a slot.
type Backfill struct {
	Slot           string
	IndexPrefix    string
	ConsistentLSN  uint64
	PaymentsIndex  string
	CustomersIndex string
	Fingerprint    map[string]string // "schema.table" → column fingerprint
	Documents      int64
}

// ErrNoBackfill is returned by StateStore.GetBackfill when the slot has no
// completed backfill.
var ErrNoBackfill = errors.New("projection: no completed backfill")

// Snapshot is a read of the write model exactly as of a slot's consistent
// point. It is not safe for concurrent use.
type Snapshot interface {
	// Fingerprint describes the published tables' columns, as the stream
	// derives it from relation messages.
	Fingerprint(ctx context.Context, publication string) (map[string]string, error)
	// Payments and Customers return up to limit documents with id > after,
	// in id order.
	Payments(ctx context.Context, after string, limit int) ([]Loaded[PaymentDoc], error)
	Customers(ctx context.Context, after string, limit int) ([]Loaded[CustomerDoc], error)
	Close()
}

// Leader is the lock that makes one projector per slot the active one. It
// lives as long as its own session: a crashed holder's lock is released.
type Leader interface {
	TryLock(ctx context.Context) (bool, error)
	// Check fails once the lock's session is gone.
	Check(ctx context.Context) error
	Release()
}

// Engine is the search engine.
type Engine interface {
	// Writer returns a writer of the read model; it fails while the engine
	// does not answer (the projector retries).
	Writer(ctx context.Context, opts WriterOptions) (IndexWriter, error)
	// Health fails unless the engine answers and none of the aliases' indices
	// is red; aliases that do not exist yet are healthy.
	Health(ctx context.Context, aliases ...string) error
}

// WriterOptions configures an IndexWriter.
type WriterOptions struct {
	// WaitFor makes bulks wait for the next refresh (refresh=wait_for)
	// instead of the caller refreshing explicitly.
	WaitFor bool
	// ObserveBulk, when set, is called with each bulk's duration and size.
	ObserveBulk func(d time.Duration, docs int)
}

// IndexWriter writes the read model's indices.
type IndexWriter interface {
	Index
	// BulkDirect writes to concrete indices (a generation being built).
	BulkDirect(ctx context.Context, ops []IndexOp) ([]ItemResult, error)
	EnsureStateIndex(ctx context.Context) error
	// Current returns the concrete indices behind the aliases ("" if none).
	Current(ctx context.Context) (payments, customers string, err error)
	// NewGeneration creates empty indices for a backfill, named after suffix.
	NewGeneration(ctx context.Context, suffix string) (Generation, error)
	// Activate makes g searchable and swaps the aliases to it: Settle, then
	// Swap.
	Activate(ctx context.Context, g Generation) error
	// Settle gives g the contract's settings and makes it searchable.
	Settle(ctx context.Context, g Generation) error
	// Swap moves the aliases to g and deletes the indices behind them before.
	Swap(ctx context.Context, g Generation) error
	// Relax lets indices of an older mapping accept documents with fields
	// they do not know (a rebuild to a new mapping runs beside them).
	Relax(ctx context.Context, indices ...string) error
	Segments(ctx context.Context, index string) (SegmentStats, error)
	ForceMerge(ctx context.Context, index string, maxSegments int) error
}

// Generation names the concrete indices of one backfill.
type Generation struct {
	Payments, Customers string
}

// SegmentStats describes the searchable segments of an index.
type SegmentStats struct {
	Live  int   // segments that hold live documents
	Bytes int64 // their size on disk
}
