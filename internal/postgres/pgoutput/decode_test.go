package pgoutput

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
)

// These tests replay the session recorded from a real server
// (testdata/session.json, see testdata/README.md) through the decoder: no
// server is needed. Expected LSNs, xids and commit times come from the
// workload's own SQL and the WAL (pg_walinspect), not from the decoder.

// out is one thing the decoder produced and the message that produced it.
type out struct {
	at int // index of the message in recording.Messages
	frame
}

func (o out) isTx() bool { return o.tx != nil && !o.tx.Keepalive }

// replay feeds every recorded message to a fresh decoder that resumes at
// the recording's start.
func replay(t *testing.T, rec recording, chunk int, fingerprint map[string]string) []out {
	t.Helper()
	d := newDecoder(mustLSN(t, rec.Start), chunk, fingerprint)
	return feed(t, d, rec.Messages, 0)
}

// feed passes msgs to d; indices in the result start at first.
func feed(t *testing.T, d *decoder, msgs []recorded, first int) []out {
	t.Helper()
	var outs []out
	for i, m := range msgs {
		f, err := d.copyData(m.Data)
		if err != nil {
			t.Fatalf("message %d (%s, %s): %v", first+i, m.Step, m.What, err)
		}
		outs = append(outs, out{at: first + i, frame: f})
	}
	return outs
}

// txs are the transactions (and chunks) among outs, in order.
func txs(outs []out) []projection.Tx {
	var r []projection.Tx
	for _, o := range outs {
		if o.isTx() {
			r = append(r, *o.tx)
		}
	}
	return r
}

// byXid groups the chunks of each transaction.
func byXid(outs []out) map[uint32][]projection.Tx {
	m := map[uint32][]projection.Tx{}
	for _, tx := range txs(outs) {
		m[tx.Xid] = append(m[tx.Xid], tx)
	}
	return m
}

func mustLSN(t *testing.T, s string) uint64 {
	t.Helper()
	lsn, err := domain.ParseLSN(s)
	if err != nil {
		t.Fatal(err)
	}
	return lsn
}

func step(t *testing.T, rec recording, name string) stepFacts {
	t.Helper()
	for _, s := range rec.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("the recording has no step %q; re-record (testdata/README.md)", name)
	return stepFacts{}
}

// messagesOf returns the recorded messages that arrived during a step,
// and the index of the first.
func messagesOf(rec recording, name string) ([]recorded, int) {
	first := -1
	var msgs []recorded
	for i, m := range rec.Messages {
		if m.Step == name {
			if first < 0 {
				first = i
			}
			msgs = append(msgs, m)
		}
	}
	return msgs, first
}

// find returns the first recorded message of a step whose description
// starts with what.
func find(t *testing.T, rec recording, stepName, what string) recorded {
	t.Helper()
	msgs, _ := messagesOf(rec, stepName)
	for _, m := range msgs {
		if strings.HasPrefix(m.What, what) {
			return m
		}
	}
	t.Fatalf("step %q has no %q message", stepName, what)
	return recorded{}
}

func TestRecordingUsesTheStreamsPluginArgs(t *testing.T) {
	rec := loadRecording(t)
	if want := pluginArgs(rec.Publication); !slices.Equal(rec.PluginArgs, want) {
		t.Fatalf("recorded with %q, the stream starts with %q: re-record (testdata/README.md)", rec.PluginArgs, want)
	}
}

