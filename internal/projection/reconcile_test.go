package projection

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestBucketDiffers(t *testing.T) {
	docs := []fpDoc{{ID: "a", FP: 5}, {ID: "b", FP: 7}}
	for _, tc := range []struct {
		name string
		docs []fpDoc
		sum  BucketSum
		want bool
	}{
		{"Equal", docs, BucketSum{Count: 2, Sum: 12}, false},
		{"EmptyBoth", nil, BucketSum{}, false},
		{"CountDiffers", docs, BucketSum{Count: 3, Sum: 12}, true},
		{"SumDiffers", docs, BucketSum{Count: 2, Sum: 13}, true},
		{"StrayInEmptyBucket", nil, BucketSum{Count: 1, Sum: 9}, true},
		{"RowThatIsNotADocument", append(slices.Clone(docs), fpDoc{ID: "c", Bad: true}), BucketSum{Count: 2, Sum: 12}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (bucket{docs: tc.docs}).differs(tc.sum); got != tc.want {
				t.Errorf("differs = %t, want %t", got, tc.want)
			}
		})
	}
}

func TestDiffering(t *testing.T) {
	pg := []fpDoc{{ID: "a", FP: 1}, {ID: "b", FP: 2}, {ID: "c", FP: 3}, {ID: "d", Bad: true}, {ID: "e", FP: 5}}
	indexed := []IndexedDoc{
		{ID: "a", FP: 1, HasFP: true}, // equal
		{ID: "b", FP: 9, HasFP: true}, // other content
		// c missing
		{ID: "d", FP: 4, HasFP: true}, // not a document in PostgreSQL: not compared
		{ID: "e", HasFP: false},       // written without a fingerprint
		{ID: "s", FP: 6, HasFP: true}, // stray
	}
	got := differing(pg, indexed)
	if want := []string{"b", "c", "e", "s"}; !slices.Equal(got, want) {
		t.Errorf("differing = %v, want %v", got, want)
	}
}

