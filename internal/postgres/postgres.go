// Package postgres is everything PostgreSQL except the replication protocol
// (internal/postgres/pgoutput): connection pools, migrations, the write
// store the command use cases declare (store.go, users.go, customers.go,
// payments.go, group.go), and the projector's side: its own tables and
// leader lock (projector_store.go), consistent reads of the current state
// (projector_source.go) and the backfill's exported snapshot (snapshot.go).
// Driver errors are translated to domain errors here and nowhere else.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/migrations"
)

// Open connects a pool to url. maxConns ≤ 0 keeps pgx's default. The pool is
// pinged before it is returned. The pool is safe for concurrent use.
func Open(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	return OpenPool(ctx, url, PoolOptions{MaxConns: maxConns})
}

// PoolOptions configure OpenPool; zero fields keep pgx's or the server's
// defaults.
type PoolOptions struct {
	MaxConns        int32
	MinConns        int32
	LockTimeout     time.Duration // the sessions' lock_timeout: how long a statement waits for a row lock
	ApplicationName string        // shown in pg_stat_activity
	// Lazy returns the pool without pinging: connections are made on first
	// use, so a service can start (and report itself unready) before
	// PostgreSQL answers.
	Lazy bool
	// AsyncCommit commits without waiting for the WAL flush
	// (synchronous_commit = off): a crash of PostgreSQL may lose the last
	// few hundred milliseconds of commits. Only for writes that are
	// re-derived when lost — the processor's (docs/processing.md,
	// *Commits*) — never for anything acknowledged to a client.
	AsyncCommit bool
}

// OpenPool is Open with more options.
func OpenPool(ctx context.Context, url string, o PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if o.MinConns > 0 {
		cfg.MinConns = min(o.MinConns, cfg.MaxConns)
	}
	if o.LockTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["lock_timeout"] = strconv.FormatInt(o.LockTimeout.Milliseconds(), 10)
	}
	if o.ApplicationName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = o.ApplicationName
	}
	// A write is acknowledged only once its commit record is flushed, whatever
	// the server default: a payment must survive a crash, and the consistency
	// token (the flush position read after COMMIT) relies on it.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	if o.AsyncCommit {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if o.Lazy {
		return pool, nil
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: ping: %w", err)
	}
	return pool, nil
}

// Migrate applies every pending migration embedded in package migrations.
// goose takes a PostgreSQL advisory lock, so concurrent callers serialize.
//
// River's tables (the processing queue) come first, from River's own
// migration API, under an advisory lock of their own: the migration lines
// are independent, but binaries starting together must not race.
func Migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	if err := migrateRiver(ctx, pool, logger); err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	return migrate(ctx, db, logger)
}

// riverMigrationLock is the advisory lock key held while River migrates.
const riverMigrationLock = 0x77696c6463617401 // "wildcat" 01

func migrateRiver(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: river migrations: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(riverMigrationLock)); err != nil {
		return fmt.Errorf("postgres: river migrations: lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(riverMigrationLock))
	}()
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: logger})
	if err != nil {
		return fmt.Errorf("postgres: river migrations: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("postgres: river migrations: %w", err)
	}
	for _, v := range res.Versions {
		logger.Info("river migration applied", "version", v.Version, "duration_ms", v.Duration.Milliseconds())
	}
	return nil
}

func migrate(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS,
		goose.WithSessionLocker(mustLocker()))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	for _, r := range results {
		logger.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration_ms", r.Duration.Milliseconds())
	}
	return nil
}

// Error codes of PostgreSQL that the stores translate.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
	pgCheckViolation      = "23514"
	pgSerialization       = "40001"
	pgDeadlock            = "40P01"
)

// translate maps a driver error to a domain error where one applies. what
// names the operation for the wrapped message.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case pgUniqueViolation:
			return &domain.Error{Code: domain.ECONFLICT, Reason: pgErr.ConstraintName, Message: "The resource already exists."}
		case pgForeignKeyViolation:
			return &domain.Error{Code: domain.ENOTFOUND, Reason: pgErr.ConstraintName, Message: "A referenced resource does not exist."}
		case pgCheckViolation:
			return &domain.Error{Code: domain.EINVALID, Reason: pgErr.ConstraintName, Message: "A value is out of range."}
		case pgSerialization, pgDeadlock:
			return &domain.Error{Code: domain.ECONFLICT, Reason: "retry", Message: "A concurrent request conflicted; retry."}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &domain.Error{Code: domain.EUNAVAILABLE, Message: "The database did not answer in time.", RetryAfter: 1}
	}
	if unavailable(err) {
		return &domain.Error{Code: domain.EUNAVAILABLE, RetryAfter: 1,
			Message: "The database is unavailable (restarting or recovering); retry with the same Idempotency-Key."}
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// unavailable reports whether err means PostgreSQL cannot be reached or is
// not accepting work right now, rather than that the request is wrong: the
// server refuses connections (down, restarting), is starting up or in crash
// recovery ("the database system is starting up", "not yet accepting
// connections": 57P03), was shut down under the session (57P01 admin
// shutdown, 57P02 crash shutdown, 57P05 idle session timeout), has no slot
// or resources (53xxx), is read-only in recovery (25006), or the connection
// broke (class 08, EOF, reset). The outcome of a write that failed this way
// may be unknown (the connection broke after COMMIT was sent): the client
// retries with the same Idempotency-Key, which answers with the original.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", pgErr.Code == "57P05",
			pgErr.Code == "25006", strings.HasPrefix(pgErr.Code, "08"), strings.HasPrefix(pgErr.Code, "53"):
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		pgconn.SafeToRetry(err)
}
