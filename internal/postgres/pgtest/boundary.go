// Package pgtest drives PostgreSQL into interleavings that the
// projector must survive, with real sessions, for the integration tests of
// the replication and projector packages.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Boundary is a transaction that was still in progress when a logical
// slot became consistent, and committed right after.
type Boundary struct {
	Xid uint32 // the held transaction
	// CommitLSN is where its commit record starts (the LSN pgoutput sends
	// as the transaction's commit LSN), read from the WAL itself.
	CommitLSN uint64
	// FollowsRunningXacts reports that the record just before the commit is
	// the xl_running_xacts record that made the slot consistent, so
	// CommitLSN is the slot's consistent point: the transaction is left out
	// of the slot's exported snapshot and streamed with that very LSN.
	FollowsRunningXacts bool
}

// ErrNoProgress is returned when slot creation did not wait where the
// interleaving needs it to (a long transaction elsewhere in the cluster
// held it back); the caller may try again.
var ErrNoProgress = errors.New("pgtest: slot creation did not reach the expected phase")

// Attempts is how often a test tries to establish the interleaving. Every
// database of the cluster takes part in slot creation (its running
// transactions and its WAL), so on a cluster busy with other tests an
// attempt fails about half of the time; measured under the heaviest load
// here (the projector's and every other package's tests at once, in a
// loop), five attempts in a row failed once in twenty runs. Twenty make
// that about one in a million; a test that still could not establish it
// skips, saying so, rather than passing or failing by luck.
const Attempts = 20

// CommitAtConsistentPoint commits a transaction exactly at the consistent
// point of a logical slot that create starts creating (the slot's creator
// is the only walsender of the pool's database). Creating a slot builds its
// snapshot in three phases; each waits (XactLockTableWait) for the
// transactions running when it began, then logs a new xl_running_xacts
// record. Sessions that hold transactions open steer it:
//
//	B takes an xid, create()   BUILDING: the walsender waits for B
//	C takes an xid, B commits  FULL: it waits for C
//	D runs hold, C commits     CONSISTENT at the record logged after C ends; D still runs
//	D commits                  its commit record is the first after the consistent point
//
// The exported snapshot treats D as running (not visible), yet D's commit
// LSN equals the consistent point. WAL written by other databases of the
// cluster between the last two steps moves D's commit past the point; the
// caller checks FollowsRunningXacts and the consistent point it got, and
// retries when they do not match. The pool's role must be a superuser
// (pg_walinspect reads the WAL).
//
// long: one scripted interleaving; its steps are the table above, in
// order, and read best in one place.
func CommitAtConsistentPoint(ctx context.Context, pool *pgxpool.Pool, create func(), hold func(context.Context, pgx.Tx) error) (Boundary, error) {
	if _, err := pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_walinspect`); err != nil {
		return Boundary{}, fmt.Errorf("pgtest: pg_walinspect: %w", err)
	}
	var txs []pgx.Tx
	defer func() {
		for _, tx := range txs {
			_ = tx.Rollback(context.WithoutCancel(ctx)) // no-op once committed
		}
	}()
	begin := func(run func(context.Context, pgx.Tx) error) (pgx.Tx, string, error) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return nil, "", err
		}
		txs = append(txs, tx)
		if err := run(ctx, tx); err != nil {
			return nil, "", err
		}
		var xid string
		err = tx.QueryRow(ctx, `SELECT xid(pg_current_xact_id())::text`).Scan(&xid)
		return tx, xid, err
	}
	takeXid := func(context.Context, pgx.Tx) error { return nil } // pg_current_xact_id() assigns one

	b, bxid, err := begin(takeXid)
	if err != nil {
		return Boundary{}, err
	}
	create()
	if err := waitOn(ctx, pool, bxid, true); err != nil {
		return Boundary{}, err
	}
	c, cxid, err := begin(takeXid)
	if err != nil {
		return Boundary{}, err
	}
	if err := b.Commit(ctx); err != nil {
		return Boundary{}, err
	}
	if err := waitOn(ctx, pool, cxid, true); err != nil {
		return Boundary{}, err
	}
	d, dxid, err := begin(hold)
	if err != nil {
		return Boundary{}, err
	}
	var before string
	if err := pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&before); err != nil {
		return Boundary{}, err
	}
	if err := c.Commit(ctx); err != nil {
		return Boundary{}, err
	}
	// The walsender logs the consistent xl_running_xacts right after its
	// wait for C ends.
	if err := waitOn(ctx, pool, cxid, false); err != nil {
		return Boundary{}, err
	}
	if err := d.Commit(ctx); err != nil {
		return Boundary{}, err
	}
	return commitRecord(ctx, pool, before, dxid)
}

// waitOn waits until the database's walsender waits (waiting true) or no
// longer waits (false) for the lock of transaction xid.
func waitOn(ctx context.Context, pool *pgxpool.Pool, xid string, waiting bool) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var is bool
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE a.backend_type = 'walsender' AND a.datname = current_database()
			  AND l.locktype = 'transactionid' AND NOT l.granted AND l.transactionid::text = $1)`, xid).Scan(&is)
		if err != nil {
			return err
		}
		if is == waiting {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: walsender waiting for transaction %s = %t after 10s", ErrNoProgress, xid, is)
		}
		if waiting {
			time.Sleep(2 * time.Millisecond)
		} // else poll as fast as possible: D commits right after
	}
}

// commitRecord finds the commit record of xid after from in the WAL, and
// the record before it.
func commitRecord(ctx context.Context, pool *pgxpool.Pool, from, xid string) (Boundary, error) {
	rows, err := pool.Query(ctx, `SELECT start_lsn::text, end_lsn::text, xid::text, resource_manager, record_type
		FROM pg_get_wal_records_info($1::pg_lsn, pg_current_wal_flush_lsn()) ORDER BY start_lsn`, from)
	if err != nil {
		return Boundary{}, fmt.Errorf("pgtest: read WAL: %w", err)
	}
	type record struct{ start, end, xid, rmgr, typ string }
	recs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (record, error) {
		var rec record
		err := r.Scan(&rec.start, &rec.end, &rec.xid, &rec.rmgr, &rec.typ)
		return rec, err
	})
	if err != nil {
		return Boundary{}, fmt.Errorf("pgtest: read WAL: %w", err)
	}
	for i, rec := range recs {
		if rec.rmgr != "Transaction" || rec.typ != "COMMIT" || rec.xid != xid {
			continue
		}
		lsn, err := domain.ParseLSN(rec.start)
		if err != nil {
			return Boundary{}, err
		}
		var x uint32
		if _, err := fmt.Sscan(xid, &x); err != nil {
			return Boundary{}, err
		}
		b := Boundary{Xid: x, CommitLSN: lsn}
		if i > 0 {
			prev := recs[i-1]
			b.FollowsRunningXacts = prev.rmgr == "Standby" && prev.typ == "RUNNING_XACTS" && prev.end == rec.start
		}
		return b, nil
	}
	return Boundary{}, fmt.Errorf("pgtest: no commit record of transaction %s after %s", xid, from)
}
