package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// fakeSource is the write model: current payments and customers.
type fakeSource struct {
	payments  map[string]PaymentDoc
	bad       map[string]error
	customers map[string]CustomerDoc
	links     map[string][]string // user → customers
	views     [][]uint32          // xids of each View
	reads     int                 // PaymentsOf calls
}

func (f *fakeSource) View(ctx context.Context, xids []uint32, fn func(context.Context, View) error) error {
	f.views = append(f.views, append([]uint32(nil), xids...))
	return fn(ctx, f)
}

func (f *fakeSource) Payments(_ context.Context, ids []string) ([]Loaded[PaymentDoc], error) {
	var out []Loaded[PaymentDoc]
	for _, id := range ids {
		if err, ok := f.bad[id]; ok {
			out = append(out, Loaded[PaymentDoc]{ID: id, Err: err})
		} else if d, ok := f.payments[id]; ok {
			out = append(out, Loaded[PaymentDoc]{ID: id, Doc: d})
		}
	}
	return out, nil
}

func (f *fakeSource) Customers(_ context.Context, ids []string) ([]Loaded[CustomerDoc], error) {
	var out []Loaded[CustomerDoc]
	for _, id := range ids {
		if d, ok := f.customers[id]; ok {
			out = append(out, Loaded[CustomerDoc]{ID: id, Doc: d})
		}
	}
	return out, nil
}

