package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

// ProjectorStore is the projector's state in PostgreSQL
// (projection.StateStore): its own tables (migration 00003: dead letters and
// the record of completed backfills), the catalog queries it needs, the
// leader lock and backfill snapshots. It is safe for concurrent use.
type ProjectorStore struct {
	Pool *pgxpool.Pool
	// URL is the database's address, for the sessions that must be their
	// own connection (the leader lock, an imported snapshot).
	URL string
}

var _ projection.StateStore = (*ProjectorStore)(nil)

// Ping checks that PostgreSQL answers.
func (s *ProjectorStore) Ping(ctx context.Context) error {
	if err := s.Pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// OpenSnapshot implements projection.StateStore.
func (s *ProjectorStore) OpenSnapshot(ctx context.Context, name string) (projection.Snapshot, error) {
	snap, err := OpenSnapshot(ctx, s.URL, name)
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return snap, nil
}

// Leader implements projection.StateStore.
func (s *ProjectorStore) Leader(ctx context.Context, slot string) (projection.Leader, error) {
	l, err := NewLeader(ctx, s.URL, slot)
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return l, nil
}

// AddDeadLetters implements projection.DeadLetters.
func (s *ProjectorStore) AddDeadLetters(ctx context.Context, dls []projection.DeadLetter) error {
	batch := &pgx.Batch{}
	for _, d := range dls {
		var payload any
		if len(d.Payload) > 0 && json.Valid(d.Payload) {
			payload = string(d.Payload)
		}
		batch.Queue(`INSERT INTO projector_dead_letters (doc_index, doc_id, lsn, error, payload)
			VALUES ($1, $2, $3::pg_lsn, $4, $5::jsonb)`, d.Index, d.ID, domain.FormatLSN(d.LSN), d.Error, payload)
	}
	if err := s.Pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("replication: add dead letters: %w", err)
	}
	return nil
}

// PendingDeadLetters counts the dead letters of the given indices that were
// not re-driven yet.
func (s *ProjectorStore) PendingDeadLetters(ctx context.Context, indices []string) (int64, error) {
	var n int64
	err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM projector_dead_letters WHERE redriven_at IS NULL AND doc_index = ANY($1)`, indices).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("replication: count dead letters: %w", err)
	}
	return n, nil
}

// Redrive marks up to limit pending dead letters of indices as re-driven and,
// in the same transaction, emits a transactional logical decoding message
// naming their documents. The active projector receives it in commit order
// and re-indexes those documents from their current state (a failure there
// dead-letters them again). It returns the number of documents named.
func (s *ProjectorStore) Redrive(ctx context.Context, indices []string, limit int) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE projector_dead_letters SET redriven_at = now()
			WHERE id IN (SELECT id FROM projector_dead_letters
			             WHERE redriven_at IS NULL AND doc_index = ANY($1) ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING doc_index, doc_id`, indices, limit)
		if err != nil {
			return err
		}
		seen := map[projection.RedriveDoc]bool{}
		var msg projection.RedriveMessage
		for rows.Next() {
			var d projection.RedriveDoc
			if err := rows.Scan(&d.Index, &d.ID); err != nil {
				return err
			}
			if !seen[d] {
				seen[d] = true
				msg.Docs = append(msg.Docs, d)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(msg.Docs)
		return emitRedrive(ctx, tx, msg)
	})
	if err != nil {
		return 0, fmt.Errorf("replication: redrive: %w", err)
	}
	return n, nil
}

// RequestRebuild asks the active projector of indexPrefix to rebuild the
// read model beside the stream: a transactional logical decoding message
// it receives in commit order.
func (s *ProjectorStore) RequestRebuild(ctx context.Context, indexPrefix, reason string) error {
	body, err := json.Marshal(projection.RebuildMessage{IndexPrefix: indexPrefix, Reason: reason})
	if err != nil {
		return err
	}
	if err := emitMessage(ctx, s.Pool, projection.RebuildPrefix, body); err != nil {
		return fmt.Errorf("replication: request rebuild: %w", err)
	}
	return nil
}