// Every transaction of the workload is decoded once, in commit order, with
// the xid the transaction saw, the commit record's position and end as the
// WAL has them, and a commit time inside the transaction's lifetime.
func TestRecordedTransactionsMatchTheWAL(t *testing.T) {
	rec := loadRecording(t)
	decoded := txs(replay(t, rec, 1000, rec.Fingerprint))
	got := map[uint32][]projection.Tx{}
	var order []uint32
	for _, tx := range decoded {
		got[tx.Xid] = append(got[tx.Xid], tx)
		order = append(order, tx.Xid)
	}
	var want []uint32
	for _, s := range rec.Steps {
		if s.Xid == 0 {
			continue // no transaction: waiting, a non-transactional message
		}
		if s.Name == stepAddColumn {
			// DDL alone changes no published row: PostgreSQL 15+ sends
			// nothing for it.
			if len(got[s.Xid]) > 0 {
				t.Errorf("%s: transaction %d was decoded, but it changed no published row", s.Name, s.Xid)
			}
			continue
		}
		want = append(want, s.Xid)
		chunks := got[s.Xid]
		if len(chunks) != 1 {
			t.Errorf("%s: transaction %d decoded as %d transactions, want 1", s.Name, s.Xid, len(chunks))
			continue
		}
		tx := chunks[0]
		if tx.CommitLSN != mustLSN(t, s.CommitLSN) || tx.EndLSN != mustLSN(t, s.EndLSN) {
			t.Errorf("%s: commit %s end %s, the WAL says %s end %s", s.Name,
				domain.FormatLSN(tx.CommitLSN), domain.FormatLSN(tx.EndLSN), s.CommitLSN, s.EndLSN)
		}
		if tx.CommitTime.Before(s.Before) || tx.CommitTime.After(s.After) {
			t.Errorf("%s: commit time %s is outside the transaction's lifetime %s … %s", s.Name, tx.CommitTime, s.Before, s.After)
		}
		if tx.Partial || tx.Keepalive {
			t.Errorf("%s: Partial %t Keepalive %t", s.Name, tx.Partial, tx.Keepalive)
		}
	}
	if !slices.Equal(order, want) {
		t.Errorf("decoded transactions %v, want %v (the workload's, in commit order)", order, want)
	}
}

func str(s string) *string { return &s }

func rowOf(kv ...string) projection.Row {
	r := projection.Row{}
	for i := 0; i+1 < len(kv); i += 2 {
		r[kv[i]] = str(kv[i+1])
	}
	return r
}

type decoded struct {
	changes  []projection.Change
	messages []projection.Message
	resync   string
}

// expected is what each streamed step decodes to: its row changes with
// only the columns the planner reads (projection.PlannedColumns), the old
// tuple where the server sends one, its logical messages and the resync
// reason.
func expected(rec recording) map[string]decoded {
	var bulk []projection.Change
	for i := 1; i <= bulkRows; i++ {
		bulk = append(bulk, projection.Change{Table: projection.TablePayments, Op: projection.OpInsert, New: rowOf("id", bulkID(i))})
	}
	users, customers, links, payments := projection.TableUsers, projection.TableCustomers, projection.TableLinks, projection.TablePayments
	ins, upd, del := projection.OpInsert, projection.OpUpdate, projection.OpDelete
	return map[string]decoded{
		stepUsers: {changes: []projection.Change{
			{Table: users, Op: ins, New: rowOf("id", alice, "email", "alice@example.com", "name", "Alice")},
			{Table: users, Op: ins, New: rowOf("id", bob, "email", "bob@example.com", "name", "Bob")}}},
		stepCustomer: {changes: []projection.Change{
			{Table: customers, Op: ins, New: rowOf("id", acme, "name", "Acme")},
			{Table: links, Op: ins, New: rowOf("customer_id", acme, "user_id", alice)}}},
		stepPayment: {changes: []projection.Change{{Table: payments, Op: ins, New: rowOf("id", payment1)}}},
		// The default replica identity: no old tuple when the key is unchanged.
		stepPaymentStatus: {changes: []projection.Change{{Table: payments, Op: upd, New: rowOf("id", payment1)}}},
		// REPLICA IDENTITY FULL: the old name travels with the update.
		stepCustomerRename: {changes: []projection.Change{{Table: customers, Op: upd,
			New: rowOf("id", acme, "name", "Acme Holdings"), Old: rowOf("id", acme, "name", "Acme")}}},
		stepLinks: {changes: []projection.Change{
			{Table: links, Op: ins, New: rowOf("customer_id", acme, "user_id", bob)},
			{Table: links, Op: del, Old: rowOf("customer_id", acme, "user_id", alice)}}},
		stepUserUpdate: {changes: []projection.Change{{Table: users, Op: upd,
			New: rowOf("id", alice, "email", "alice.smith@example.com", "name", "Alice Smith")}}},
		// password_hash is outside the publication's column list, yet
		// the update is streamed with the published columns.
		stepPassword:      {changes: []projection.Change{{Table: users, Op: upd, New: rowOf("id", bob, "email", "bob@example.com", "name", "Bob")}}},
		stepPaymentDelete: {changes: []projection.Change{{Table: payments, Op: del, Old: rowOf("id", payment1)}}},
		stepBulk:          {changes: bulk},
		stepRedrive: {messages: []projection.Message{{Prefix: projection.RedrivePrefix,
			Content: fmt.Appendf(nil, `{"docs":[{"index":"payments","id":"%s"}]}`, bulkID(1))}}},
		stepTruncate: {resync: "truncate of public.payments"},
		// The default replica identity: the old tuple is the key, and the
		// other published columns come as NULL; the link goes by cascade.
		stepUserDelete: {changes: []projection.Change{
			{Table: users, Op: del, Old: projection.Row{"id": str(bob), "email": nil, "name": nil}},
			{Table: links, Op: del, Old: rowOf("customer_id", acme, "user_id", bob)}}},
		stepCustomerNote: {changes: []projection.Change{{Table: customers, Op: upd,
			New: rowOf("id", acme, "name", "Acme Holdings"), Old: rowOf("id", acme, "name", "Acme Holdings")}},
			resync: fmt.Sprintf("schema of public.customers changed: backfilled %q, now %q",
				rec.Fingerprint["public.customers"], rec.Fingerprint["public.customers"]+",note:25")},
		// The table is no longer one the projector knows: its rows are
		// dropped, and the read model must be rebuilt.
		stepRenameTable: {resync: "relation public.customer_users renamed to public.customer_links"},
	}
}

