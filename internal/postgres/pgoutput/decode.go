package pgoutput

import (
	"fmt"
	"strings"

	"github.com/jackc/pglogrepl"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

// decoder is the stream's state machine without the socket: it takes the
// CopyData payloads of a pgoutput session in order and turns them into
// projection transactions. Keeping it apart from the connection lets the
// tests drive it with messages recorded from a real server (testdata/).
// It is not safe for concurrent use; the stream's owning goroutine drives
// it.
type decoder struct {
	relations   map[uint32]*relation
	keep        map[projection.Table]map[string]bool // planned columns per table
	fingerprint map[string]string                    // the backfill's schema, "schema.table" → columns
	chunk       int                                  // most changes and messages in one Tx
	cur         *projection.Tx                       // the transaction (chunk) being decoded
	received    uint64                               // end of the last transaction handed out
	idleSent    uint64                               // last keepalive position handed out
	resync      string                               // reason seen outside a transaction, for the next one
}

type relation struct {
	table   projection.Table
	name    string
	columns []string
	keep    []bool // column i is one the planner reads
}

// newDecoder returns a decoder for a session that resumes after
// confirmed, chunking transactions at chunk changes.
func newDecoder(confirmed uint64, chunk int, fingerprint map[string]string) *decoder {
	d := &decoder{
		relations:   map[uint32]*relation{},
		keep:        map[projection.Table]map[string]bool{},
		fingerprint: fingerprint,
		chunk:       chunk,
		received:    confirmed,
	}
	for _, t := range projection.Tables {
		d.keep[t] = map[string]bool{}
		for _, col := range projection.PlannedColumns(t) {
			d.keep[t][col] = true
		}
	}
	return d
}

// frame is what one CopyData payload says.
type frame struct {
	serverEnd uint64         // the server's WAL end from the message header (0: none)
	reply     bool           // the server wants a status update now
	tx        *projection.Tx // a transaction, chunk or idle position to hand out
}

// copyData decodes one CopyData payload: a primary keepalive or an
// XLogData message carrying one pgoutput message. Other payloads carry
// nothing the stream uses. serverEnd is set even when the pgoutput message
// fails to decode, because the header was read.
func (d *decoder) copyData(data []byte) (frame, error) {
	if len(data) == 0 {
		return frame{}, nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return frame{}, fmt.Errorf("replication: keepalive: %w", err)
		}
		end := uint64(ka.ServerWALEnd)
		return frame{serverEnd: end, reply: ka.ReplyRequested, tx: d.keepalive(end)}, nil
	case pglogrepl.XLogDataByteID:
		xld, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return frame{}, fmt.Errorf("replication: xlogdata: %w", err)
		}
		tx, err := d.decode(xld.WALData)
		return frame{serverEnd: uint64(xld.ServerWALEnd), tx: tx}, err
	}
	return frame{}, nil
}

// keepalive returns an idle position for the server's WAL end when
// nothing is in flight: then every transaction committed before it has
// been handed out already. A position already handed out, or one not
// past the last transaction, says nothing new.
func (d *decoder) keepalive(end uint64) *projection.Tx {
	if d.cur == nil && end > d.received && end > d.idleSent {
		d.idleSent = end
		return &projection.Tx{Keepalive: true, EndLSN: end}
	}
	return nil
}

// idle reports whether no transaction is being decoded.
func (d *decoder) idle() bool { return d.cur == nil }

// decode processes one pgoutput message; it returns a transaction, or a
// chunk of one, if the message completed it.
func (d *decoder) decode(data []byte) (*projection.Tx, error) {
	msg, err := pglogrepl.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("replication: decode pgoutput: %w", err)
	}
	switch m := msg.(type) {
	case *pglogrepl.BeginMessage:
		// FinalLSN is the LSN of the commit record: the version of every
		// chunk of this transaction.
		d.cur = &projection.Tx{Xid: m.Xid, CommitLSN: uint64(m.FinalLSN), CommitTime: m.CommitTime, Resync: d.resync}
		d.resync = ""
	case *pglogrepl.RelationMessage:
		d.noteRelation(m)
	case *pglogrepl.CommitMessage:
		return d.commit(m)
	default:
		if err := d.change(msg); err != nil {
			return nil, err
		}
	}
	return d.chunked(), nil
}