var _ projection.Reprojector = (*ProjectorStore)(nil)

// Reproject implements projection.Reprojector: one transaction emitting
// the redrive messages (of up to 1,000 documents each) that name docs, as
// Redrive does for dead letters.
func (s *ProjectorStore) Reproject(ctx context.Context, docs []projection.RedriveDoc) error {
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		for len(docs) > 0 {
			n := min(len(docs), 1000)
			if err := emitRedrive(ctx, tx, projection.RedriveMessage{Docs: docs[:n]}); err != nil {
				return err
			}
			docs = docs[n:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replication: reproject: %w", err)
	}
	return nil
}

// emitRedrive emits msg as a transactional logical decoding message in tx:
// the active projector receives it in commit order and re-indexes its
// documents from their current state, with the message's commit LSN as
// version (projection.Planner).
func emitRedrive(ctx context.Context, tx pgx.Tx, msg projection.RedriveMessage) error {
	if len(msg.Docs) == 0 {
		return nil
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return emitMessage(ctx, tx, projection.RedrivePrefix, body)
}

// emitMessage emits a transactional logical decoding message: the active
// projector receives it in commit order with the transaction carrying it.
func emitMessage(ctx context.Context, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, prefix string, body []byte) error {
	_, err := q.Exec(ctx, `SELECT pg_logical_emit_message(true, $1, $2::text)`, prefix, string(body))
	return err
}

// GetBackfill returns the completed backfill of slot or projection.ErrNoBackfill.
func (s *ProjectorStore) GetBackfill(ctx context.Context, slot string) (projection.Backfill, error) {
	b := projection.Backfill{Slot: slot}
	var lsn string
	err := s.Pool.QueryRow(ctx, `SELECT index_prefix, consistent_lsn::text, payments_index, customers_index, schema_fingerprint, documents
		FROM projector_backfills WHERE slot_name = $1`, slot).
		Scan(&b.IndexPrefix, &lsn, &b.PaymentsIndex, &b.CustomersIndex, &b.Fingerprint, &b.Documents)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, projection.ErrNoBackfill
	}
	if err != nil {
		return b, fmt.Errorf("replication: get backfill: %w", err)
	}
	b.ConsistentLSN, err = domain.ParseLSN(lsn)
	return b, err
}

// DeleteBackfill forgets the backfill of slot; it is called before the slot
// is (re)created.
func (s *ProjectorStore) DeleteBackfill(ctx context.Context, slot string) error {
	if _, err := s.Pool.Exec(ctx, `DELETE FROM projector_backfills WHERE slot_name = $1`, slot); err != nil {
		return fmt.Errorf("replication: delete backfill: %w", err)
	}
	return nil
}

// PutBackfill records a completed backfill.
func (s *ProjectorStore) PutBackfill(ctx context.Context, b projection.Backfill) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO projector_backfills
		(slot_name, index_prefix, consistent_lsn, payments_index, customers_index, schema_fingerprint, documents)
		VALUES ($1, $2, $3::pg_lsn, $4, $5, $6, $7)
		ON CONFLICT (slot_name) DO UPDATE SET index_prefix = EXCLUDED.index_prefix, consistent_lsn = EXCLUDED.consistent_lsn,
			payments_index = EXCLUDED.payments_index, customers_index = EXCLUDED.customers_index,
			schema_fingerprint = EXCLUDED.schema_fingerprint, documents = EXCLUDED.documents, completed_at = now()`,
		b.Slot, b.IndexPrefix, domain.FormatLSN(b.ConsistentLSN), b.PaymentsIndex, b.CustomersIndex, b.Fingerprint, b.Documents)
	if err != nil {
		return fmt.Errorf("replication: put backfill: %w", err)
	}
	return nil
}

// Ready reports nil when the publication and the projector's tables exist
// (the command API applies the migrations), or an error naming what is
// missing.
func (s *ProjectorStore) Ready(ctx context.Context, publication string) error {
	var pub, dl, bf bool
	err := s.Pool.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1),
		to_regclass('projector_dead_letters') IS NOT NULL,
		to_regclass('projector_backfills') IS NOT NULL`, publication).Scan(&pub, &dl, &bf)
	if err != nil {
		return fmt.Errorf("replication: check schema: %w", err)
	}
	if !pub || !dl || !bf {
		return fmt.Errorf("replication: waiting for migrations: publication %s exists=%t, projector tables exist=%t", publication, pub, dl && bf)
	}
	return nil
}