func (f *fakeSource) PaymentsOf(_ context.Context, parent Parent, after string, limit int) ([]Loaded[PaymentDoc], error) {
	f.reads++
	var ids []string
	for id, d := range f.payments {
		if (parent.Table == TableCustomers && d.CustomerID == parent.ID || parent.Table == TableUsers && d.UserID == parent.ID) && id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return f.Payments(context.Background(), ids)
}

func (f *fakeSource) CustomerIDsOfUser(_ context.Context, user string) ([]string, error) {
	return f.links[user], nil
}

type stored struct {
	version uint64
	doc     []byte // nil: deleted
}

// fakeIndex applies external versioning like the engine and can misbehave.
type fakeIndex struct {
	docs       map[string]stored // index/id
	downFor    int               // whole requests that fail
	hangFor    int               // whole requests that never answer (until ctx ends)
	retries    int               // OnRetry calls of the Applier using it
	reject     map[string]bool   // ids always rejected
	transient  map[string]int    // ids answered 429 this many times
	missing    bool              // the alias does not exist
	refreshes  int
	published  []StateDoc
	bulkSizes  []int
	refreshErr int
	refreshed  []string
}

func newFakeIndex() *fakeIndex {
	return &fakeIndex{docs: map[string]stored{}, reject: map[string]bool{}, transient: map[string]int{}}
}

func (f *fakeIndex) Bulk(ctx context.Context, ops []IndexOp) ([]ItemResult, error) {
	if f.hangFor > 0 {
		f.hangFor--
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.downFor > 0 {
		f.downFor--
		return nil, errors.New("connection refused")
	}
	f.bulkSizes = append(f.bulkSizes, len(ops))
	out := make([]ItemResult, len(ops))
	for i, op := range ops {
		key := op.Index + "/" + op.ID
		switch {
		case f.missing:
			out[i] = ItemResult{Status: ItemMissingIndex, Error: "index_not_found_exception"}
		case f.reject[op.ID]:
			out[i] = ItemResult{Status: ItemFailed, Error: "mapper_parsing_exception: bad"}
		case f.transient[op.ID] > 0:
			f.transient[op.ID]--
			out[i] = ItemResult{Status: ItemRetry, Error: "es_rejected_execution_exception"}
		case f.docs[key].version >= op.Version && f.docs[key].version > 0:
			out[i] = ItemResult{Status: ItemConflict, Error: "version_conflict_engine_exception"}
		default:
			f.docs[key] = stored{version: op.Version, doc: op.Doc}
			out[i] = ItemResult{Status: ItemApplied}
		}
	}
	return out, nil
}

func (f *fakeIndex) Refresh(_ context.Context, aliases []string) error {
	f.refreshed = append(f.refreshed, aliases...)
	if f.refreshErr > 0 {
		f.refreshErr--
		return errors.New("refresh: 503")
	}
	f.refreshes++
	return nil
}

func (f *fakeIndex) PublishState(_ context.Context, st StateDoc) error {
	f.published = append(f.published, st)
	return nil
}

type fakeDL struct{ dls []DeadLetter }

func (f *fakeDL) AddDeadLetters(_ context.Context, dls []DeadLetter) error {
	f.dls = append(f.dls, dls...)
	return nil
}

// pay returns a payment document; its id is a UUID made from the short id
// the tests use as the document key (indexed documents need UUID ids).
func pay(id, customer, user, name string) PaymentDoc {
	return PaymentDoc{PaymentView: domain.PaymentView{Payment: domain.Payment{ID: fmt.Sprintf("00000000-0000-4000-8000-%012x", crc32.ChecksumIEEE([]byte(id))),
		CustomerID: customer, UserID: user, Amount: 100, Status: "pending", Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		CustomerName: name}}
}

func TestApplierApply(t *testing.T) {
	const pays = "x_payments"
	const custs = "x_customers"
	tests := []struct {
		name  string
		setup func(src *fakeSource, idx *fakeIndex)
		plan  func(p *Plan)
		check func(t *testing.T, st Stats, err error, src *fakeSource, idx *fakeIndex, dl *fakeDL)
	}{
		{
			name: "IndexesCurrentStateAndDeletesMissing",
			plan: func(p *Plan) { p.Payments["p1"], p.Payments["gone"] = 20, 30; p.Xids = []uint32{7, 8} },
			check: func(t *testing.T, st Stats, err error, src *fakeSource, idx *fakeIndex, dl *fakeDL) {
				if err != nil || st.Indexed != 1 || st.Deleted != 1 {
					t.Fatalf("stats %+v, err %v; want 1 indexed, 1 deleted", st, err)
				}
				if got := idx.docs[pays+"/p1"]; got.version != 20 || !strings.Contains(string(got.doc), `"customer_name":"Shop"`) {
					t.Errorf("p1 = v%d %s, want version 20 with the current document", got.version, got.doc)
				}
				if got := idx.docs[pays+"/gone"]; got.version != 30 || got.doc != nil {
					t.Errorf("gone = %+v, want a delete at version 30", got)
				}
				if len(src.views) == 0 || len(src.views[0]) != 2 {
					t.Errorf("views %v, want the plan's xids", src.views)
				}
				if idx.refreshes != 1 || strings.Join(idx.refreshed, ",") != pays {
					t.Errorf("refreshes = %d of %v, want 1 of the payments alias", idx.refreshes, idx.refreshed)
				}
			},
		},
		{
			name: "ReplayIsAVersionConflict",
			setup: func(_ *fakeSource, idx *fakeIndex) {
				idx.docs[pays+"/p1"] = stored{version: 25, doc: []byte(`{"newer":true}`)}
			},
			plan: func(p *Plan) { p.Payments["p1"] = 20 },
			check: func(t *testing.T, st Stats, err error, _ *fakeSource, idx *fakeIndex, dl *fakeDL) {
				if err != nil || st.Conflicts != 1 || st.Indexed != 0 || len(dl.dls) != 0 {
					t.Fatalf("stats %+v, err %v, dead letters %d; want one conflict only", st, err, len(dl.dls))
				}
				if got := string(idx.docs[pays+"/p1"].doc); got != `{"newer":true}` {
					t.Errorf("p1 = %s, want the newer document untouched", got)
				}
			},
		},
		{
			name:  "EngineDownIsRetriedUntilItAnswers",
			setup: func(_ *fakeSource, idx *fakeIndex) { idx.downFor, idx.refreshErr = 4, 2 },
			plan:  func(p *Plan) { p.Payments["p1"] = 20 },
			check: func(t *testing.T, st Stats, err error, _ *fakeSource, idx *fakeIndex, dl *fakeDL) {
				if err != nil || st.Indexed != 1 || idx.retries != 6 || len(dl.dls) != 0 {
					t.Fatalf("stats %+v, err %v, retries %d, dead letters %d; want indexed after 6 retries, no dead letter", st, err, idx.retries, len(dl.dls))
				}
			},
		},
		{
			name:  "RejectedDocumentIsDeadLetteredAndOthersGoOn",
			setup: func(_ *fakeSource, idx *fakeIndex) { idx.reject["p1"] = true },
			plan:  func(p *Plan) { p.Payments["p1"], p.Payments["p2"] = 20, 21 },
			check: func(t *testing.T, st Stats, err error, _ *fakeSource, idx *fakeIndex, dl *fakeDL) {
				if err != nil || st.Indexed != 1 || st.DeadLettered != 1 {
					t.Fatalf("stats %+v, err %v; want p2 indexed and p1 dead-lettered", st, err)
				}
				d := dl.dls[0]
				if d.ID != "p1" || d.Index != pays || d.LSN != 20 || !strings.Contains(d.Error, "mapper_parsing_exception") || !json.Valid(d.Payload) {
					t.Errorf("dead letter %+v, want p1 at 20 with the error and the document", d)
				}
				if len(idx.bulkSizes) != 3 {
					t.Errorf("bulk requests %v, want 3 attempts", idx.bulkSizes)
				}
			},
		},
		{
			name:  "TransientItemFailuresAreRetriedNotDeadLettered",
			setup: func(_ *fakeSource, idx *fakeIndex) { idx.transient["p1"] = 5 },
			plan:  func(p *Plan) { p.Payments["p1"] = 20 },
			check: func(t *testing.T, st Stats, err error, _ *fakeSource, _ *fakeIndex, dl *fakeDL) {
				if err != nil || st.Indexed != 1 || len(dl.dls) != 0 {
					t.Fatalf("stats %+v, err %v, dead letters %d; want indexed, none dead-lettered", st, err, len(dl.dls))
				}
			},
		},
		{
			name: "RowsThatCannotBecomeDocumentsAreDeadLettered",
			setup: func(src *fakeSource, _ *fakeIndex) {
				src.bad["p1"] = errors.New("date is not a finite timestamp")
				d := pay("p2", "c1", "u1", "Shop")
				d.Date = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
				src.payments["p2"] = d
			},
			plan: func(p *Plan) { p.Payments["p1"], p.Payments["p2"] = 20, 21 },
			check: func(t *testing.T, st Stats, err error, _ *fakeSource, idx *fakeIndex, dl *fakeDL) {
				if err != nil || st.DeadLettered != 2 || len(idx.docs) != 0 {
					t.Fatalf("stats %+v, err %v, docs %d; want both dead-lettered, nothing written", st, err, len(idx.docs))
				}
				if !strings.Contains(dl.dls[0].Error+dl.dls[1].Error, "encode document") {
					t.Errorf("dead letters %+v, want an encoding error", dl.dls)
				}
			},
		},
		{
			name: "RenameReprojectsEveryPaymentInBatches",
			setup: func(src *fakeSource, idx *fakeIndex) {
				delete(src.payments, "p1")
				delete(src.payments, "p2")
				for _, id := range []string{"a", "b", "c", "d", "e"} {
					src.payments[id] = pay(id, "c1", "u1", "New name")
				}
				src.payments["z"] = pay("z", "c2", "u1", "Other")
				idx.docs[pays+"/e"] = stored{version: 99, doc: []byte(`{"newer":true}`)}
			},
			plan: func(p *Plan) { p.Customers["c1"], p.CustomerPayments["c1"] = 50, 50 },
			check: func(t *testing.T, st Stats, err error, src *fakeSource, idx *fakeIndex, _ *fakeDL) {
				if err != nil || st.Indexed != 4+1 || st.Conflicts != 1 {
					t.Fatalf("stats %+v, err %v; want 4 payments + 1 customer indexed, 1 conflict", st, err)
				}
				for _, id := range []string{"a", "b", "c", "d"} {
					if got := idx.docs[pays+"/"+id]; got.version != 50 || !strings.Contains(string(got.doc), "New name") {
						t.Errorf("%s = v%d %s, want version 50 with the new name", id, got.version, got.doc)
					}
				}
				if _, ok := idx.docs[pays+"/z"]; ok {
					t.Error("payment of another customer re-projected")
				}
				if src.reads != 3 {
					t.Errorf("PaymentsOf calls = %d, want 3 (batches of 2)", src.reads)
				}
			},
		},
		{
			name: "UserChangeRebuildsLinkedCustomersAndPayments",
			setup: func(src *fakeSource, _ *fakeIndex) {
				src.links["u1"] = []string{"c1"}
				src.payments["a"] = pay("a", "c1", "u1", "Shop")
			},
			plan: func(p *Plan) { p.UserCustomers["u1"], p.UserPayments["u1"] = 60, 60 },
			check: func(t *testing.T, st Stats, err error, _ *fakeSource, idx *fakeIndex, _ *fakeDL) {
				if err != nil || idx.docs[custs+"/c1"].version != 60 || idx.docs[pays+"/a"].version != 60 {
					t.Fatalf("stats %+v, err %v, docs %v; want c1 and a at version 60", st, err, idx.docs)
				}
			},
		},
		{
			name:  "MissingIndexAsksForResync",
			setup: func(_ *fakeSource, idx *fakeIndex) { idx.missing = true },
			plan:  func(p *Plan) { p.Payments["p1"] = 20 },
			check: func(t *testing.T, _ Stats, err error, _ *fakeSource, _ *fakeIndex, _ *fakeDL) {
				if !errors.Is(err, ErrResync) {
					t.Fatalf("err = %v, want ErrResync", err)
				}
			},
		},
		{
			name: "ResyncPlanWritesNothing",
			plan: func(p *Plan) { p.Payments["p1"], p.Resync = 20, "truncate of public.payments" },
			check: func(t *testing.T, _ Stats, err error, _ *fakeSource, idx *fakeIndex, _ *fakeDL) {
				if !errors.Is(err, ErrResync) || len(idx.docs) != 0 {
					t.Fatalf("err = %v, docs %d; want ErrResync and nothing written", err, len(idx.docs))
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &fakeSource{
				payments:  map[string]PaymentDoc{"p1": pay("p1", "c1", "u1", "Shop"), "p2": pay("p2", "c1", "u1", "Shop")},
				bad:       map[string]error{},
				customers: map[string]CustomerDoc{"c1": {ID: "c1", Name: "Shop", UserIDs: []string{"u1"}}},
				links:     map[string][]string{},
			}
			idx := newFakeIndex()
			dl := &fakeDL{}
			if tc.setup != nil {
				tc.setup(src, idx)
			}
			a := &Applier{Source: src, Index: idx, DeadLetters: dl, Prefix: "x_", BatchSize: 2, MinBackoff: time.Microsecond, MaxBackoff: time.Millisecond,
				OnRetry: func() { idx.retries++ }}
			p := NewPlan()
			tc.plan(p)
			st, err := a.Apply(context.Background(), p)
			tc.check(t, st, err, src, idx, dl)
		})
	}
}

// Whole-engine outages are retried until the context ends; nothing is
// dead-lettered, and OnRetry reports each retry while the outage lasts.
func TestApplierOutageEndsWithContext(t *testing.T) {
	idx := newFakeIndex()
	idx.downFor = 1 << 30
	dl := &fakeDL{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	retries := 0
	a := &Applier{Source: &fakeSource{payments: map[string]PaymentDoc{"p1": pay("p1", "c1", "u1", "S")}}, Index: idx, DeadLetters: dl,
		MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
		OnRetry: func() {
			if retries++; retries == 3 {
				cancel() // only a call still retrying can see this
			}
		}}
	p := NewPlan()
	p.Payments["p1"] = 1
	_, err := a.Apply(ctx, p)
	if !errors.Is(err, context.Canceled) || len(dl.dls) != 0 || retries != 3 {
		t.Fatalf("err = %v, dead letters %d, OnRetry calls %d; want the context's error, none, 3", err, len(dl.dls), retries)
	}
}

// A request the engine never answers is abandoned after RequestTimeout and
// retried; the plan is applied once the engine answers again.
func TestApplierAbandonsHungRequests(t *testing.T) {
	idx := newFakeIndex()
	idx.hangFor = 2
	retries := 0
	a := &Applier{Source: &fakeSource{payments: map[string]PaymentDoc{"p1": pay("p1", "c1", "u1", "S")}}, Index: idx, DeadLetters: &fakeDL{},
		MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, RequestTimeout: 20 * time.Millisecond, OnRetry: func() { retries++ }}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p := NewPlan()
	p.Payments["p1"] = 1
	st, err := a.Apply(ctx, p)
	if err != nil || st.Indexed != 1 || retries != 2 {
		t.Fatalf("stats %+v, err %v, retries %d; want indexed after 2 abandoned requests", st, err, retries)
	}
}

func TestNewCustomerDocSortsUsersAndKeys(t *testing.T) {
	d := NewCustomerDoc(CustomerRow{ID: "c1", Name: "Shop"}, []CustomerUser{{ID: "u2", Name: "B"}, {ID: "u1", Name: "A"}},
		[]CustomerAPIKey{{ID: "k2", Name: "Two"}, {ID: "k1", Name: "One"}})
	if got := strings.Join(d.UserIDs, ","); got != "u1,u2" || d.Users[0].Name != "A" {
		t.Errorf("user_ids %q users %+v, want sorted by id", got, d.Users)
	}
	if len(d.APIKeys) != 2 || d.APIKeys[0].ID != "k1" || d.APIKeys[1].ID != "k2" {
		t.Errorf("api_keys %+v, want sorted by id", d.APIKeys)
	}
	empty := NewCustomerDoc(CustomerRow{ID: "c2"}, nil, nil)
	body, _ := json.Marshal(empty)
	for _, want := range []string{`"user_ids":[]`, `"users":[]`, `"api_keys":[]`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("empty customer doc %s, want %s (not null)", body, want)
		}
	}
}

// PostgreSQL can make transactions visible in another order than their
// commit LSNs. A plan's documents are written with the highest commit LSN
// that touched them, so every read of a plan, direct or re-projection, must
// wait for every transaction merged into it: here a payment update, a large
// transaction delivered in chunks (the plan holds only its first chunks'
// changes for one of its documents), a redrive message and a rename.
func TestEveryReadWaitsForEveryMergedTransaction(t *testing.T) {
	s := func(v string) *string { return &v }
	pl, p := NewPlanner("x_"), NewPlan()
	pl.Add(p, Tx{Xid: 10, CommitLSN: 100, EndLSN: 110, Changes: []Change{{Table: TablePayments, Op: OpUpdate, New: Row{"id": s("p1")}}}})
	pl.Add(p, Tx{Xid: 11, CommitLSN: 200, Partial: true, Changes: []Change{{Table: TablePayments, Op: OpInsert, New: Row{"id": s("p2")}}}})
	pl.Add(p, Tx{Xid: 11, CommitLSN: 200, EndLSN: 210, Changes: []Change{{Table: TableLinks, Op: OpInsert, New: Row{"customer_id": s("c1"), "user_id": s("u2")}}}})
	pl.Add(p, Tx{Xid: 12, CommitLSN: 300, EndLSN: 310, Messages: []Message{{Prefix: RedrivePrefix, Content: []byte(`{"docs":[{"index":"x_payments","id":"p2"}]}`)}}})
	pl.Add(p, Tx{Xid: 13, CommitLSN: 400, EndLSN: 410, Changes: []Change{{Table: TableCustomers, Op: OpUpdate,
		Old: Row{"id": s("c1"), "name": s("Shop")}, New: Row{"id": s("c1"), "name": s("Shop 2")}}}})
	src := &fakeSource{
		payments:  map[string]PaymentDoc{"p1": pay("p1", "c1", "u1", "Shop 2"), "p2": pay("p2", "c1", "u1", "Shop 2")},
		customers: map[string]CustomerDoc{"c1": {ID: "c1", Name: "Shop 2", UserIDs: []string{"u1", "u2"}}},
		links:     map[string][]string{},
	}
	a := &Applier{Source: src, Index: newFakeIndex(), DeadLetters: &fakeDL{}, Prefix: "x_", BatchSize: 1}
	if _, err := a.Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	// BatchSize 1: two payment reads, one customer read, three re-projection reads.
	if len(src.views) < 6 {
		t.Fatalf("%d reads, want at least 6", len(src.views))
	}
	for i, xids := range src.views {
		if fmt.Sprint(xids) != "[10 11 12 13]" {
			t.Errorf("read %d waited for %v, want every merged transaction [10 11 12 13]", i, xids)
		}
	}
}
