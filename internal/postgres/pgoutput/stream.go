// Package pgoutput is PostgreSQL's logical replication for the projector:
// the replication connection, the slot with its exported snapshot, and the
// pgoutput stream (jackc/pglogrepl) decoded into projection transactions.
package pgoutput

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

// Conn is a replication connection (replication=database) to the
// database of the write model. It is not safe for concurrent use.
type Conn struct {
	pg *pgconn.PgConn
}

// Connect opens a replication connection to the database named by url.
func Connect(ctx context.Context, url string) (*Conn, error) {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("replication: parse url: %w", err)
	}
	cfg.RuntimeParams["replication"] = "database"
	cfg.RuntimeParams["application_name"] = "wildcat-projector"
	pg, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("replication: connect: %w", err)
	}
	return &Conn{pg: pg}, nil
}

// Dialer opens replication connections to the database named by URL.
type Dialer struct{ URL string }

var _ projection.Replication = Dialer{}

// Connect implements projection.Replication.
func (d Dialer) Connect(ctx context.Context) (projection.ReplicationConn, error) {
	return Connect(ctx, d.URL)
}

var _ projection.ReplicationConn = (*Conn)(nil)

// Close closes the connection; a slot it streamed becomes inactive.
func (c *Conn) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.pg.Close(ctx)
}

// Slot is a freshly created slot with its exported snapshot (valid while
// the connection runs no other command).
type Slot = projection.NewSlot

// CreateSlot creates the permanent logical slot name with pgoutput and
// exports its snapshot (SET TRANSACTION SNAPSHOT on another connection).
func (c *Conn) CreateSlot(ctx context.Context, name string) (Slot, error) {
	res, err := pglogrepl.CreateReplicationSlot(ctx, c.pg, name, "pgoutput", pglogrepl.CreateReplicationSlotOptions{
		Mode:           pglogrepl.LogicalReplication,
		SnapshotAction: "EXPORT_SNAPSHOT",
	})
	if err != nil {
		return Slot{}, fmt.Errorf("replication: create slot %s: %w", name, err)
	}
	lsn, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	if err != nil {
		return Slot{}, fmt.Errorf("replication: create slot %s: %w", name, err)
	}
	return Slot{Name: name, ConsistentPoint: uint64(lsn), Snapshot: res.SnapshotName}, nil
}

// DropSlot drops slot name, waiting for it to become inactive; a missing
// slot is not an error.
func (c *Conn) DropSlot(ctx context.Context, name string) error {
	err := pglogrepl.DropReplicationSlot(ctx, c.pg, name, pglogrepl.DropReplicationSlotOptions{Wait: true})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42704" { // undefined_object
		return nil
	}
	if err != nil {
		return fmt.Errorf("replication: drop slot %s: %w", name, err)
	}
	return nil
}

// StreamOptions configures Start.
type StreamOptions = projection.StreamOptions

// Stream is a running START_REPLICATION. Run delivers transactions; Ack
// reports the position up to which their effects are indexed.
type Stream struct {
	conn      *Conn
	opts      StreamOptions
	acked     atomic.Uint64
	serverEnd atomic.Uint64
	notify    chan struct{}
	// waiting counts transactions (keepalives aside) read from the
	// server that the consumer has not taken yet (Release).
	waiting atomic.Int64

	relations map[uint32]*relation
	keep      map[projection.Table]map[string]bool // planned columns per table
	received  uint64                               // end of the last transaction handed out
	idleSent  uint64                               // last keepalive position handed out
	resync    string                               // reason seen outside a transaction, for the next one
}

type relation struct {
	table   projection.Table
	name    string
	columns []string
	keep    []bool // column i is one the planner reads
}

