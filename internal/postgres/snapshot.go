package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

// Snapshot is a read of the write model exactly as of a slot's consistent
// point (SET TRANSACTION SNAPSHOT with the slot's exported snapshot). It is
// not safe for concurrent use.
type Snapshot struct {
	conn *pgx.Conn
	tx   pgx.Tx
}

// OpenSnapshot imports the exported snapshot name on a new connection. The
// replication connection that exported it must stay open and idle until
// the snapshot has been imported.
func OpenSnapshot(ctx context.Context, url, name string) (*Snapshot, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("replication: snapshot: connect: %w", err)
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err == nil && name != "" {
		_, err = tx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+name+"'")
	}
	if err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("replication: import snapshot %s: %w", name, err)
	}
	return &Snapshot{conn: conn, tx: tx}, nil
}

// Close ends the snapshot's transaction and connection.
func (s *Snapshot) Close() {
	_ = s.tx.Rollback(context.Background())
	_ = s.conn.Close(context.Background())
}

// Fingerprint describes the columns the publication sends for each of its
// tables ("schema.table" → "name:typeoid,…" in column order), the same way
// Stream derives it from relation messages.
func (s *Snapshot) Fingerprint(ctx context.Context, publication string) (map[string]string, error) {
	rows, err := s.tx.Query(ctx, `SELECT pt.schemaname || '.' || pt.tablename,
			string_agg(a.attname || ':' || a.atttypid::text, ',' ORDER BY a.attnum)
		FROM pg_publication_tables pt
		JOIN pg_attribute a ON a.attrelid = format('%I.%I', pt.schemaname, pt.tablename)::regclass
		WHERE pt.pubname = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		  AND a.attname = ANY (pt.attnames)
		GROUP BY 1`, publication)
	if err != nil {
		return nil, fmt.Errorf("replication: fingerprint: %w", err)
	}
	fp := map[string]string{}
	for rows.Next() {
		var table, cols string
		if err := rows.Scan(&table, &cols); err != nil {
			return nil, fmt.Errorf("replication: fingerprint: %w", err)
		}
		fp[table] = cols
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("replication: fingerprint: %w", err)
	}
	return fp, nil
}

// Payments returns up to limit payment documents with id > after, in id
// order ("" starts at the beginning).
func (s *Snapshot) Payments(ctx context.Context, after string, limit int) ([]projection.Loaded[projection.PaymentDoc], error) {
	return paymentsAfter(ctx, s.tx, after, limit)
}

// paymentsAfter reads up to limit payment documents with id > after, in id
// order (the backfill's and the reconciler's keyset read).
func paymentsAfter(ctx context.Context, q querier, after string, limit int) ([]projection.Loaded[projection.PaymentDoc], error) {
	if after == "" {
		after = zeroUUID
	}
	return queryPayments(ctx, q, `SELECT `+docPaymentColumns+docPaymentFrom+`WHERE p.id > $1::uuid ORDER BY p.id LIMIT $2`, after, limit)
}

// Customers returns up to limit customer access documents with id > after,
// in id order.
func (s *Snapshot) Customers(ctx context.Context, after string, limit int) ([]projection.Loaded[projection.CustomerDoc], error) {
	return customersAfter(ctx, s.tx, after, limit)
}

// customersAfter reads up to limit customer access documents with
// id > after, in id order.
func customersAfter(ctx context.Context, q querier, after string, limit int) ([]projection.Loaded[projection.CustomerDoc], error) {
	if after == "" {
		after = zeroUUID
	}
	return queryCustomers(ctx, q, `SELECT `+docCustomerColumns+
		` FROM (SELECT * FROM customers WHERE id > $1::uuid ORDER BY id LIMIT $2) c`+customerJoin+customerGroup+` ORDER BY c.id`, after, limit)
}
