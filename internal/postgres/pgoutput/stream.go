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
	c, err := Connect(ctx, d.URL)
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return c, nil
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

	dec *decoder // driven only by Run's owning goroutine
}

// pluginArgs are the pgoutput options of the stream (and of the recording
// in testdata/, which must match it): protocol 1, the publication, and
// logical decoding messages, which carry redrive requests.
func pluginArgs(publication string) []string {
	return []string{
		"proto_version '1'",
		fmt.Sprintf("publication_names '%s'", strings.ReplaceAll(publication, "'", "''")),
		"messages 'true'",
	}
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
		Mode:       pglogrepl.LogicalReplication,
		PluginArgs: pluginArgs(opts.Publication),
	})
	if err != nil {
		return nil, fmt.Errorf("replication: start %s: %w", opts.Slot, err)
	}
	s := &Stream{conn: c, opts: opts, notify: make(chan struct{}, 1), dec: newDecoder(opts.Confirmed, opts.ChunkChanges, opts.Fingerprint)}
	s.acked.Store(opts.Confirmed)
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
	in, stop := s.startReader()
	defer stop()
	return s.serve(ctx, in, out)
}

// startReader reads the socket on a goroutine of its own, because a read
// blocks while the owner must keep sending status updates. stop ends the
// reader and closes the connection.
func (s *Stream) startReader() (in <-chan received, stop func()) {
	msgs := make(chan received, 64)
	done := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		s.read(msgs, done)
	}()
	return msgs, func() {
		// Unblock the reader by closing the socket underneath it (safe
		// while it reads), wait for it, then close the connection.
		close(done)
		_ = s.conn.pg.Conn().Close()
		<-readerDone
		s.conn.Close()
	}
}

// read passes the server's messages to in until the connection fails or
// done is closed.
func (s *Stream) read(in chan<- received, done <-chan struct{}) {
	for {
		// Background context: no deadline juggling; closing the socket
		// unblocks it.
		msg, err := detach(s.conn.pg.ReceiveMessage(context.Background()))
		select {
		case in <- received{msg, err}:
		case <-done:
			return
		}
		if err != nil {
			return
		}
	}
}

// detach keeps what the stream uses of a received message, as copies: the
// frontend reuses message structs and buffers on the next receive.
func detach(msg pgproto3.BackendMessage, err error) (pgproto3.BackendMessage, error) {
	switch m := msg.(type) {
	case *pgproto3.CopyData:
		return &pgproto3.CopyData{Data: append([]byte(nil), m.Data...)}, err
	case *pgproto3.ErrorResponse:
		return nil, fmt.Errorf("server: %w", pgconn.ErrorResponseToPgError(m))
	case *pgproto3.CopyDone:
		return &pgproto3.CopyDone{}, err
	}
	return nil, err
}

// serve owns the connection: it decodes what the reader passes on, hands
// transactions to out as the consumer and the Budget allow, and sends
// status updates all the while, reading or not.
func (s *Stream) serve(ctx context.Context, in <-chan received, out chan<- projection.Tx) error {
	status := time.NewTicker(s.opts.StatusInterval)
	defer status.Stop()
	// While everything received is applied, ask the server every
	// IdlePoll for its position (a status update with reply requested is
	// answered by a keepalive), so the published position follows the WAL
	// of other writers promptly (read-your-writes tokens point there).
	idle := time.NewTicker(s.opts.IdlePoll)
	defer idle.Stop()
	h := handout{budget: s.opts.Budget}
	for {
		outc, freed, inc := h.gate(out, in)
		var err error
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-freed:
		case outc <- h.tx():
			h.taken()
		case <-s.notify:
			err = s.sendStatus(ctx, false)
		case <-status.C:
			err = s.sendStatus(ctx, false)
		case <-idle.C:
			if s.dec.idle() && h.pending == nil && s.acked.Load() >= s.dec.received {
				err = s.sendStatus(ctx, true)
			}
		case r := <-inc:
			h.pending, err = s.receive(ctx, r)
		}
		if err != nil {
			return err
		}
	}
}

// handout is the decoded transaction waiting for the consumer. Nothing more
// is read while one waits, so the stream holds at most one transaction
// beyond what the Budget admits.
type handout struct {
	budget   *projection.Budget
	pending  *projection.Tx
	reserved bool // pending's weight is taken from the budget
}

// gate returns the channels serve waits on: out once pending's weight is
// reserved, the budget's Freed while it cannot be, and in (the next
// message) only when nothing is pending. The others are nil.
func (h *handout) gate(out chan<- projection.Tx, in <-chan received) (chan<- projection.Tx, <-chan struct{}, <-chan received) {
	if h.pending == nil {
		return nil, nil, in
	}
	if !h.reserved && (h.budget == nil || h.budget.TryTake(h.pending.Weight())) {
		h.reserved = true
	}
	if h.reserved {
		return out, nil, nil
	}
	return nil, h.budget.Freed(), nil
}

// tx is the value offered on out (the zero Tx while out is nil: a select
// evaluates every send expression).
func (h *handout) tx() projection.Tx {
	if h.pending == nil {
		return projection.Tx{}
	}
	return *h.pending
}

func (h *handout) taken() { h.pending, h.reserved = nil, false }

// receive decodes one message from the reader; it returns a transaction
// (or an idle keepalive position) to hand out, if one completed.
func (s *Stream) receive(ctx context.Context, r received) (*projection.Tx, error) {
	if r.err != nil {
		return nil, fmt.Errorf("replication: receive: %w", r.err)
	}
	tx, err := s.handle(ctx, r.msg)
	if err != nil {
		return nil, err
	}
	if tx != nil && !tx.Keepalive {
		s.waiting.Add(1)
	}
	return tx, nil
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

// handle processes one server message: the decoder's part, plus the
// server's WAL end and the status update a keepalive may ask for.
func (s *Stream) handle(ctx context.Context, msg pgproto3.BackendMessage) (*projection.Tx, error) {
	switch m := msg.(type) {
	case *pgproto3.CopyData:
		f, err := s.dec.copyData(m.Data)
		s.storeServerEnd(f.serverEnd)
		if err != nil {
			return nil, err
		}
		if f.reply {
			if err := s.sendStatus(ctx, false); err != nil {
				return nil, err
			}
		}
		return f.tx, nil
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
