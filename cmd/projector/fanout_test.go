package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
)

// A customer with tens of thousands of payments is renamed. Its payments
// are re-projected beside the stream: changes of other customers (a new
// payment, an unlink) become searchable while some of its payments still
// carry the old name; its own payments updated meanwhile, and a second
// rename racing the first, end in their final state; the slot is not
// acknowledged past the rename until the fan-out is done, so a kill -9 in
// the middle of one loses nothing.
//
// long: one scenario in phases (race, then kill -9), sharing the seeded
// customer, which is what takes time.
func TestFanoutBesideTheStream(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	const big = 40_000
	w := e.seed(ctx, 2, 2, 0)
	bigCustomer, other := w.customers[0], w.customers[1]
	e.insertPayments(ctx, world{users: w.users, customers: []string{bigCustomer}}, big)
	e.insertPayments(ctx, world{users: w.users, customers: []string{other}}, 10)
	addr := freeAddr(t)
	vars := e.vars("PROJECTOR_REPROJECT_BATCH", "500", "PROJECTOR_ADDR", addr)
	p := e.spawn(vars)
	waitRole(t, addr, "active", 60*time.Second)
	e.waitConsistent(ctx, 60*time.Second)

	before := e.walLSN(ctx)
	e.exec(ctx, `UPDATE customers SET name = 'Renamed 1' WHERE id = $1`, bigCustomer)
	// Changes of another customer, right behind the rename.
	payment := e.createPayment(ctx, other, w.users[1])
	e.exec(ctx, `DELETE FROM customer_users WHERE customer_id = $1`, other)
	e.waitApplied(ctx, e.walLSN(ctx), 30*time.Second)
	stale := e.withName(ctx, bigCustomer, "Shop 0")
	if stale == 0 {
		t.Fatal("the fan-out was already done when the next changes were published: nothing shows that it ran beside the stream")
	}
	if _, ok := e.doc(ctx, payment); !ok {
		t.Fatal("the other customer's payment is not searchable at the published position")
	}
	if users := e.customerUsers(ctx, other); len(users) != 0 {
		t.Fatalf("the unlink is not in the access document at the published position: users %v", users)
	}
	if got := e.slotConfirmed(ctx); got > before {
		t.Fatalf("slot acknowledged %s, past the unfinished rename (at or after %s)", domain.FormatLSN(got), domain.FormatLSN(before))
	}
	t.Logf("published the next changes with %d of %d payments still carrying the old name", stale, big)

	// Newer changes race the fan-out: updates of its last payments (the
	// fan-out reaches them last) and a second rename.
	e.exec(ctx, `UPDATE payments SET amount = amount + 1 WHERE id IN
		(SELECT id FROM payments WHERE customer_id = $1 ORDER BY id DESC LIMIT 200)`, bigCustomer)
	e.exec(ctx, `UPDATE customers SET name = 'Renamed 2' WHERE id = $1`, bigCustomer)
	e.waitConsistent(ctx, 90*time.Second)
	waitMetric(t, addr, "projector_fanout_pending", 0)
	if got := metric(t, addr, "projector_fanout_documents_total"); got == 0 {
		t.Error("projector_fanout_documents_total = 0")
	}

	// kill -9 in the middle of a fan-out: the restarted projector replays
	// the rename (the slot was held before it) and finishes the job.
	e.exec(ctx, `UPDATE customers SET name = 'Renamed 3' WHERE id = $1`, bigCustomer)
	deadline := time.Now().Add(30 * time.Second)
	for e.withName(ctx, bigCustomer, "Renamed 3") < 2000 {
		if time.Now().After(deadline) {
			t.Fatal("the fan-out of the third rename did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.kill9(t)
	if n := e.withName(ctx, bigCustomer, "Renamed 3"); n == big {
		t.Log("the fan-out had finished when it was killed: the replay is checked anyway")
	}
	e.spawn(vars)
	e.waitConsistent(ctx, 90*time.Second)
	if n := e.withName(ctx, bigCustomer, "Renamed 3"); n != big {
		t.Fatalf("%d of %d payments carry the last name", n, big)
	}
}

// withName counts the customer's payment documents that carry name.
func (e *env) withName(ctx context.Context, customer, name string) int {
	return e.count(ctx, projection.PaymentsAlias(e.prefix), map[string]any{"bool": map[string]any{"filter": []any{
		map[string]any{"term": map[string]any{"customer_id": customer}},
		map[string]any{"term": map[string]any{"customer_name.raw": name}},
	}}})
}

// customerUsers returns the user ids of a customer's access document.
func (e *env) customerUsers(ctx context.Context, customer string) []string {
	e.t.Helper()
	var doc projection.CustomerDoc
	found := false
	e.must(e.scan(ctx, projection.CustomersAlias(e.prefix), func(raw json.RawMessage) error {
		var d projection.CustomerDoc
		if err := json.Unmarshal(raw, &d); err != nil {
			return err
		}
		if d.ID == customer {
			doc, found = d, true
		}
		return nil
	}))
	if !found {
		e.t.Fatalf("no access document for customer %s", customer)
	}
	return doc.UserIDs
}
