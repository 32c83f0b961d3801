package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/queue"
)

// Store implements command.Store on a pgx pool. Every write is one pipelined
// round trip: BEGIN, the write's statements, COMMIT and a read of the WAL
// flush position (the consistency token) go to the server together. The
// pool's default QueryExecModeCacheStatement prepares each statement once
// per connection. It is safe for concurrent use.
type Store struct {
	pool  *pgxpool.Pool
	jobs  *queue.Inserter
	group *grouper // nil: no group commit
}

var _ command.Store = (*Store)(nil)

// StoreOptions configure a Store. The zero value writes every request in
// its own transaction.
type StoreOptions struct {
	// GroupWriters > 0 turns on group commit of single-payment writes (see
	// group.go) with at most this many group transactions at a time.
	GroupWriters int
	GroupMaxSize int                   // payments per group; 0 means 128
	Registerer   prometheus.Registerer // optional: the command_payment_group_* metrics
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool, o StoreOptions) *Store {
	jobs, err := queue.NewInserter(pool)
	if err != nil { // only a programming error: the configuration is static
		panic(err)
	}
	s := &Store{pool: pool, jobs: jobs}
	if o.GroupWriters > 0 {
		s.group = newGrouper(s, o)
	}
	return s
}

const (
	sqlBegin  = "BEGIN"
	sqlCommit = "COMMIT"
	// With synchronous_commit on (forced in OpenPool), COMMIT returns after
	// the commit record is flushed, so the flush position read afterwards is
	// at or after the end of that record. Unlike the insert position it never
	// points into other sessions' unflushed WAL, which the replication stream
	// cannot deliver yet, so read-your-writes never waits for unrelated work.
	sqlLSN = "SELECT pg_current_wal_flush_lsn()::text"
)

// write runs the statements queued by queue in one transaction, reads their
// results with read, and returns the WAL position after the commit, all in
// one round trip. read must consume exactly the results of the queued
// statements, in order. On any error the transaction is rolled back and the
// error translated.
func (s *Store) write(ctx context.Context, what string, queue func(b *pgx.Batch), read func(br pgx.BatchResults) error) (command.Commit, error) {
	b := &pgx.Batch{}
	b.Queue(sqlBegin)
	queue(b)
	b.Queue(sqlCommit)
	b.Queue(sqlLSN)

	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return command.Commit{}, translate(err, what)
	}
	defer conn.Release()

	br := conn.SendBatch(ctx, b)
	_, err = br.Exec()
	if err == nil {
		err = read(br)
	}
	if err == nil {
		_, err = br.Exec()
	}
	var lsnText string
	if err == nil {
		err = br.QueryRow().Scan(&lsnText)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return committed(conn, what, lsnText, err)
}

// writeEnqueue is write for payment writes, which must enqueue their
// processing jobs in the same transaction (SPEC §9): after the queued
// statements and read, enqueue runs in the transaction (River's inserts take
// a pgx.Tx and need the ids the statements returned), then COMMIT and the
// read of the flush position go together. Four round trips instead of one;
// under load the group commit shares them among a group's members.
func (s *Store) writeEnqueue(ctx context.Context, what string, queue func(b *pgx.Batch), read func(br pgx.BatchResults) error,
	enqueue func(ctx context.Context, tx pgx.Tx) error) (command.Commit, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return command.Commit{}, translate(err, what)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return command.Commit{}, translate(err, what)
	}
	b := &pgx.Batch{}
	queue(b)
	br := tx.SendBatch(ctx, b)
	err = read(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = enqueue(ctx, tx)
	}
	var lsnText string
	if err == nil {
		// COMMIT on the connection rather than tx.Commit, so that the
		// position is read in the same round trip; tx is not used again.
		end := &pgx.Batch{}
		end.Queue(sqlCommit)
		end.Queue(sqlLSN)
		ebr := conn.SendBatch(ctx, end)
		if _, err = ebr.Exec(); err == nil {
			err = ebr.QueryRow().Scan(&lsnText)
		}
		if cerr := ebr.Close(); err == nil {
			err = cerr
		}
	}
	return committed(conn, what, lsnText, err)
}

// committed ends a write: on err the transaction is rolled back, otherwise
// the flush position read after COMMIT becomes the write's Commit.
func committed(conn *pgxpool.Conn, what, lsnText string, err error) (command.Commit, error) {
	if err != nil {
		rollback(conn)
		return command.Commit{}, err
	}
	lsn, err := domain.ParseLSN(lsnText)
	if err != nil {
		return command.Commit{}, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return command.Commit{LSN: lsn}, nil
}

// rollback ends a transaction a failed batch left open, so the connection
// goes back to the pool clean instead of being destroyed.
func rollback(conn *pgxpool.Conn) {
	pc := conn.Conn().PgConn()
	if conn.Conn().IsClosed() || pc.TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = conn.Exec(ctx, "ROLLBACK")
}

// Error codes beyond those in postgres.go.
const pgLockNotAvailable = "55P03"

// pgError returns the PostgreSQL error in err's chain, if any.
func pgError(err error) (*pgconn.PgError, bool) {
	var pgErr *pgconn.PgError
	ok := errors.As(err, &pgErr)
	return pgErr, ok
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