func TestRecordedChanges(t *testing.T) {
	rec := loadRecording(t)
	outs := replay(t, rec, 1000, rec.Fingerprint)
	// Decoded transactions must not share the payloads' memory (the
	// stream's receive buffers are reused): scribble over them.
	for _, m := range rec.Messages {
		clear(m.Data)
	}
	got := byXid(outs)
	want := expected(rec)
	for _, s := range rec.Steps {
		w, ok := want[s.Name]
		if !ok {
			continue
		}
		if len(got[s.Xid]) != 1 {
			t.Errorf("%s: %d transactions decoded for xid %d", s.Name, len(got[s.Xid]), s.Xid)
			continue
		}
		tx := got[s.Xid][0]
		if !reflect.DeepEqual(tx.Changes, w.changes) {
			t.Errorf("%s: changes\n%s\nwant\n%s", s.Name, formatChanges(tx.Changes), formatChanges(w.changes))
		}
		if !reflect.DeepEqual(tx.Messages, w.messages) {
			t.Errorf("%s: messages %q, want %q", s.Name, tx.Messages, w.messages)
		}
		if tx.Resync != w.resync {
			t.Errorf("%s: resync %q, want %q", s.Name, tx.Resync, w.resync)
		}
	}
	for name := range want {
		step(t, rec, name)
	}
}

// Without the backfill's fingerprint a new column asks for nothing: the
// resync of stepCustomerNote comes from comparing with it (and the
// fingerprint the backfill reads matches what the stream derives for
// every unchanged table, as no other step asks for a resync).
func TestSchemaChangeNeedsTheFingerprint(t *testing.T) {
	rec := loadRecording(t)
	tx := byXid(replay(t, rec, 1000, nil))[step(t, rec, stepCustomerNote).Xid]
	if len(tx) != 1 || tx[0].Resync != "" {
		t.Fatalf("without a fingerprint: %+v, want one transaction without resync", tx)
	}
}

