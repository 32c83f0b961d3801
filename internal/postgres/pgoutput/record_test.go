package pgoutput

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

// The recorded session (testdata/session.json, described in
// testdata/README.md): what a real server sent for the workload below, and
// what the workload's own SQL said about each step. The unit tests in
// decode_test.go replay it through the decoder with no server.
const sessionFile = "testdata/session.json"

// recording is the format of sessionFile.
type recording struct {
	Comment     string            `json:"comment"`
	Server      string            `json:"server_version"`
	Publication string            `json:"publication"`
	PluginArgs  []string          `json:"plugin_args"`
	Start       string            `json:"start_lsn"`   // the slot's consistent point, where streaming started
	Fingerprint map[string]string `json:"fingerprint"` // postgres.Snapshot.Fingerprint at the consistent point
	Steps       []stepFacts       `json:"steps"`
	Messages    []recorded        `json:"messages"`
}

// stepFacts is what the workload learnt about one step from the server,
// independently of the decoder.
type stepFacts struct {
	Name string   `json:"name"`
	SQL  []string `json:"sql,omitempty"`
	// Xid is the step's transaction id (pg_current_xact_id()); 0 for a
	// step outside a transaction.
	Xid uint32 `json:"xid,omitempty"`
	// CommitLSN and EndLSN are the start and end of its commit record,
	// read from the WAL with pg_walinspect.
	CommitLSN string `json:"commit_lsn,omitempty"`
	EndLSN    string `json:"end_lsn,omitempty"`
	// Before and After are the server's clock_timestamp() just before the
	// transaction began and just after it committed.
	Before time.Time `json:"before,omitzero"`
	After  time.Time `json:"after,omitzero"`
}

// recorded is one CopyData payload of the replication stream, in the order
// the server sent it.
type recorded struct {
	Step string `json:"step"` // the workload step running when it arrived ("" before the first)
	What string `json:"what"` // for readers only: the message as pglogrepl parses it
	Data []byte `json:"data"` // the payload: 'w' XLogData or 'k' primary keepalive, header included
}

// Fixed ids keep the recording readable and let the tests name values.
const (
	alice    = "00000000-0000-4000-8000-0000000000a1"
	bob      = "00000000-0000-4000-8000-0000000000a2"
	acme     = "00000000-0000-4000-8000-0000000000c1"
	payment1 = "00000000-0000-7000-8000-000000000001"
	// bulkRows payments of the bulk step have ids bulkID(1…bulkRows).
	bulkRows = 25
)

func bulkID(i int) string { return fmt.Sprintf("00000000-0000-7000-8000-0000000001%02d", i) }

// Step names, shared by the workload and the tests' expectations.
const (
	stepUsers          = "insert users"
	stepCustomer       = "insert customer and link"
	stepIdle           = "idle until the server asks for a reply"
	stepPayment        = "insert payment"
	stepPaymentStatus  = "update payment status"
	stepCustomerRename = "rename customer"
	stepLinks          = "add one link, remove another"
	stepUserUpdate     = "update user name and e-mail"
	stepPassword       = "change a password (unpublished column)"
	stepPaymentDelete  = "delete payment"
	stepBulk           = "insert many payments in one transaction"
	stepRedrive        = "redrive message"
	stepNonTxMessage   = "non-transactional message"
	stepTruncate       = "truncate payments"
	stepUserDelete     = "delete a user (cascades to its link)"
	stepAddColumn      = "add a column to customers"
	stepCustomerNote   = "update customers with the new column"
	stepRenameTable    = "rename customer_users and insert into it"
)

// wait says what the recorder reads before the step counts as streamed.
type wait uint8

const (
	waitCommit  wait = iota // the commit of the step's transaction
	waitNothing             // nothing is streamed (DDL only); the keepalive after it shows that
	waitMessage             // a non-transactional logical message
	waitPing                // a keepalive with reply requested, sent by the server on its own
)

type workStep struct {
	name string
	sql  []string
	wait wait
}

