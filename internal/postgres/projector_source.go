package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
)

// ProjectorSource reads the current state of payments and customers for the
// projector. It is safe for concurrent use.
type ProjectorSource struct {
	Pool *pgxpool.Pool
	// VisibilityTimeout bounds the wait for a decoded transaction to become
	// visible to new snapshots (default 30s).
	VisibilityTimeout time.Duration
}

var _ projection.Source = (*ProjectorSource)(nil)

// View implements projection.Source. The read is one REPEATABLE READ
// transaction. A transaction's commit record reaches the replication
// stream a moment before the transaction is visible to new snapshots, so
// the snapshot is checked to include every xid and retaken until it does.
func (s *ProjectorSource) View(ctx context.Context, xids []uint32, fn func(context.Context, projection.View) error) error {
	timeout := s.VisibilityTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	wait := 500 * time.Microsecond
	for {
		tx, err := s.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return fmt.Errorf("replication: projector view: %w", err)
		}
		var snap string
		if err := tx.QueryRow(ctx, "SELECT pg_current_snapshot()::text").Scan(&snap); err != nil {
			_ = tx.Rollback(ctx)
			return fmt.Errorf("replication: projector view: snapshot: %w", err)
		}
		ok, err := SnapshotIncludes(snap, xids)
		if err != nil {
			_ = tx.Rollback(ctx)
			return err
		}
		if ok {
			err := fn(ctx, view{tx})
			_ = tx.Rollback(ctx) // read only: nothing to commit
			return err
		}
		_ = tx.Rollback(ctx)
		if time.Now().After(deadline) {
			return fmt.Errorf("replication: projector view: transactions %v not visible after %s (snapshot %s)", xids, timeout, snap)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, 20*time.Millisecond)
	}
}

// SnapshotIncludes reports whether the snapshot snap (pg_current_snapshot
// text form "xmin:xmax:xip,…" with 64-bit ids) sees every committed
// transaction in xids (32-bit ids, as the replication protocol sends them).
// A 32-bit id is widened to the most recent 64-bit id below xmax with the
// same low bits; a transaction the stream decoded is never older than 2^31.
func SnapshotIncludes(snap string, xids []uint32) (bool, error) {
	parts := strings.Split(snap, ":")
	if len(parts) != 3 {
		return false, fmt.Errorf("replication: snapshot %q: want xmin:xmax:xip", snap)
	}
	xmin, err1 := strconv.ParseUint(parts[0], 10, 64)
	xmax, err2 := strconv.ParseUint(parts[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return false, fmt.Errorf("replication: snapshot %q: %w", snap, err)
	}
	inProgress := map[uint64]bool{}
	if parts[2] != "" {
		for _, s := range strings.Split(parts[2], ",") {
			x, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return false, fmt.Errorf("replication: snapshot %q: %w", snap, err)
			}
			inProgress[x] = true
		}
	}
	for _, x := range xids {
		back := uint64(uint32(xmax) - x) // distance below xmax, modulo 2^32
		if back == 0 || back > xmax {
			return false, nil // at or above xmax: not visible yet
		}
		full := xmax - back
		if full >= xmin && inProgress[full] {
			return false, nil
		}
	}
	return true, nil
}

type view struct{ tx pgx.Tx }

const docPaymentColumns = `p.id::text, p.payment_ref_id::text, p.customer_id::text, p.user_id::text, p.amount,
	p.currency, p.third_party, p.description, p.status, p.date, p.created_at, p.updated_at,
	p.failure_code, p.failure_message, p.attempts, p.processed_at, p.amount_refunded,
	coalesce(c.name, ''), coalesce(u.name, ''), coalesce(u.email, '')`

// docPaymentEvents is the payment's timeline, in id order, read in the same
// statement (and so the same snapshot) as the payment: one index range scan
// of payment_events (payment_id, id) per payment, no extra round trip.
// Timestamps are rendered as UTC RFC 3339 text so that the document does not
// depend on the session's TimeZone. The first entry, payment.created (id
// 0), is the payment row itself: creation stores no event row
// (migrations/00008_payment_created_from_the_row.sql says why).
const docPaymentEvents = `, jsonb_build_array(jsonb_build_object('id', 0, 'type', 'payment.created', 'data', '{}'::jsonb,
	'created_at', to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')))
	|| coalesce((SELECT jsonb_agg(jsonb_build_object('id', e.id, 'type', e.type, 'data', e.data,
	'created_at', to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) ORDER BY e.id)
	FROM payment_events e WHERE e.payment_id = p.id), '[]'::jsonb)`

// docPaymentExecutor is what executed_by is built from: the API key that
// made the payment (its id and name) when one did, otherwise the user
// (docPaymentColumns has the user's name and email). A key is never
// renamed, so its name needs no re-projection.
const docPaymentExecutor = `, p.api_key_id::text, coalesce(k.name, '')`

const docPaymentFrom = docPaymentExecutor + docPaymentEvents + ` FROM payments p
	LEFT JOIN customers c ON c.id = p.customer_id
	LEFT JOIN users u ON u.id = p.user_id
	LEFT JOIN api_keys k ON k.id = p.api_key_id `

func (v view) Payments(ctx context.Context, ids []string) ([]projection.Loaded[projection.PaymentDoc], error) {
	return queryPayments(ctx, v.tx, `SELECT `+docPaymentColumns+docPaymentFrom+`WHERE p.id = ANY($1::uuid[])`, ids)
}

func (v view) PaymentsOf(ctx context.Context, parent projection.Parent, afterID string, limit int) ([]projection.Loaded[projection.PaymentDoc], error) {
	col := "p.customer_id"
	if parent.Table == projection.TableUsers {
		col = "p.user_id"
	}
	if afterID == "" {
		afterID = zeroUUID
	}
	return queryPayments(ctx, v.tx, `SELECT `+docPaymentColumns+docPaymentFrom+
		`WHERE `+col+` = $1::uuid AND p.id > $2::uuid ORDER BY p.id LIMIT $3`, parent.ID, afterID, limit)
}