// Start begins streaming the slot from opts.Confirmed with pgoutput
// protocol 1, the publication, and logical decoding messages enabled
// (projection.ReplicationConn); the returned *Stream owns the connection.
func (c *Conn) Start(ctx context.Context, opts StreamOptions) (projection.Stream, error) {
	if opts.StatusInterval <= 0 {
		opts.StatusInterval = 10 * time.Second
	}
	if opts.IdlePoll <= 0 {
		opts.IdlePoll = 100 * time.Millisecond
	}
	if opts.ChunkChanges <= 0 {
		opts.ChunkChanges = 1000
	}
	err := pglogrepl.StartReplication(ctx, c.pg, opts.Slot, pglogrepl.LSN(opts.Confirmed), pglogrepl.StartReplicationOptions{
		Mode: pglogrepl.LogicalReplication,
		PluginArgs: []string{
			"proto_version '1'",
			fmt.Sprintf("publication_names '%s'", strings.ReplaceAll(opts.Publication, "'", "''")),
			"messages 'true'",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("replication: start %s: %w", opts.Slot, err)
	}
	s := &Stream{conn: c, opts: opts, notify: make(chan struct{}, 1), relations: map[uint32]*relation{}, keep: map[projection.Table]map[string]bool{}}
	for _, t := range []projection.Table{projection.TableUsers, projection.TableCustomers, projection.TableLinks, projection.TablePayments} {
		s.keep[t] = map[string]bool{}
		for _, col := range projection.PlannedColumns(t) {
			s.keep[t][col] = true
		}
	}
	s.acked.Store(opts.Confirmed)
	s.received = opts.Confirmed
	return s, nil
}

var _ projection.Stream = (*Stream)(nil)

// Ack records that every transaction ending at or before lsn is indexed;
// the position is reported to the server promptly. Safe for concurrent use.
func (s *Stream) Ack(lsn uint64) {
	for {
		cur := s.acked.Load()
		if lsn <= cur {
			return
		}
		if s.acked.CompareAndSwap(cur, lsn) {
			break
		}
	}
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Release gives tx's weight back to the Budget once the consumer no longer
// holds its changes (a plan keeps only ids and versions). Safe for
// concurrent use.
func (s *Stream) Release(tx projection.Tx) {
	if !tx.Keepalive {
		s.waiting.Add(-1)
	}
	if s.opts.Budget != nil {
		s.opts.Budget.Release(tx.Weight())
	}
}

// Waiting reports how many transactions with changes were read from the
// server and not yet taken (released) by the consumer. Keepalive
// positions are not counted: they carry no change anyone waits for. Safe
// for concurrent use.
func (s *Stream) Waiting() int { return int(max(0, s.waiting.Load())) }

// Acked returns the acknowledged position. Safe for concurrent use.
func (s *Stream) Acked() uint64 { return s.acked.Load() }

// ServerWALEnd returns the last WAL end the server reported. Safe for
// concurrent use.
func (s *Stream) ServerWALEnd() uint64 { return s.serverEnd.Load() }

type received struct {
	msg pgproto3.BackendMessage
	err error
}

// Run reads the stream until ctx ends or the connection fails, sending each
// committed transaction (in chunks of at most ChunkChanges changes) and idle
// keepalive positions to out in commit order. When out is full or the
// Budget is exhausted it stops reading but keeps reporting status, so the
// server neither times out nor discards anything; the unread WAL waits in
// the slot. Run closes the connection when it returns.
func (s *Stream) Run(ctx context.Context, out chan<- projection.Tx) error {
	in := make(chan received, 64)
	done := make(chan struct{})
	readerDone := make(chan struct{})
	defer func() {
		// Unblock the reader by closing the socket underneath it (safe
		// while it reads), wait for it, then close the connection.
		close(done)
		_ = s.conn.pg.Conn().Close()
		<-readerDone
		s.conn.Close()
	}()
	go func() {
		defer close(readerDone)
		for {
			// Background context: no deadline juggling; Close unblocks it.
			msg, err := s.conn.pg.ReceiveMessage(context.Background())
			// The frontend reuses message structs and buffers on the next
			// receive: hand over copies.
			switch m := msg.(type) {
			case *pgproto3.CopyData:
				msg = &pgproto3.CopyData{Data: append([]byte(nil), m.Data...)}
			case *pgproto3.ErrorResponse:
				msg, err = nil, fmt.Errorf("server: %w", pgconn.ErrorResponseToPgError(m))
			case *pgproto3.CopyDone:
				msg = &pgproto3.CopyDone{}
			default:
				msg = nil
			}
			select {
			case in <- received{msg, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()

	ticker := time.NewTicker(s.opts.StatusInterval)
	defer ticker.Stop()
	// While everything received is applied, ask the server every
	// IdlePoll for its position (a status update with reply requested is
	// answered by a keepalive), so the published position follows the WAL
	// of other writers promptly (read-your-writes tokens point there).
	idle := time.NewTicker(s.opts.IdlePoll)
	defer idle.Stop()
	var pending *projection.Tx
	var cur *projection.Tx
	reserved := false // pending's weight is taken from the budget
	for {
		var outc chan<- projection.Tx
		var inc <-chan received
		var freed <-chan struct{}
		if pending != nil {
			if !reserved && (s.opts.Budget == nil || s.opts.Budget.TryTake(pending.Weight())) {
				reserved = true
			}
			if reserved {
				outc = out
			} else {
				freed = s.opts.Budget.Freed()
			}
		} else {
			inc = in
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-freed:
		case outc <- txOrZero(pending):
			pending, reserved = nil, false
		case <-s.notify:
			if err := s.sendStatus(ctx, false); err != nil {
				return err
			}
		case <-ticker.C:
			if err := s.sendStatus(ctx, false); err != nil {
				return err
			}
		case <-idle.C:
			if cur == nil && pending == nil && s.acked.Load() >= s.received {
				if err := s.sendStatus(ctx, true); err != nil {
					return err
				}
			}
		case r := <-inc:
			if r.err != nil {
				return fmt.Errorf("replication: receive: %w", r.err)
			}
			tx, err := s.handle(ctx, r.msg, &cur)
			if err != nil {
				return err
			}
			if tx != nil && !tx.Keepalive {
				s.waiting.Add(1)
			}
			pending = tx
		}
	}
}

func txOrZero(tx *projection.Tx) projection.Tx {
	if tx == nil {
		return projection.Tx{}
	}
	return *tx
}

func (s *Stream) sendStatus(ctx context.Context, reply bool) error {
	acked := pglogrepl.LSN(s.acked.Load())
	err := pglogrepl.SendStandbyStatusUpdate(ctx, s.conn.pg, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: acked,
		WALFlushPosition: acked,
		WALApplyPosition: acked,
		ReplyRequested:   reply,
	})
	if err != nil {
		return fmt.Errorf("replication: status update: %w", err)
	}
	return nil
}

// handle processes one server message; it returns a transaction (or an
// idle keepalive position) to hand out, if one completed.
func (s *Stream) handle(ctx context.Context, msg pgproto3.BackendMessage, cur **projection.Tx) (*projection.Tx, error) {
	switch m := msg.(type) {
	case *pgproto3.CopyData:
		if len(m.Data) == 0 {
			return nil, nil
		}
		switch m.Data[0] {
		case pglogrepl.PrimaryKeepaliveMessageByteID:
			ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
			if err != nil {
				return nil, fmt.Errorf("replication: keepalive: %w", err)
			}
			s.storeServerEnd(uint64(ka.ServerWALEnd))
			if ka.ReplyRequested {
				if err := s.sendStatus(ctx, false); err != nil {
					return nil, err
				}
			}
			// Nothing in flight: every transaction committed before the
			// server's position has been handed out already.
			end := uint64(ka.ServerWALEnd)
			if *cur == nil && end > s.received && end > s.idleSent {
				s.idleSent = end
				return &projection.Tx{Keepalive: true, EndLSN: end}, nil
			}
			return nil, nil
		case pglogrepl.XLogDataByteID:
			xld, err := pglogrepl.ParseXLogData(m.Data[1:])
			if err != nil {
				return nil, fmt.Errorf("replication: xlogdata: %w", err)
			}
			s.storeServerEnd(uint64(xld.ServerWALEnd))
			return s.decode(xld.WALData, cur)
		}
		return nil, nil
	case *pgproto3.CopyDone:
		return nil, errors.New("replication: server ended the stream")
	}
	return nil, nil
}

func (s *Stream) storeServerEnd(lsn uint64) {
	for {
		cur := s.serverEnd.Load()
		if lsn <= cur || s.serverEnd.CompareAndSwap(cur, lsn) {
			return
		}
	}
}

func (s *Stream) decode(data []byte, cur **projection.Tx) (*projection.Tx, error) {
	msg, err := pglogrepl.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("replication: decode pgoutput: %w", err)
	}
	tx := *cur
	needTx := func(what string) error {
		if tx == nil {
			return fmt.Errorf("replication: %s outside a transaction", what)
		}
		return nil
	}
	switch m := msg.(type) {
	case *pglogrepl.BeginMessage:
		// FinalLSN is the LSN of the commit record: the version of every
		// chunk of this transaction.
		*cur = &projection.Tx{Xid: m.Xid, CommitLSN: uint64(m.FinalLSN), CommitTime: m.CommitTime, Resync: s.resync}
		s.resync = ""
	case *pglogrepl.RelationMessage:
		if reason := s.relation(m); reason != "" {
			if tx == nil {
				s.resync = reason
			} else if tx.Resync == "" {
				tx.Resync = reason
			}
		}
	case *pglogrepl.InsertMessage:
		if err := needTx("insert"); err != nil {
			return nil, err
		}
		if rel := s.relations[m.RelationID]; rel != nil && rel.table != projection.TableUnknown {
			tx.Changes = append(tx.Changes, projection.Change{Table: rel.table, Op: projection.OpInsert, New: rel.row(m.Tuple)})
		}
	case *pglogrepl.UpdateMessage:
		if err := needTx("update"); err != nil {
			return nil, err
		}
		if rel := s.relations[m.RelationID]; rel != nil && rel.table != projection.TableUnknown {
			tx.Changes = append(tx.Changes, projection.Change{Table: rel.table, Op: projection.OpUpdate, New: rel.row(m.NewTuple), Old: rel.row(m.OldTuple)})
		}
	case *pglogrepl.DeleteMessage:
		if err := needTx("delete"); err != nil {
			return nil, err
		}
		if rel := s.relations[m.RelationID]; rel != nil && rel.table != projection.TableUnknown {
			tx.Changes = append(tx.Changes, projection.Change{Table: rel.table, Op: projection.OpDelete, Old: rel.row(m.OldTuple)})
		}
	case *pglogrepl.TruncateMessage:
		if err := needTx("truncate"); err != nil {
			return nil, err
		}
		for _, id := range m.RelationIDs {
			if rel := s.relations[id]; rel != nil && rel.table != projection.TableUnknown && tx.Resync == "" {
				tx.Resync = "truncate of " + rel.name
			}
		}
	case *pglogrepl.LogicalDecodingMessage:
		if m.Transactional && tx != nil {
			tx.Messages = append(tx.Messages, projection.Message{Prefix: m.Prefix, Content: append([]byte(nil), m.Content...)})
		}
	case *pglogrepl.CommitMessage:
		if err := needTx("commit"); err != nil {
			return nil, err
		}
		tx.CommitLSN = uint64(m.CommitLSN)
		tx.EndLSN = uint64(m.TransactionEndLSN)
		tx.CommitTime = m.CommitTime
		*cur = nil
		if tx.EndLSN > s.received {
			s.received = tx.EndLSN
		}
		return tx, nil
	}
	if tx := *cur; tx != nil && len(tx.Changes)+len(tx.Messages) >= s.opts.ChunkChanges {
		// Hand out what is decoded so far; the rest of the transaction
		// continues in a fresh chunk. Nothing is acknowledged before the
		// last chunk (the one with EndLSN) is applied.
		tx.Partial = true
		*cur = &projection.Tx{Xid: tx.Xid, CommitLSN: tx.CommitLSN, CommitTime: tx.CommitTime}
		return tx, nil
	}
	return nil, nil
}

// relation records a relation and returns a resync reason when its schema
// differs from the backfill's.
func (s *Stream) relation(m *pglogrepl.RelationMessage) string {
	cols := make([]string, len(m.Columns))
	fp := make([]string, len(m.Columns))
	for i, c := range m.Columns {
		cols[i] = c.Name
		fp[i] = fmt.Sprintf("%s:%d", c.Name, c.DataType)
	}
	name := m.Namespace + "." + m.RelationName
	rel := &relation{table: projection.TableByName(m.RelationName), name: name, columns: cols, keep: make([]bool, len(cols))}
	for i, c := range cols {
		rel.keep[i] = s.keep[rel.table][c]
	}
	prev := s.relations[m.RelationID]
	s.relations[m.RelationID] = rel
	if prev != nil && prev.name != name && prev.table != projection.TableUnknown {
		return fmt.Sprintf("relation %s renamed to %s", prev.name, name)
	}
	if want, ok := s.opts.Fingerprint[name]; ok && want != strings.Join(fp, ",") {
		return fmt.Sprintf("schema of %s changed: backfilled %q, now %q", name, want, strings.Join(fp, ","))
	}
	return ""
}

func (r *relation) row(t *pglogrepl.TupleData) projection.Row {
	if t == nil {
		return nil
	}
	row := make(projection.Row, len(projection.PlannedColumns(r.table)))
	for i, c := range t.Columns {
		if i >= len(r.columns) {
			break
		}
		if !r.keep[i] {
			continue // the planner does not read it; the content is read at flush time
		}
		switch c.DataType {
		case pglogrepl.TupleDataTypeNull:
			row[r.columns[i]] = nil
		case pglogrepl.TupleDataTypeText, pglogrepl.TupleDataTypeBinary:
			v := string(c.Data)
			row[r.columns[i]] = &v
		}
	}
	return row
}