// workload is the recorded session's workload on the project's schema:
// every kind of message the decoder handles, in this order.
func workload() []workStep {
	bulk := fmt.Sprintf(`INSERT INTO payments (id, customer_id, user_id, amount, currency, third_party)
		SELECT format('00000000-0000-7000-8000-0000000001%%s', lpad(i::text, 2, '0'))::uuid,
		       '%s', '%s', 100 * i, 'EUR', 'Bulk supplier' FROM generate_series(1, %d) AS i`, acme, bob, bulkRows)
	redrive := fmt.Sprintf(`{"docs":[{"index":"payments","id":"%s"}]}`, bulkID(1))
	return []workStep{
		{name: stepUsers, sql: []string{fmt.Sprintf(`INSERT INTO users (id, email, name, password_hash) VALUES
			('%s', 'alice@example.com', 'Alice', 'hash-a'), ('%s', 'bob@example.com', 'Bob', 'hash-b')`, alice, bob)}},
		{name: stepCustomer, sql: []string{
			fmt.Sprintf(`INSERT INTO customers (id, name, email) VALUES ('%s', 'Acme', 'billing@acme.example')`, acme),
			fmt.Sprintf(`INSERT INTO customer_users (customer_id, user_id) VALUES ('%s', '%s')`, acme, alice)}},
		{name: stepIdle, wait: waitPing},
		{name: stepPayment, sql: []string{fmt.Sprintf(`INSERT INTO payments (id, payment_ref_id, customer_id, user_id, amount, currency, third_party, description)
			VALUES ('%s', '00000000-0000-7000-8000-0000000000f1', '%s', '%s', 1250, 'DKK', 'Bike shop', 'a bike')`, payment1, acme, alice)}},
		{name: stepPaymentStatus, sql: []string{fmt.Sprintf(`UPDATE payments SET status = 'succeeded', updated_at = now() WHERE id = '%s'`, payment1)}},
		{name: stepCustomerRename, sql: []string{fmt.Sprintf(`UPDATE customers SET name = 'Acme Holdings', updated_at = now() WHERE id = '%s'`, acme)}},
		{name: stepLinks, sql: []string{
			fmt.Sprintf(`INSERT INTO customer_users (customer_id, user_id) VALUES ('%s', '%s')`, acme, bob),
			fmt.Sprintf(`DELETE FROM customer_users WHERE customer_id = '%s' AND user_id = '%s'`, acme, alice)}},
		{name: stepUserUpdate, sql: []string{fmt.Sprintf(`UPDATE users SET name = 'Alice Smith', email = 'alice.smith@example.com' WHERE id = '%s'`, alice)}},
		{name: stepPassword, sql: []string{fmt.Sprintf(`UPDATE users SET password_hash = 'hash-b2' WHERE id = '%s'`, bob)}},
		{name: stepPaymentDelete, sql: []string{fmt.Sprintf(`DELETE FROM payments WHERE id = '%s'`, payment1)}},
		{name: stepBulk, sql: []string{bulk}},
		// As `projector redrive` sends it: with a write to an unpublished table.
		{name: stepRedrive, sql: []string{
			fmt.Sprintf(`INSERT INTO projector_dead_letters (doc_index, doc_id, lsn, error, redriven_at) VALUES ('payments', '%s', '0/1', 'recorded', now())`, bulkID(1)),
			fmt.Sprintf(`SELECT pg_logical_emit_message(true, 'wildcat.projector.redrive', '%s')`, redrive)}},
		{name: stepNonTxMessage, sql: []string{`SELECT pg_logical_emit_message(false, 'wildcat.recording', 'not transactional')`}, wait: waitMessage},
		{name: stepTruncate, sql: []string{`TRUNCATE payments`}},
		{name: stepUserDelete, sql: []string{fmt.Sprintf(`DELETE FROM users WHERE id = '%s'`, bob)}},
		{name: stepAddColumn, sql: []string{`ALTER TABLE customers ADD COLUMN note text`}, wait: waitNothing},
		{name: stepCustomerNote, sql: []string{fmt.Sprintf(`UPDATE customers SET note = 'vip' WHERE id = '%s'`, acme)}},
		{name: stepRenameTable, sql: []string{
			`ALTER TABLE customer_users RENAME TO customer_links`,
			fmt.Sprintf(`INSERT INTO customer_links (customer_id, user_id) VALUES ('%s', '%s')`, acme, alice)}},
	}
}