func TestConfirmed(t *testing.T) {
	ids := []string{"differs", "missing", "stray", "future", "changed", "created", "healed", "bad", "equal"}
	before := []fpDoc{{ID: "differs", FP: 1}, {ID: "missing", FP: 2}, {ID: "future", FP: 3}, {ID: "changed", FP: 4},
		{ID: "healed", FP: 5}, {ID: "bad", Bad: true}, {ID: "equal", FP: 6}}
	after := []fpDoc{{ID: "differs", FP: 1}, {ID: "missing", FP: 2}, {ID: "future", FP: 3}, {ID: "changed", FP: 40},
		{ID: "created", FP: 7}, {ID: "healed", FP: 5}, {ID: "bad", Bad: true}, {ID: "equal", FP: 6}}
	indexed := []IndexedDoc{
		{ID: "differs", FP: 10, HasFP: true, Version: 100},
		{ID: "stray", FP: 8, HasFP: true, Version: 1},
		{ID: "future", FP: 30, HasFP: true, Version: 1 << 62},
		{ID: "changed", FP: 40, HasFP: true, Version: 300},
		{ID: "healed", FP: 5, HasFP: true, Version: 400},
		{ID: "bad", FP: 1, HasFP: true, Version: 50},
		{ID: "equal", FP: 6, HasFP: true, Version: 60},
	}
	got := confirmed("payments", ids, before, indexed, after, 1000)
	want := []Mismatch{
		{Index: "payments", ID: "differs", Reason: MismatchDiffers, Version: 100},
		{Index: "payments", ID: "missing", Reason: MismatchMissing},
		{Index: "payments", ID: "stray", Reason: MismatchStray, Version: 1},
		{Index: "payments", ID: "future", Reason: MismatchDiffers, Version: 1 << 62, Future: true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("confirmed =\n%+v\nwant\n%+v", got, want)
	}
}

// recSource is a write model in memory: documents by id (nil Doc: a row
// that cannot become a document). onByID runs before each read by id.
type recSource struct {
	payments map[string]*PaymentDoc
	lsn      uint64
	reads    int
	onByID   func(call int)
	byIDs    int
}

func (s *recSource) PaymentsAfter(_ context.Context, after string, limit int) ([]Loaded[PaymentDoc], uint64, error) {
	s.reads++
	var ids []string
	for id := range s.payments {
		if id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return s.load(ids), s.lsn, nil
}

func (s *recSource) load(ids []string) []Loaded[PaymentDoc] {
	var out []Loaded[PaymentDoc]
	for _, id := range ids {
		d, ok := s.payments[id]
		switch {
		case !ok:
		case d == nil:
			out = append(out, Loaded[PaymentDoc]{ID: id, Err: fmt.Errorf("infinite date")})
		default:
			out = append(out, Loaded[PaymentDoc]{ID: id, Doc: *d})
		}
	}
	return out
}

func (s *recSource) CustomersAfter(context.Context, string, int) ([]Loaded[CustomerDoc], uint64, error) {
	return nil, s.lsn, nil
}

func (s *recSource) PaymentsByID(_ context.Context, ids []string) ([]Loaded[PaymentDoc], uint64, error) {
	s.byIDs++
	if s.onByID != nil {
		s.onByID(s.byIDs)
	}
	return s.load(ids), s.lsn, nil
}

func (s *recSource) CustomersByID(context.Context, []string) ([]Loaded[CustomerDoc], uint64, error) {
	return nil, s.lsn, nil
}

// recIndex is an index in memory; it records unversioned deletes and
// re-projections.
type recIndex struct {
	docs      map[string]IndexedDoc
	sums      int
	deleted   []string
	reproject []string
}

func (x *recIndex) in(alias string, r IDRange) []IndexedDoc {
	var out []IndexedDoc
	if !strings.HasSuffix(alias, "payments") {
		return nil
	}
	for id, d := range x.docs {
		if (r.After == "" || id > r.After) && (r.Last == "" || id <= r.Last) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (x *recIndex) Sums(_ context.Context, alias string, ranges []IDRange) ([]BucketSum, error) {
	x.sums++
	out := make([]BucketSum, len(ranges))
	for i, r := range ranges {
		for _, d := range x.in(alias, r) {
			out[i].Count++
			out[i].Sum += d.FP
		}
	}
	return out, nil
}

func (x *recIndex) Docs(_ context.Context, alias string, r IDRange) ([]IndexedDoc, error) {
	return x.in(alias, r), nil
}

func (x *recIndex) DocsByID(_ context.Context, alias string, ids []string) ([]IndexedDoc, error) {
	var out []IndexedDoc
	for _, id := range ids {
		if d, ok := x.docs[id]; ok && strings.HasSuffix(alias, "payments") {
			out = append(out, d)
		}
	}
	return out, nil
}

func (x *recIndex) DeleteUnversioned(_ context.Context, _ string, ids []string) error {
	x.deleted = append(x.deleted, ids...)
	return nil
}

func (x *recIndex) Reproject(_ context.Context, docs []RedriveDoc) error {
	for _, d := range docs {
		x.reproject = append(x.reproject, d.Index+"/"+d.ID)
	}
	return nil
}

// mustIndexed returns d as the projector would have indexed it.
func mustIndexed(t *testing.T, d PaymentDoc, version uint64) IndexedDoc {
	t.Helper()
	_, fp, err := EncodeDocument(d)
	if err != nil {
		t.Fatal(err)
	}
	return IndexedDoc{ID: d.ID, FP: fp, HasFP: true, Version: version}
}

// A pass over 25 payments in buckets of 4 finds exactly the documents
// that differ, leaves alone one changed while it looked and one that is
// not a document, deletes the one with a version from the future first,
// and re-projects them all; the index then equal, a second pass finds
// nothing.
func TestReconcilerPass(t *testing.T) {
	src := &recSource{payments: map[string]*PaymentDoc{}, lsn: 500}
	idx := &recIndex{docs: map[string]IndexedDoc{}}
	var ids []string
	for i := range 25 {
		d := pay(fmt.Sprint("p", i), "c1", "u1", "Shop")
		src.payments[d.ID] = &d
		idx.docs[d.ID] = mustIndexed(t, d, 10)
		ids = append(ids, d.ID)
	}
	sort.Strings(ids)
	missing, differs, future, changed, bad := ids[3], ids[9], ids[14], ids[20], ids[22]
	stray := ids[24][:35] + "f" // sorts after the last id: the open-ended bucket
	delete(idx.docs, missing)
	idx.docs[differs] = IndexedDoc{ID: differs, FP: 1, HasFP: true, Version: 11}
	idx.docs[future] = IndexedDoc{ID: future, FP: 2, HasFP: true, Version: 1 << 62}
	idx.docs[stray] = IndexedDoc{ID: stray, FP: 3, HasFP: true, Version: 1}
	idx.docs[changed] = IndexedDoc{ID: changed, FP: 4, HasFP: true, Version: 12}
	src.payments[bad] = nil
	src.onByID = func(call int) { // the write model changes `changed` between the confirming reads
		if call%2 == 0 {
			d := *src.payments[changed]
			d.Amount++
			src.payments[changed] = &d
		}
	}
	r := &Reconciler{Source: src, Index: idx, Repair: idx, Prefix: "x_", Batch: 4,
		Applied: func(context.Context) (uint64, error) { return 500, nil }}
	res, err := r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range res.Mismatches {
		got = append(got, m.ID+" "+m.Reason)
	}
	sort.Strings(got)
	want := []string{differs + " differs", future + " differs", missing + " missing", stray + " stray"}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("mismatches = %v, want %v", got, want)
	}
	if res.Documents != 25 || res.Buckets != 8 {
		t.Errorf("documents %d buckets %d, want 25 and 8 (payments: six of 4 and the open-ended last; customers: one, empty)", res.Documents, res.Buckets)
	}
	if idx.sums != 2 {
		t.Errorf("%d sum requests, want 2: one per index for its (fewer than 20) buckets", idx.sums)
	}
	if !slices.Equal(idx.deleted, []string{future}) {
		t.Errorf("deleted without version %v, want [%s]", idx.deleted, future)
	}
	sort.Strings(idx.reproject)
	var wantRe []string
	for _, w := range want {
		wantRe = append(wantRe, "x_payments/"+strings.Fields(w)[0])
	}
	if sort.Strings(wantRe); !slices.Equal(idx.reproject, wantRe) {
		t.Errorf("re-projected %v, want %v", idx.reproject, wantRe)
	}

	// The re-projection done, the index equals the write model.
	src.onByID = nil
	for _, id := range ids {
		if d := src.payments[id]; d != nil {
			idx.docs[id] = mustIndexed(t, *d, 20)
		}
	}
	delete(idx.docs, stray)
	res, err = r.Pass(context.Background())
	if err != nil || len(res.Mismatches) != 0 {
		t.Errorf("second pass: %v, %+v; want no mismatches", err, res.Mismatches)
	}
}

// A pass waits for the published position to reach its reads and gives up
// after ApplyWait.
func TestReconcilerWaitsForThePublishedPosition(t *testing.T) {
	src := &recSource{payments: map[string]*PaymentDoc{}, lsn: 500}
	idx := &recIndex{docs: map[string]IndexedDoc{}}
	calls := 0
	r := &Reconciler{Source: src, Index: idx, Prefix: "x_", ApplyWait: 50_000_000,
		Applied: func(context.Context) (uint64, error) { calls++; return 499, nil }}
	_, err := r.Pass(context.Background())
	if err == nil || !strings.Contains(err.Error(), "did not reach") {
		t.Fatalf("pass = %v, want a timeout waiting for the published position", err)
	}
	if idx.sums != 0 {
		t.Errorf("the index was read before the position was published")
	}
	if calls < 2 {
		t.Errorf("applied position asked %d times, want it polled", calls)
	}
}