// The relation cache keeps every published column's name and marks only
// the planned ones; the publication's column list keeps password_hash out
// of the stream altogether.
func TestRecordedRelations(t *testing.T) {
	rec := loadRecording(t)
	d := newDecoder(mustLSN(t, rec.Start), 1000, rec.Fingerprint)
	feed(t, d, rec.Messages, 0)
	var users *relation
	for _, rel := range d.relations {
		if rel.name == "public.users" {
			users = rel
		}
	}
	if users == nil {
		t.Fatal("no relation public.users")
	}
	if want := []string{"id", "email", "name", "created_at", "updated_at"}; !slices.Equal(users.columns, want) {
		t.Errorf("users columns %q, want %q", users.columns, want)
	}
	if want := []bool{true, true, true, false, false}; !slices.Equal(users.keep, want) {
		t.Errorf("users keep %v, want %v", users.keep, want)
	}
}

func formatChanges(cs []projection.Change) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %s op %d new %s old %s\n", c.Table, c.Op, formatRow(c.New), formatRow(c.Old))
	}
	return b.String()
}

func formatRow(r projection.Row) string {
	if r == nil {
		return "nil"
	}
	var kv []string
	for k, v := range r {
		if v == nil {
			kv = append(kv, k+"=NULL")
		} else {
			kv = append(kv, k+"="+*v)
		}
	}
	sort.Strings(kv)
	return "{" + strings.Join(kv, " ") + "}"
}

// A transaction larger than the chunk size is handed out as it is decoded:
// every chunk but the last is Partial with no end LSN, all carry the final
// commit LSN, and together they are the whole transaction.
func TestRecordedChunking(t *testing.T) {
	rec := loadRecording(t)
	whole := byXid(replay(t, rec, 1000, rec.Fingerprint))
	for _, size := range []int{1, 2, 10, bulkRows - 1, bulkRows, bulkRows + 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			chunked := byXid(replay(t, rec, size, rec.Fingerprint))
			if len(chunked) != len(whole) {
				t.Fatalf("%d transactions, want %d", len(chunked), len(whole))
			}
			for xid, chunks := range chunked {
				checkChunks(t, xid, size, chunks, whole[xid][0])
			}
		})
	}
	bulk := step(t, rec, stepBulk)
	for size, want := range map[int][]int{10: {10, 10, 5}, bulkRows: {bulkRows, 0}, bulkRows + 1: {bulkRows}} {
		var sizes []int
		for _, c := range byXid(replay(t, rec, size, rec.Fingerprint))[bulk.Xid] {
			sizes = append(sizes, len(c.Changes))
		}
		if !slices.Equal(sizes, want) {
			t.Errorf("chunk size %d: the bulk transaction came in chunks of %v changes, want %v", size, sizes, want)
		}
	}
}

func checkChunks(t *testing.T, xid uint32, size int, chunks []projection.Tx, whole projection.Tx) {
	t.Helper()
	var changes []projection.Change
	var messages []projection.Message
	for i, c := range chunks {
		last := i == len(chunks)-1
		if c.Partial == last || (c.EndLSN != 0) != last {
			t.Errorf("xid %d chunk %d of %d: Partial %t EndLSN %d", xid, i+1, len(chunks), c.Partial, c.EndLSN)
		}
		if c.Xid != whole.Xid || c.CommitLSN != whole.CommitLSN || !c.CommitTime.Equal(whole.CommitTime) {
			t.Errorf("xid %d chunk %d: xid %d commit %d at %s, want %d at %s", xid, i+1, c.Xid, c.CommitLSN, c.CommitTime, whole.CommitLSN, whole.CommitTime)
		}
		if n := len(c.Changes) + len(c.Messages); n > size {
			t.Errorf("xid %d chunk %d holds %d changes and messages, more than %d", xid, i+1, n, size)
		}
		if want := whole.Resync; (i == 0 && c.Resync != want) || (i > 0 && c.Resync != "") {
			t.Errorf("xid %d chunk %d: resync %q (the whole transaction: %q, on its first chunk)", xid, i+1, c.Resync, want)
		}
		changes = append(changes, c.Changes...)
		messages = append(messages, c.Messages...)
	}
	if chunks[len(chunks)-1].EndLSN != whole.EndLSN {
		t.Errorf("xid %d: last chunk ends at %d, want %d", xid, chunks[len(chunks)-1].EndLSN, whole.EndLSN)
	}
	if !reflect.DeepEqual(changes, whole.Changes) || !reflect.DeepEqual(messages, whole.Messages) {
		t.Errorf("xid %d: the chunks together differ from the whole transaction", xid)
	}
}