// TestRecordSession records sessionFile from the server named by
// TEST_DATABASE_URL. It runs only with PGOUTPUT_RECORD=1:
//
//	PGOUTPUT_RECORD=1 TEST_DATABASE_URL=$(scripts/postgres.sh admin-url) \
//	  go test -run TestRecordSession -count=1 ./internal/postgres/pgoutput/
//
// The role must be a superuser (pg_walinspect, wal_sender_timeout).
func TestRecordSession(t *testing.T) {
	if os.Getenv("PGOUTPUT_RECORD") != "1" {
		t.Skip("set PGOUTPUT_RECORD=1 (and TEST_DATABASE_URL) to re-record " + sessionFile)
	}
	url := testenv.MustDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool, testenv.Logger(t)); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if _, err := pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_walinspect`); err != nil {
		t.Fatal(err)
	}
	r := startRecorder(ctx, t, url, pool)
	defer r.conn.Close(context.Background())
	r.keepalive(ctx)
	for _, s := range workload() {
		r.run(ctx, pool, s)
	}
	r.save()
}

// recorder reads the replication session and keeps every payload.
type recorder struct {
	t         *testing.T
	conn      *pgconn.PgConn
	rec       recording
	step      string
	relations map[uint32]string
	xid       uint32 // of the last Begin
	committed map[uint32]bool
	messages  int    // non-transactional messages seen
	pings     int    // keepalives with reply requested seen
	acked     uint64 // end of the last commit
}

// startRecorder creates the slot, takes the publication's fingerprint from
// its exported snapshot, as a backfill does, and starts streaming with the
// stream's own plugin arguments.
func startRecorder(ctx context.Context, t *testing.T, url string, pool *pgxpool.Pool) *recorder {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["replication"] = "database"
	cfg.RuntimeParams["application_name"] = "wildcat-pgoutput-recorder"
	// Short, so that the server asks for a reply (stepIdle) within seconds.
	cfg.RuntimeParams["wal_sender_timeout"] = "4s"
	pg, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &Conn{pg: pg}
	slot, err := c.CreateSlot(ctx, "pgoutput_recording")
	if err != nil {
		t.Fatal(err)
	}
	const publication = "wildcat_projection"
	snap, err := postgres.OpenSnapshot(ctx, url, slot.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := snap.Fingerprint(ctx, publication)
	snap.Close()
	if err != nil {
		t.Fatal(err)
	}
	var version string
	if err := pool.QueryRow(ctx, `SHOW server_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	args := pluginArgs(publication)
	err = pglogrepl.StartReplication(ctx, pg, slot.Name, pglogrepl.LSN(slot.ConsistentPoint),
		pglogrepl.StartReplicationOptions{Mode: pglogrepl.LogicalReplication, PluginArgs: args})
	if err != nil {
		t.Fatal(err)
	}
	return &recorder{t: t, conn: pg, relations: map[uint32]string{}, committed: map[uint32]bool{}, acked: slot.ConsistentPoint,
		rec: recording{
			Comment: "Recorded by TestRecordSession (record_test.go); format and how to re-record: testdata/README.md.",
			Server:  version, Publication: publication, PluginArgs: args,
			Start: domain.FormatLSN(slot.ConsistentPoint), Fingerprint: fp,
		}}
}

// run executes one step, reads until the server has streamed it, then
// asks for a keepalive, so one follows every step.
func (r *recorder) run(ctx context.Context, pool *pgxpool.Pool, s workStep) {
	r.step = s.name
	for i, q := range s.sql {
		s.sql[i] = strings.Join(strings.Fields(q), " ")
	}
	facts := stepFacts{Name: s.name, SQL: s.sql}
	if len(s.sql) > 0 {
		facts = r.exec(ctx, pool, s)
	}
	switch s.wait {
	case waitCommit:
		r.until(ctx, func() bool { return r.committed[facts.Xid] })
	case waitMessage:
		n := r.messages
		r.until(ctx, func() bool { return r.messages > n })
	case waitPing:
		// Say nothing until the server asks (after wal_sender_timeout/2).
		n := r.pings
		r.until(ctx, func() bool { return r.pings > n })
	}
	r.rec.Steps = append(r.rec.Steps, facts)
	r.keepalive(ctx)
}

// exec runs the step's statements (in one transaction unless the step
// waits for a non-transactional message) and learns its facts.
func (r *recorder) exec(ctx context.Context, pool *pgxpool.Pool, s workStep) stepFacts {
	t := r.t
	f := stepFacts{Name: s.name, SQL: s.sql}
	var from string
	if err := pool.QueryRow(ctx, `SELECT clock_timestamp(), pg_current_wal_insert_lsn()::text`).Scan(&f.Before, &from); err != nil {
		t.Fatal(err)
	}
	if s.wait == waitMessage {
		for _, q := range s.sql {
			if _, err := pool.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
	} else {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range s.sql {
			if _, err := tx.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		if err := tx.QueryRow(ctx, `SELECT xid(pg_current_xact_id())::text::bigint`).Scan(&f.Xid); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		f.CommitLSN, f.EndLSN = r.commitRecord(ctx, pool, from, f.Xid)
	}
	if err := pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&f.After); err != nil {
		t.Fatal(err)
	}
	return f
}

// commitRecord reads the start and end of xid's commit record from the WAL.
func (r *recorder) commitRecord(ctx context.Context, pool *pgxpool.Pool, from string, xid uint32) (start, end string) {
	err := pool.QueryRow(ctx, `SELECT start_lsn::text, end_lsn::text
		FROM pg_get_wal_records_info($1::pg_lsn, pg_current_wal_flush_lsn())
		WHERE resource_manager = 'Transaction' AND record_type = 'COMMIT' AND xid::text = $2::text`, from, fmt.Sprint(xid)).Scan(&start, &end)
	if err != nil {
		r.t.Fatalf("commit record of %d: %v", xid, err)
	}
	return start, end
}

// keepalive asks the server for a keepalive and reads until one arrives.
func (r *recorder) keepalive(ctx context.Context) {
	r.status(true)
	before := len(r.rec.Messages)
	r.until(ctx, func() bool {
		for _, m := range r.rec.Messages[before:] {
			if m.Data[0] == pglogrepl.PrimaryKeepaliveMessageByteID {
				return true
			}
		}
		return false
	})
}

func (r *recorder) status(reply bool) {
	lsn := pglogrepl.LSN(r.acked)
	err := pglogrepl.SendStandbyStatusUpdate(context.Background(), r.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: lsn, WALFlushPosition: lsn, WALApplyPosition: lsn, ReplyRequested: reply})
	if err != nil {
		r.t.Fatal(err)
	}
}

