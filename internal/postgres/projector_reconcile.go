package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
)

// The reconciler's reads (projection.ReconcileSource): the same statements
// as the stream's reads and the backfill's, so the documents, and their
// fingerprints, are built exactly as the projector builds them.

var _ projection.ReconcileSource = (*ProjectorSource)(nil)

// PaymentsAfter implements projection.ReconcileSource.
func (s *ProjectorSource) PaymentsAfter(ctx context.Context, after string, limit int) ([]projection.Loaded[projection.PaymentDoc], uint64, error) {
	return readAt(ctx, s, func(tx pgx.Tx) ([]projection.Loaded[projection.PaymentDoc], error) {
		return paymentsAfter(ctx, tx, after, limit)
	})
}

// CustomersAfter implements projection.ReconcileSource.
func (s *ProjectorSource) CustomersAfter(ctx context.Context, after string, limit int) ([]projection.Loaded[projection.CustomerDoc], uint64, error) {
	return readAt(ctx, s, func(tx pgx.Tx) ([]projection.Loaded[projection.CustomerDoc], error) {
		return customersAfter(ctx, tx, after, limit)
	})
}

// PaymentsByID implements projection.ReconcileSource.
func (s *ProjectorSource) PaymentsByID(ctx context.Context, ids []string) ([]projection.Loaded[projection.PaymentDoc], uint64, error) {
	return readAt(ctx, s, func(tx pgx.Tx) ([]projection.Loaded[projection.PaymentDoc], error) {
		return view{tx}.Payments(ctx, ids)
	})
}

// CustomersByID implements projection.ReconcileSource.
func (s *ProjectorSource) CustomersByID(ctx context.Context, ids []string) ([]projection.Loaded[projection.CustomerDoc], uint64, error) {
	return readAt(ctx, s, func(tx pgx.Tx) ([]projection.Loaded[projection.CustomerDoc], error) {
		return view{tx}.Customers(ctx, ids)
	})
}

// readAt runs read in one REPEATABLE READ transaction and then reads
// pg_current_wal_insert_lsn(). A transaction the read saw had inserted its
// commit record before it left the process array, which was before the
// snapshot was taken, so the position is at or after the end of every
// transaction the read saw (the position a consistency token uses too).
func readAt[T any](ctx context.Context, s *ProjectorSource, read func(pgx.Tx) ([]projection.Loaded[T], error)) ([]projection.Loaded[T], uint64, error) {
	var docs []projection.Loaded[T]
	var pos uint64
	err := pgx.BeginTxFunc(ctx, s.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if docs, err = read(tx); err != nil {
			return err
		}
		var lsn string
		if err := tx.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&lsn); err != nil {
			return err
		}
		pos, err = domain.ParseLSN(lsn)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("replication: reconcile read: %w", err)
	}
	return docs, pos, nil
}
