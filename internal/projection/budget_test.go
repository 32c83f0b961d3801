package projection

import "testing"

func TestBudget(t *testing.T) {
	tests := []struct {
		name  string
		limit int
		steps []int // >0 take, <0 release
		want  []bool
	}{
		{name: "WithinLimit", limit: 10, steps: []int{4, 6}, want: []bool{true, true}},
		{name: "OverLimitRefused", limit: 10, steps: []int{6, 5}, want: []bool{true, false}},
		{name: "OversizedAdmittedWhenEmpty", limit: 10, steps: []int{50, 1}, want: []bool{true, false}},
		{name: "ReleaseMakesRoom", limit: 10, steps: []int{8, 5, -8, 5}, want: []bool{true, false, true, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBudget(tc.limit)
			var got []bool
			for _, n := range tc.steps {
				if n < 0 {
					b.Release(-n)
					select {
					case <-b.Freed():
					default:
						t.Fatal("Release did not signal Freed")
					}
					got = append(got, true)
					continue
				}
				got = append(got, b.TryTake(n))
			}
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Fatalf("step %d (%d): got %v, want %v (all %v)", i, tc.steps[i], got[i], tc.want[i], got)
				}
			}
		})
	}
}

func TestPlannerChunkedTransaction(t *testing.T) {
	s := func(v string) *string { return &v }
	chunk := func(ids []string, partial bool, end uint64) Tx {
		tx := Tx{Xid: 7, CommitLSN: 100, EndLSN: end, Partial: partial}
		for _, id := range ids {
			tx.Changes = append(tx.Changes, Change{Table: TablePayments, Op: OpInsert, New: Row{"id": s(id)}})
		}
		return tx
	}
	tests := []struct {
		name     string
		txs      []Tx
		wantTxs  int
		wantEnd  uint64
		wantDocs int
		wantXids int
	}{
		{name: "PartialChunkAcknowledgesNothing", txs: []Tx{chunk([]string{"a", "b"}, true, 0)}, wantTxs: 0, wantEnd: 0, wantDocs: 2, wantXids: 1},
		{name: "LastChunkCompletes", txs: []Tx{chunk([]string{"a"}, true, 0), chunk([]string{"b"}, false, 120)}, wantTxs: 1, wantEnd: 120, wantDocs: 2, wantXids: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, p := NewPlanner(""), NewPlan()
			for _, tx := range tc.txs {
				pl.Add(p, tx)
			}
			if p.Txs != tc.wantTxs || p.LastEnd != tc.wantEnd || p.Docs() != tc.wantDocs || len(p.Xids) != tc.wantXids {
				t.Fatalf("plan: txs %d end %d docs %d xids %v; want %d %d %d %d", p.Txs, p.LastEnd, p.Docs(), p.Xids, tc.wantTxs, tc.wantEnd, tc.wantDocs, tc.wantXids)
			}
			for id, v := range p.Payments {
				if v != 100 {
					t.Errorf("payment %s version %d, want the commit LSN 100", id, v)
				}
			}
		})
	}
}