// rawKeepalive reads a primary keepalive payload by hand ('k', WAL end,
// server time, reply flag), independently of pglogrepl.
func rawKeepalive(data []byte) (end uint64, reply bool) {
	return binary.BigEndian.Uint64(data[1:9]), data[17] != 0
}

// Every header's WAL end is reported; a keepalive becomes an idle position
// exactly when nothing is in flight and it is past both the last
// transaction's end and the last idle position handed out.
func TestRecordedKeepalives(t *testing.T) {
	rec := loadRecording(t)
	outs := replay(t, rec, 1000, rec.Fingerprint)
	var received, idleSent uint64 = mustLSN(t, rec.Start), 0
	var replies, positions int
	for _, o := range outs {
		data := rec.Messages[o.at].Data
		if data[0] == 'w' {
			if want := binary.BigEndian.Uint64(data[9:17]); o.serverEnd != want {
				t.Errorf("message %d: server end %d, want %d", o.at, o.serverEnd, want)
			}
			if o.isTx() {
				received = max(received, o.tx.EndLSN)
			}
			continue
		}
		end, reply := rawKeepalive(data)
		if o.serverEnd != end || o.reply != reply {
			t.Errorf("keepalive %d: end %d reply %t, want %d %t", o.at, o.serverEnd, o.reply, end, reply)
		}
		if reply {
			replies++
		}
		wantIdle := end > received && end > idleSent
		if gotIdle := o.tx != nil; gotIdle != wantIdle {
			t.Errorf("keepalive %d (%s) after transactions up to %s and idle position %s: idle position %t, want %t",
				o.at, rec.Messages[o.at].What, domain.FormatLSN(received), domain.FormatLSN(idleSent), gotIdle, wantIdle)
		}
		if wantIdle {
			positions++
			idleSent = end
			if !o.tx.Keepalive || o.tx.EndLSN != end || o.tx.Xid != 0 || len(o.tx.Changes) != 0 {
				t.Errorf("keepalive %d: %+v, want an idle position at %d", o.at, *o.tx, end)
			}
		}
	}
	if replies == 0 {
		t.Errorf("the recording has no keepalive asking for a reply (step %q): re-record", stepIdle)
	}
	if positions == 0 {
		t.Error("no keepalive became an idle position")
	}
}

// keepaliveData builds a primary keepalive payload.
func keepaliveData(end uint64, reply bool) []byte {
	b := binary.BigEndian.AppendUint64([]byte{'k'}, end)
	b = binary.BigEndian.AppendUint64(b, 0)
	if reply {
		return append(b, 1)
	}
	return append(b, 0)
}

// Keepalive rules on real transactions: none becomes an idle position in
// the middle of a transaction, or at or before a position already handed
// out.
func TestKeepaliveRules(t *testing.T) {
	rec := loadRecording(t)
	bulk, first := messagesOf(rec, stepBulk)
	d := newDecoder(mustLSN(t, rec.Start), 1000, rec.Fingerprint)
	feed(t, d, rec.Messages[:first], 0)
	after := mustLSN(t, step(t, rec, stepBulk).EndLSN) + 1000
	begin := slices.IndexFunc(bulk, func(m recorded) bool { return strings.HasPrefix(m.What, "begin") })
	feed(t, d, bulk[:begin+1], first)
	if f := mustFrame(t, d, keepaliveData(after, false)); f.tx != nil {
		t.Errorf("inside a transaction a keepalive became %+v", *f.tx)
	}
	rest := feed(t, d, bulk[begin+1:], first+begin+1)
	if got := txs(rest); len(got) != 1 || len(got[0].Changes) != bulkRows {
		t.Fatalf("the transaction around the keepalive decoded as %d transactions", len(got))
	}
	end := mustLSN(t, step(t, rec, stepBulk).EndLSN)
	for _, c := range []struct {
		end  uint64
		idle bool
	}{{end - 1, false}, {end, false}, {end + 1, true}, {end + 1, false}, {end, false}, {after, true}} {
		f := mustFrame(t, d, keepaliveData(c.end, true))
		if (f.tx != nil) != c.idle || !f.reply || f.serverEnd != c.end {
			t.Errorf("keepalive at %d after the transaction ending at %d: %+v, want idle position %t", c.end, end, f, c.idle)
		}
	}
}