// until records the server's messages until done reports true.
func (r *recorder) until(ctx context.Context, done func() bool) {
	for !done() {
		msg, err := r.conn.ReceiveMessage(ctx)
		if err != nil {
			r.t.Fatalf("receive during %q: %v", r.step, err)
		}
		cd, ok := msg.(*pgproto3.CopyData)
		if !ok {
			r.t.Fatalf("during %q: unexpected %T %+v", r.step, msg, msg)
		}
		r.keep(append([]byte(nil), cd.Data...))
	}
}

// keep appends one payload, noting what it is for readers and for until.
func (r *recorder) keep(data []byte) {
	what := r.describe(data)
	r.rec.Messages = append(r.rec.Messages, recorded{Step: r.step, What: what, Data: data})
}

// describe says what a payload is and tracks what until waits for.
func (r *recorder) describe(data []byte) string {
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			r.t.Fatal(err)
		}
		if ka.ReplyRequested {
			r.pings++
			r.status(false)
			return "keepalive " + ka.ServerWALEnd.String() + ", reply requested"
		}
		return "keepalive " + ka.ServerWALEnd.String()
	case pglogrepl.XLogDataByteID:
		xld, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			r.t.Fatal(err)
		}
		msg, err := pglogrepl.Parse(xld.WALData)
		if err != nil {
			r.t.Fatal(err)
		}
		return r.describeWAL(msg)
	}
	return "unknown"
}

func (r *recorder) describeWAL(msg pglogrepl.Message) string {
	switch m := msg.(type) {
	case *pglogrepl.BeginMessage:
		r.xid = m.Xid
		return fmt.Sprintf("begin xid %d, final LSN %s", m.Xid, m.FinalLSN)
	case *pglogrepl.CommitMessage:
		r.committed[r.xid] = true
		r.acked = uint64(m.TransactionEndLSN)
		return fmt.Sprintf("commit %s, end %s", m.CommitLSN, m.TransactionEndLSN)
	case *pglogrepl.RelationMessage:
		r.relations[m.RelationID] = m.Namespace + "." + m.RelationName
		return fmt.Sprintf("relation %d %s, %d columns", m.RelationID, r.relations[m.RelationID], m.ColumnNum)
	case *pglogrepl.InsertMessage:
		return "insert into " + r.relations[m.RelationID]
	case *pglogrepl.UpdateMessage:
		return "update of " + r.relations[m.RelationID]
	case *pglogrepl.DeleteMessage:
		return "delete from " + r.relations[m.RelationID]
	case *pglogrepl.TruncateMessage:
		return fmt.Sprintf("truncate of %d relations", m.RelationNum)
	case *pglogrepl.LogicalDecodingMessage:
		if !m.Transactional {
			r.messages++
		}
		return fmt.Sprintf("message %s, transactional %t", m.Prefix, m.Transactional)
	}
	return msg.Type().String()
}

// save writes the recording with one message per line, so a re-recording
// reads as a diff of messages.
func (r *recorder) save() {
	msgs := r.rec.Messages
	r.rec.Messages = nil
	head, err := json.MarshalIndent(r.rec, "", "  ")
	if err != nil {
		r.t.Fatal(err)
	}
	var b bytes.Buffer
	b.Write(bytes.TrimSuffix(head, []byte("null\n}")))
	b.WriteString("[\n")
	for i, m := range msgs {
		line, err := json.Marshal(m)
		if err != nil {
			r.t.Fatal(err)
		}
		b.WriteString("    ")
		b.Write(line)
		if i < len(msgs)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("  ]\n}\n")
	if err := os.MkdirAll(filepath.Dir(sessionFile), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(sessionFile, b.Bytes(), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.t.Logf("recorded %d messages of %d steps in %s", len(msgs), len(r.rec.Steps), sessionFile)
}

// loadRecording reads sessionFile.
func loadRecording(t *testing.T) recording {
	t.Helper()
	b, err := os.ReadFile(sessionFile)
	if err != nil {
		t.Fatalf("%v (re-record: see testdata/README.md)", err)
	}
	var rec recording
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatalf("%s: %v", sessionFile, err)
	}
	return rec
}