// Slot describes the slot named name in the current database.
func (s *ProjectorStore) Slot(ctx context.Context, name string) (projection.SlotState, error) {
	var st projection.SlotState
	var cur string
	var confirmed *string
	var pid *int32
	var plugin, walStatus *string
	var retained *int64
	err := s.Pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text, s.slot_name IS NOT NULL, coalesce(s.active, false), s.active_pid,
			s.plugin, s.wal_status, s.confirmed_flush_lsn::text, pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint
		FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = $1 AND s.database = current_database()`, name).
		Scan(&cur, &st.Exists, &st.Active, &pid, &plugin, &walStatus, &confirmed, &retained)
	if err != nil {
		return st, fmt.Errorf("replication: slot %s: %w", name, err)
	}
	if pid != nil {
		st.ActivePID = *pid
	}
	if plugin != nil {
		st.Plugin = *plugin
	}
	if walStatus != nil {
		st.WALStatus = *walStatus
	}
	if retained != nil {
		st.RetainedWAL = *retained
	}
	if confirmed != nil {
		if st.Confirmed, err = domain.ParseLSN(*confirmed); err != nil {
			return st, err
		}
	}
	st.CurrentWAL, err = domain.ParseLSN(cur)
	return st, err
}

// TerminateSlotHolder ends the backend that holds slot active (a walsender
// of a projector that died without its session ending yet).
func (s *ProjectorStore) TerminateSlotHolder(ctx context.Context, name string) error {
	_, err := s.Pool.Exec(ctx, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
		WHERE slot_name = $1 AND active_pid IS NOT NULL`, name)
	if err != nil {
		return fmt.Errorf("replication: terminate slot holder: %w", err)
	}
	return nil
}

// Leader is a session-level advisory lock that makes one projector per slot
// the active one. It holds its own connection: the lock lives exactly as
// long as that session, so a crashed holder releases it when PostgreSQL
// notices the closed connection.
type Leader struct {
	conn *pgx.Conn
	key  int64
}

// LockKey derives the advisory lock key of slot.
func LockKey(slot string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("wildcat.projector:" + slot))
	return int64(h.Sum64())
}

// NewLeader opens the dedicated session the lock lives in; call TryLock
// until it succeeds. The session is not safe for concurrent use.
func NewLeader(ctx context.Context, url, slot string) (*Leader, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("replication: leader: %w", err)
	}
	cfg.RuntimeParams["application_name"] = "wildcat-projector-leader"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("replication: leader: connect: %w", err)
	}
	return &Leader{conn: conn, key: LockKey(slot)}, nil
}

// TryLock tries to take the lock once; false means another session holds
// it.
func (l *Leader) TryLock(ctx context.Context) (bool, error) {
	var ok bool
	if err := l.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&ok); err != nil {
		return false, fmt.Errorf("replication: leader: lock: %w", err)
	}
	return ok, nil
}

// Check verifies that the session holding the lock is still alive.
func (l *Leader) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := l.conn.Ping(ctx); err != nil {
		return fmt.Errorf("replication: leader session lost: %w", err)
	}
	return nil
}

// Release gives the lock up by ending its session.
func (l *Leader) Release() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = l.conn.Close(ctx)
}
