package projection

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

func s(v string) *string { return &v }

func row(kv ...string) Row {
	r := Row{}
	for i := 0; i+1 < len(kv); i += 2 {
		r[kv[i]] = s(kv[i+1])
	}
	return r
}

func TestPlannerAdd(t *testing.T) {
	redrive, _ := json.Marshal(RedriveMessage{Docs: []RedriveDoc{{Index: "x_payments", ID: "p9"}, {Index: "x_customers", ID: "c9"}, {Index: "other_payments", ID: "p0"}}})
	tests := []struct {
		name string
		txs  []Tx
		want *Plan
	}{
		{
			name: "InsertAndUpdatesOfOnePaymentMergeToHighestLSN",
			txs: []Tx{
				{Xid: 1, CommitLSN: 10, EndLSN: 11, Changes: []Change{{Table: TablePayments, Op: OpInsert, New: row("id", "p1")}}},
				{Xid: 2, CommitLSN: 20, EndLSN: 21, Changes: []Change{
					{Table: TablePayments, Op: OpUpdate, New: row("id", "p1")},
					{Table: TablePayments, Op: OpUpdate, New: row("id", "p1")},
				}},
			},
			want: &Plan{Payments: map[string]uint64{"p1": 20}, Xids: []uint32{1, 2}, Txs: 2, LastEnd: 21},
		},
		{
			name: "PaymentDeleteUsesOldKey",
			txs:  []Tx{{Xid: 3, CommitLSN: 30, EndLSN: 31, Changes: []Change{{Table: TablePayments, Op: OpDelete, Old: row("id", "p2")}}}},
			want: &Plan{Payments: map[string]uint64{"p2": 30}, Xids: []uint32{3}, Txs: 1, LastEnd: 31},
		},
		{
			name: "CustomerRenameReprojectsPayments",
			txs: []Tx{{Xid: 4, CommitLSN: 40, EndLSN: 41, Changes: []Change{{Table: TableCustomers, Op: OpUpdate,
				Old: row("id", "c1", "name", "Old"), New: row("id", "c1", "name", "New")}}}},
			want: &Plan{Customers: map[string]uint64{"c1": 40}, CustomerPayments: map[string]uint64{"c1": 40}, Xids: []uint32{4}, Txs: 1, LastEnd: 41},
		},
		{
			name: "CustomerEmailChangeOnlyRebuildsAccessDoc",
			txs: []Tx{{Xid: 5, CommitLSN: 50, EndLSN: 51, Changes: []Change{{Table: TableCustomers, Op: OpUpdate,
				Old: row("id", "c1", "name", "Same", "email", "a@x"), New: row("id", "c1", "name", "Same", "email", "b@x")}}}},
			want: &Plan{Customers: map[string]uint64{"c1": 50}, Xids: []uint32{5}, Txs: 1, LastEnd: 51},
		},
		{
			name: "CustomerUpdateWithoutOldTupleAssumesRename",
			txs: []Tx{{Xid: 6, CommitLSN: 60, EndLSN: 61, Changes: []Change{{Table: TableCustomers, Op: OpUpdate,
				New: row("id", "c1", "name", "Same")}}}},
			want: &Plan{Customers: map[string]uint64{"c1": 60}, CustomerPayments: map[string]uint64{"c1": 60}, Xids: []uint32{6}, Txs: 1, LastEnd: 61},
		},
		{
			name: "LinkAndUnlinkRebuildAccessDocs",
			txs: []Tx{
				{Xid: 7, CommitLSN: 70, EndLSN: 71, Changes: []Change{{Table: TableLinks, Op: OpInsert, New: row("customer_id", "c1", "user_id", "u1")}}},
				{Xid: 8, CommitLSN: 80, EndLSN: 81, Changes: []Change{{Table: TableLinks, Op: OpDelete, Old: row("customer_id", "c2", "user_id", "u1")}}},
			},
			want: &Plan{Customers: map[string]uint64{"c1": 70, "c2": 80}, Xids: []uint32{7, 8}, Txs: 2, LastEnd: 81},
		},
		{
			name: "UserSeenThenPasswordChangeReprojectsNothing",
			txs: []Tx{
				{Xid: 9, CommitLSN: 90, EndLSN: 91, Changes: []Change{{Table: TableUsers, Op: OpInsert, New: row("id", "u1", "name", "Ann", "email", "a@x")}}},
				{Xid: 10, CommitLSN: 100, EndLSN: 101, Changes: []Change{{Table: TableUsers, Op: OpUpdate, New: row("id", "u1", "name", "Ann", "email", "a@x")}}},
			},
			want: &Plan{Xids: []uint32{9, 10}, Txs: 2, LastEnd: 101},
		},
		{
			name: "UserRenameReprojectsPaymentsAndAccessDocs",
			txs: []Tx{
				{Xid: 9, CommitLSN: 90, EndLSN: 91, Changes: []Change{{Table: TableUsers, Op: OpInsert, New: row("id", "u1", "name", "Ann", "email", "a@x")}}},
				{Xid: 10, CommitLSN: 100, EndLSN: 101, Changes: []Change{{Table: TableUsers, Op: OpUpdate, New: row("id", "u1", "name", "Anna", "email", "a@x")}}},
			},
			want: &Plan{UserPayments: map[string]uint64{"u1": 100}, UserCustomers: map[string]uint64{"u1": 100}, Xids: []uint32{9, 10}, Txs: 2, LastEnd: 101},
		},
		{
			name: "UnknownUserUpdateIsAssumedChanged",
			txs:  []Tx{{Xid: 11, CommitLSN: 110, EndLSN: 111, Changes: []Change{{Table: TableUsers, Op: OpUpdate, New: row("id", "u2", "name", "Bo", "email", "b@x")}}}},
			want: &Plan{UserPayments: map[string]uint64{"u2": 110}, UserCustomers: map[string]uint64{"u2": 110}, Xids: []uint32{11}, Txs: 1, LastEnd: 111},
		},
		{
			name: "TruncateAsksForResync",
			txs:  []Tx{{Xid: 12, CommitLSN: 120, EndLSN: 121, Resync: "truncate of public.payments"}},
			want: &Plan{Xids: []uint32{12}, Txs: 1, LastEnd: 121, Resync: "truncate of public.payments"},
		},
		{
			name: "RedriveMessageMarksOwnDocuments",
			txs:  []Tx{{Xid: 13, CommitLSN: 130, EndLSN: 131, Messages: []Message{{Prefix: RedrivePrefix, Content: redrive}, {Prefix: "other", Content: []byte("x")}}}},
			want: &Plan{Payments: map[string]uint64{"p9": 130}, Customers: map[string]uint64{"c9": 130}, Xids: []uint32{13}, Txs: 1, LastEnd: 131},
		},
		{
			name: "EventsAndRefundsMarkTheirPayment",
			txs: []Tx{
				{Xid: 14, CommitLSN: 140, EndLSN: 141, Changes: []Change{
					{Table: TablePayments, Op: OpUpdate, New: row("id", "p1")},
					{Table: TablePaymentEvents, Op: OpInsert, New: row("payment_id", "p1")},
				}},
				{Xid: 15, CommitLSN: 150, EndLSN: 151, Changes: []Change{
					{Table: TableRefunds, Op: OpInsert, New: row("payment_id", "p2")},
					{Table: TablePaymentEvents, Op: OpInsert, New: row("payment_id", "p2")},
				}},
				{Xid: 16, CommitLSN: 160, EndLSN: 161, Changes: []Change{{Table: TableRefunds, Op: OpUpdate, New: row("payment_id", "p3")}}},
			},
			want: &Plan{Payments: map[string]uint64{"p1": 140, "p2": 150, "p3": 160}, Xids: []uint32{14, 15, 16}, Txs: 3, LastEnd: 161},
		},
		{
			// A delete carries only the replica identity (id): there is no
			// payment to mark (events are append-only, refunds never
			// deleted).
			name: "EventDeleteWithoutPaymentIDMarksNothing",
			txs:  []Tx{{Xid: 17, CommitLSN: 170, EndLSN: 171, Changes: []Change{{Table: TableRefunds, Op: OpDelete, Old: Row{}}}}},
			want: &Plan{Xids: []uint32{17}, Txs: 1, LastEnd: 171},
		},
		{
			// The access document carries the customer's live keys: a key
			// created or revoked rebuilds it, and nothing else.
			name: "APIKeyCreatedOrRevokedRebuildsItsCustomersAccessDoc",
			txs: []Tx{
				{Xid: 18, CommitLSN: 180, EndLSN: 181, Changes: []Change{{Table: TableAPIKeys, Op: OpInsert, New: row("customer_id", "c1")}}},
				{Xid: 19, CommitLSN: 190, EndLSN: 191, Changes: []Change{{Table: TableAPIKeys, Op: OpUpdate, New: row("customer_id", "c2")}}},
				{Xid: 20, CommitLSN: 200, EndLSN: 201, Changes: []Change{{Table: TableAPIKeys, Op: OpDelete, Old: Row{}}}},
			},
			want: &Plan{Customers: map[string]uint64{"c1": 180, "c2": 190}, Xids: []uint32{18, 19, 20}, Txs: 3, LastEnd: 201},
		},
		{
			name: "KeepaliveOnlyMovesThePosition",
			txs:  []Tx{{Keepalive: true, EndLSN: 500}},
			want: &Plan{LastEnd: 500},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl := NewPlanner("x_")
			got := NewPlan()
			for _, tx := range tc.txs {
				pl.Add(got, tx)
			}
			want := NewPlan()
			want.Xids, want.Txs, want.LastEnd, want.Resync = tc.want.Xids, tc.want.Txs, tc.want.LastEnd, tc.want.Resync
			for dst, src := range map[*map[string]uint64]map[string]uint64{
				&want.Payments: tc.want.Payments, &want.Customers: tc.want.Customers, &want.CustomerPayments: tc.want.CustomerPayments,
				&want.UserPayments: tc.want.UserPayments, &want.UserCustomers: tc.want.UserCustomers,
			} {
				if src != nil {
					*dst = src
				}
			}
			got.FirstCommitTime, got.LastCommitTime = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("plan:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestPlannedColumns: the decoder keeps what the planner reads, for every
// table the projector follows, and names every table as the publication
// does.
func TestPlannedColumns(t *testing.T) {
	want := map[Table][]string{
		TableUsers: {"id", "name", "email"}, TableCustomers: {"id", "name"}, TableLinks: {"customer_id", "user_id"},
		TablePayments: {"id"}, TablePaymentEvents: {"payment_id"}, TableRefunds: {"payment_id"},
		TableAPIKeys: {"customer_id"},
	}
	for _, tab := range Tables {
		if got := PlannedColumns(tab); !reflect.DeepEqual(got, want[tab]) {
			t.Errorf("PlannedColumns(%s) = %v, want %v", tab, got, want[tab])
		}
		if TableByName(tab.String()) != tab {
			t.Errorf("TableByName(%q) = %v, want %v", tab.String(), TableByName(tab.String()), tab)
		}
	}
	if len(Tables) != len(want) {
		t.Errorf("Tables %v, want %d tables", Tables, len(want))
	}
}

func TestFormatLSN(t *testing.T) {
	tests := []struct {
		lsn  uint64
		want string
	}{{0, "0/0"}, {0x16B374D848, "16/B374D848"}, {0x1968A98, "0/1968A98"}}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := domain.FormatLSN(tc.lsn); got != tc.want {
				t.Errorf("domain.FormatLSN(%d) = %q, want %q", tc.lsn, got, tc.want)
			}
		})
	}
}

func TestPublishedLSN(t *testing.T) {
	tests := []struct {
		name      string
		end, want uint64
	}{
		{"InsidePage", 0x1968A98, 0x1968A98},
		{"PageBoundary", 0x1966000, 0x1966000 + 40},
		{"SegmentBoundary", 0x2000000, 0x2000000 + 40},
		{"Zero", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := PublishedLSN(tc.end); got != tc.want {
				t.Errorf("PublishedLSN(%#x) = %#x, want %#x", tc.end, got, tc.want)
			}
		})
	}
}