func (v view) Customers(ctx context.Context, ids []string) ([]projection.Loaded[projection.CustomerDoc], error) {
	return queryCustomers(ctx, v.tx, `SELECT `+docCustomerColumns+` FROM customers c`+customerJoin+`WHERE c.id = ANY($1::uuid[])`+customerGroup, ids)
}

func (v view) CustomerIDsOfUser(ctx context.Context, userID string) ([]string, error) {
	rows, err := v.tx.Query(ctx, `SELECT customer_id::text FROM customer_users WHERE user_id = $1::uuid`, userID)
	if err != nil {
		return nil, fmt.Errorf("replication: customers of user: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("replication: customers of user: %w", err)
	}
	return ids, nil
}

const zeroUUID = "00000000-0000-0000-0000-000000000000"

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func queryPayments(ctx context.Context, q querier, sql string, args ...any) ([]projection.Loaded[projection.PaymentDoc], error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("replication: read payments: %w", err)
	}
	defer rows.Close()
	var out []projection.Loaded[projection.PaymentDoc]
	for rows.Next() {
		var d projection.PaymentDoc
		var status, keyName string
		var date, created, updated, processed pgtype.Timestamptz
		if err := rows.Scan(&d.ID, &d.PaymentRefID, &d.CustomerID, &d.UserID, &d.Amount, &d.Currency, &d.ThirdParty,
			&d.Description, &status, &date, &created, &updated,
			&d.FailureCode, &d.FailureMessage, &d.Attempts, &processed, &d.AmountRefunded,
			&d.CustomerName, &d.UserName, &d.UserEmail, &d.APIKeyID, &keyName, &d.Events); err != nil {
			return nil, fmt.Errorf("replication: read payments: %w", err)
		}
		d.Status = domain.Status(status)
		d.ExecutedBy = executor(d.PaymentView, keyName)
		var errs []error
		d.Date, errs = finite("date", date, errs)
		d.CreatedAt, errs = finite("created_at", created, errs)
		d.UpdatedAt, errs = finite("updated_at", updated, errs)
		if processed.Valid {
			var at time.Time
			at, errs = finite("processed_at", processed, errs)
			d.ProcessedAt = &at
		}
		out = append(out, projection.Loaded[projection.PaymentDoc]{ID: d.ID, Doc: d, Err: errors.Join(errs...)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("replication: read payments: %w", err)
	}
	return out, nil
}

// executor is who executed payment p: its API key (named keyName) when it
// has one, otherwise its user.
func executor(p domain.PaymentView, keyName string) domain.Executor {
	if p.APIKeyID != nil {
		return domain.Executor{Type: domain.ExecutorAPIKey, ID: *p.APIKeyID, Name: keyName}
	}
	email := p.UserEmail
	return domain.Executor{Type: domain.ExecutorUser, ID: p.UserID, Name: p.UserName, Email: &email}
}

// finite converts a timestamp; ±infinity cannot be a document date.
func finite(col string, ts pgtype.Timestamptz, errs []error) (time.Time, []error) {
	if !ts.Valid || ts.InfinityModifier != pgtype.Finite {
		return time.Time{}, append(errs, fmt.Errorf("%s is not a finite timestamp", col))
	}
	return ts.Time.UTC(), errs
}

// docCustomerColumns reads a customer's access document: the customer, its
// linked users (aggregated over customerJoin) and its live API keys (a
// correlated aggregate, so keys and links do not multiply each other).
const docCustomerColumns = `c.id::text, c.name, c.email, c.created_at, c.updated_at,
	coalesce(jsonb_agg(jsonb_build_object('id', u.id, 'name', u.name, 'email', u.email)) FILTER (WHERE u.id IS NOT NULL), '[]'::jsonb),
	coalesce((SELECT jsonb_agg(jsonb_build_object('id', k.id, 'name', k.name, 'prefix', k.prefix,
		'hash', encode(k.secret_hash, 'hex'), 'scopes', to_jsonb(k.scopes)) ORDER BY k.id)
	FROM api_keys k WHERE k.customer_id = c.id AND k.revoked_at IS NULL), '[]'::jsonb)`

// customerJoin follows a FROM item aliased c with the customer's links.
const customerJoin = `
	LEFT JOIN customer_users cu ON cu.customer_id = c.id
	LEFT JOIN users u ON u.id = cu.user_id `

const customerGroup = ` GROUP BY c.id, c.name, c.email, c.created_at, c.updated_at`

func queryCustomers(ctx context.Context, q querier, sql string, args ...any) ([]projection.Loaded[projection.CustomerDoc], error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("replication: read customers: %w", err)
	}
	defer rows.Close()
	var out []projection.Loaded[projection.CustomerDoc]
	for rows.Next() {
		var c projection.CustomerRow
		var created, updated pgtype.Timestamptz
		var users []projection.CustomerUser
		var keys []projection.CustomerAPIKey
		if err := rows.Scan(&c.ID, &c.Name, &c.Email, &created, &updated, &users, &keys); err != nil {
			return nil, fmt.Errorf("replication: read customers: %w", err)
		}
		var errs []error
		c.CreatedAt, errs = finite("created_at", created, errs)
		c.UpdatedAt, errs = finite("updated_at", updated, errs)
		out = append(out, projection.Loaded[projection.CustomerDoc]{ID: c.ID, Doc: projection.NewCustomerDoc(c, users, keys), Err: errors.Join(errs...)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("replication: read customers: %w", err)
	}
	return out, nil
}