func mustFrame(t *testing.T, d *decoder, data []byte) frame {
	t.Helper()
	f, err := d.copyData(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A change or commit needs a transaction; a transactional message outside
// one, and payloads the stream does not use, are ignored; malformed
// payloads are errors that still report the header's WAL end.
func TestDecoderErrors(t *testing.T) {
	rec := loadRecording(t)
	for _, c := range []struct{ step, what, err string }{
		{stepPayment, "insert", "insert outside a transaction"},
		{stepPaymentStatus, "update", "update outside a transaction"},
		{stepPaymentDelete, "delete", "delete outside a transaction"},
		{stepTruncate, "truncate", "truncate outside a transaction"},
		{stepPayment, "commit", "commit outside a transaction"},
	} {
		d := newDecoder(0, 1000, nil)
		_, err := d.copyData(find(t, rec, c.step, c.what).Data)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s outside a transaction: %v, want %q", c.what, err, c.err)
		}
	}
	d := newDecoder(0, 1000, nil)
	for _, data := range [][]byte{nil, {'x', 1, 2}, find(t, rec, stepRedrive, "message").Data} { // a transactional message needs its transaction
		if f, err := d.copyData(data); err != nil || f.tx != nil {
			t.Errorf("%q: %+v, %v; want nothing", data, f, err)
		}
	}
	commit := find(t, rec, stepPayment, "commit").Data
	badType := append(slices.Clone(commit[:25]), 'Z')
	for _, c := range []struct {
		data      []byte
		err       string
		serverEnd uint64
	}{
		{keepaliveData(1, false)[:10], "replication: keepalive", 0},
		{commit[:20], "replication: xlogdata", 0},
		{badType, "replication: decode pgoutput", binary.BigEndian.Uint64(commit[9:17])},
	} {
		f, err := d.copyData(c.data)
		if err == nil || !strings.Contains(err.Error(), c.err) || f.serverEnd != c.serverEnd {
			t.Errorf("%q: %+v, %v; want %q with server end %d", c.data, f, err, c.err, c.serverEnd)
		}
	}
}

// A non-transactional message has no commit to version its documents
// with: it is ignored even when it arrives inside a transaction.
func TestNonTransactionalMessageIsIgnored(t *testing.T) {
	rec := loadRecording(t)
	msgs, first := messagesOf(rec, stepRedrive)
	i := slices.IndexFunc(msgs, func(m recorded) bool { return strings.HasPrefix(m.What, "message") })
	msgs = slices.Insert(slices.Clone(msgs), i, find(t, rec, stepNonTxMessage, "message"))
	d := newDecoder(0, 1000, nil)
	got := txs(feed(t, d, msgs, first))
	if want := expected(rec)[stepRedrive].messages; len(got) != 1 || !reflect.DeepEqual(got[0].Messages, want) {
		t.Fatalf("%+v, want one transaction with messages %q", got, want)
	}
}

// A relation message outside a transaction asks the next transaction, and
// only that one, for a resync.
func TestResyncOutsideATransaction(t *testing.T) {
	rec := loadRecording(t)
	d := newDecoder(mustLSN(t, rec.Start), 1000, rec.Fingerprint)
	feed(t, d, rec.Messages, 0)
	if _, err := d.copyData(find(t, rec, stepCustomerNote, "relation").Data); err != nil {
		t.Fatal(err)
	}
	again, _ := messagesOf(rec, stepPaymentStatus) // replayed: the decoder does not mind old positions
	want := expected(rec)[stepCustomerNote].resync
	for i, w := range []string{want, ""} {
		got := txs(feed(t, d, again, 0))
		if len(got) != 1 || got[0].Resync != w {
			t.Fatalf("transaction %d after the relation: %+v, want resync %q", i+1, got, w)
		}
	}
}