// change adds a row change, truncate or logical message to the current
// transaction. Type and origin messages carry nothing the projector uses.
func (d *decoder) change(msg pglogrepl.Message) error {
	switch m := msg.(type) {
	case *pglogrepl.InsertMessage:
		return d.row("insert", m.RelationID, projection.OpInsert, m.Tuple, nil)
	case *pglogrepl.UpdateMessage:
		return d.row("update", m.RelationID, projection.OpUpdate, m.NewTuple, m.OldTuple)
	case *pglogrepl.DeleteMessage:
		return d.row("delete", m.RelationID, projection.OpDelete, nil, m.OldTuple)
	case *pglogrepl.TruncateMessage:
		if err := d.needTx("truncate"); err != nil {
			return err
		}
		// The read model cannot follow a truncate row by row: rebuild.
		for _, id := range m.RelationIDs {
			if rel := d.relations[id]; rel != nil && rel.table != projection.TableUnknown && d.cur.Resync == "" {
				d.cur.Resync = "truncate of " + rel.name
			}
		}
	case *pglogrepl.LogicalDecodingMessage:
		// A non-transactional message is not tied to a commit, so it has
		// no version to re-index with; only transactional ones count.
		if m.Transactional && d.cur != nil {
			// Content may share the receive buffer.
			d.cur.Messages = append(d.cur.Messages, projection.Message{Prefix: m.Prefix, Content: append([]byte(nil), m.Content...)})
		}
	}
	return nil
}

// row adds a row change of a followed table; new and old are the tuples
// the server sent (nil when it sent none).
func (d *decoder) row(what string, relID uint32, op projection.Op, newTuple, oldTuple *pglogrepl.TupleData) error {
	if err := d.needTx(what); err != nil {
		return err
	}
	if rel := d.relations[relID]; rel != nil && rel.table != projection.TableUnknown {
		d.cur.Changes = append(d.cur.Changes, projection.Change{Table: rel.table, Op: op, New: rel.row(newTuple), Old: rel.row(oldTuple)})
	}
	return nil
}

func (d *decoder) needTx(what string) error {
	if d.cur == nil {
		return fmt.Errorf("replication: %s outside a transaction", what)
	}
	return nil
}

// commit completes the current transaction (its last chunk).
func (d *decoder) commit(m *pglogrepl.CommitMessage) (*projection.Tx, error) {
	if err := d.needTx("commit"); err != nil {
		return nil, err
	}
	tx := d.cur
	tx.CommitLSN = uint64(m.CommitLSN)
	tx.EndLSN = uint64(m.TransactionEndLSN)
	tx.CommitTime = m.CommitTime
	d.cur = nil
	if tx.EndLSN > d.received {
		d.received = tx.EndLSN
	}
	return tx, nil
}

// chunked hands out what is decoded so far of a transaction that reached
// the chunk size, so a large transaction is never held whole; the rest
// continues in a fresh chunk. Nothing is acknowledged before the last
// chunk (the one with EndLSN) is applied.
func (d *decoder) chunked() *projection.Tx {
	tx := d.cur
	if tx == nil || len(tx.Changes)+len(tx.Messages) < d.chunk {
		return nil
	}
	tx.Partial = true
	d.cur = &projection.Tx{Xid: tx.Xid, CommitLSN: tx.CommitLSN, CommitTime: tx.CommitTime}
	return tx
}

// noteRelation records a relation; a schema the backfill did not see asks
// the transaction carrying it (or, outside one, the next) for a resync.
func (d *decoder) noteRelation(m *pglogrepl.RelationMessage) {
	reason := d.relation(m)
	switch {
	case reason == "":
	case d.cur == nil:
		d.resync = reason
	case d.cur.Resync == "":
		d.cur.Resync = reason
	}
}

// relation records a relation and returns a resync reason when its schema
// differs from the backfill's.
func (d *decoder) relation(m *pglogrepl.RelationMessage) string {
	cols := make([]string, len(m.Columns))
	fp := make([]string, len(m.Columns))
	for i, c := range m.Columns {
		cols[i] = c.Name
		fp[i] = fmt.Sprintf("%s:%d", c.Name, c.DataType)
	}
	name := m.Namespace + "." + m.RelationName
	rel := &relation{table: projection.TableByName(m.RelationName), name: name, columns: cols, keep: make([]bool, len(cols))}
	for i, c := range cols {
		rel.keep[i] = d.keep[rel.table][c]
	}
	prev := d.relations[m.RelationID]
	d.relations[m.RelationID] = rel
	if prev != nil && prev.name != name && prev.table != projection.TableUnknown {
		return fmt.Sprintf("relation %s renamed to %s", prev.name, name)
	}
	if want, ok := d.fingerprint[name]; ok && want != strings.Join(fp, ",") {
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
