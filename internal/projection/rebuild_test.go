package projection

import (
	"context"
	"sync"
	"testing"
)

// twoIndices answers bulks to the aliases and to concrete indices with the
// results given per index, and records what was sent where.
type twoIndices struct {
	IndexWriter // only Bulk and BulkDirect are used
	mu          sync.Mutex
	sent        map[string][]string // index → ids
	status      map[string]ItemStatus
}

func (x *twoIndices) answer(ops []IndexOp) []ItemResult {
	x.mu.Lock()
	defer x.mu.Unlock()
	res := make([]ItemResult, len(ops))
	for i, op := range ops {
		x.sent[op.Index] = append(x.sent[op.Index], op.ID)
		res[i] = ItemResult{Status: x.status[op.Index]}
	}
	return res
}

func (x *twoIndices) Bulk(_ context.Context, ops []IndexOp) ([]ItemResult, error) {
	return x.answer(ops), nil
}

func (x *twoIndices) BulkDirect(_ context.Context, ops []IndexOp) ([]ItemResult, error) {
	return x.answer(ops), nil
}

// While a rebuild runs, every bulk goes to the aliases and to the new
// generation's indices (payments to payments, customers to customers), and
// an op's result is the worse of the two; without one, to the aliases only.
func TestMirrorWritesBothGenerations(t *testing.T) {
	x := &twoIndices{sent: map[string][]string{}, status: map[string]ItemStatus{
		"p_payments": ItemApplied, "p_customers": ItemApplied, "p_payments_v6_new": ItemConflict, "p_customers_v6_new": ItemRetry,
	}}
	m := &mirror{w: x, payAlias: "p_payments"}
	ops := []IndexOp{{Index: "p_payments", ID: "a"}, {Index: "p_customers", ID: "c"}}
	if _, err := m.Bulk(context.Background(), ops); err != nil {
		t.Fatal(err)
	}
	if len(x.sent) != 2 {
		t.Fatalf("without a rebuild, sent to %v; want the aliases only", x.sent)
	}
	m.set(&Generation{Payments: "p_payments_v6_new", Customers: "p_customers_v6_new"})
	res, err := m.Bulk(context.Background(), ops)
	if err != nil {
		t.Fatal(err)
	}
	if got := x.sent["p_payments_v6_new"]; len(got) != 1 || got[0] != "a" {
		t.Errorf("new payments index got %v, want [a]", got)
	}
	if got := x.sent["p_customers_v6_new"]; len(got) != 1 || got[0] != "c" {
		t.Errorf("new customers index got %v, want [c]", got)
	}
	if res[0].Status != ItemConflict || res[1].Status != ItemRetry {
		t.Errorf("results %v, want the worse of each pair (conflict, retry)", res)
	}
}
