package pgoutput_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/postgres/pgoutput"
	"github.com/wildcat-payments/wildcat/internal/postgres/pgtest"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

// A transaction can commit exactly at a new slot's consistent point: it is
// not in the slot's exported snapshot, and the stream delivers it with that
// LSN as its commit LSN. A backfill written with the consistent point as
// version would therefore tie with that transaction's own write and keep
// the older content (the engine rejects an equal external version): the
// backfill version must be below it (projection.SnapshotVersion).
func TestCommitAtConsistentPointIsStreamedNotSnapshotted(t *testing.T) {
	t.Parallel()
	url := testenv.MustDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL);
		INSERT INTO t VALUES (1, 0); CREATE PUBLICATION boundary FOR TABLE t`); err != nil {
		t.Fatal(err)
	}

	for attempt := 1; ; attempt++ {
		slot := fmt.Sprintf("boundary_%d", attempt)
		conn, err := pgoutput.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		created := make(chan error, 1)
		var s pgoutput.Slot
		var before int // v as the held transaction found it
		bc, err := pgtest.CommitAtConsistentPoint(ctx, pool,
			func() { go func() { var err error; s, err = conn.CreateSlot(ctx, slot); created <- err }() },
			func(ctx context.Context, tx pgx.Tx) error {
				return tx.QueryRow(ctx, `UPDATE t SET v = v + 1 WHERE id = 1 RETURNING v - 1`).Scan(&before)
			})
		if err == nil {
			err = <-created
		}
		if err == nil && (!bc.FollowsRunningXacts || bc.CommitLSN != s.ConsistentPoint) {
			err = fmt.Errorf("%w: commit at %s, consistent point %s (other WAL came between)", pgtest.ErrNoProgress,
				domain.FormatLSN(bc.CommitLSN), domain.FormatLSN(s.ConsistentPoint))
		}
		if errors.Is(err, pgtest.ErrNoProgress) {
			t.Logf("attempt %d: %v; again", attempt, err)
			conn.Close()
			_, _ = pool.Exec(ctx, `SELECT pg_drop_replication_slot($1)`, slot)
			if attempt < pgtest.Attempts {
				continue
			}
			t.Skipf("the interleaving could not be established in %d attempts on this busy cluster: %v", attempt, err)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("transaction %d committed at the consistent point %s", bc.Xid, domain.FormatLSN(s.ConsistentPoint))

		// The exported snapshot does not see it.
		var v int
		err = pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+s.Snapshot+"'"); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT v FROM t WHERE id = 1`).Scan(&v)
		})
		if err != nil {
			t.Fatal(err)
		}
		if v != before {
			t.Errorf("the exported snapshot sees v = %d, want %d (the held transaction is not in it)", v, before)
		}

		// The stream delivers it, with the consistent point as commit LSN.
		st, err := conn.Start(ctx, pgoutput.StreamOptions{Slot: slot, Publication: "boundary", Confirmed: s.ConsistentPoint})
		if err != nil {
			t.Fatal(err)
		}
		sctx, stop := context.WithTimeout(ctx, 30*time.Second)
		txs := make(chan projection.Tx, 16)
		ran := make(chan struct{})
		go func() { defer close(ran); _ = st.Run(sctx, txs) }()
		var got projection.Tx
		for got.Xid != bc.Xid && sctx.Err() == nil {
			select {
			case got = <-txs:
			case <-sctx.Done():
			}
		}
		stop()
		<-ran // Run owns the connection until it returns
		conn.Close()
		if got.Xid != bc.Xid {
			t.Fatalf("transaction %d was not streamed", bc.Xid)
		}
		if got.CommitLSN != s.ConsistentPoint {
			t.Errorf("streamed with commit LSN %s, want the consistent point %s", domain.FormatLSN(got.CommitLSN), domain.FormatLSN(s.ConsistentPoint))
		}
		if v := projection.SnapshotVersion(s.ConsistentPoint); v >= got.CommitLSN {
			t.Errorf("snapshot version %d is not below the streamed transaction's version %d: its write would be a version conflict", v, got.CommitLSN)
		}
		return
	}
}
