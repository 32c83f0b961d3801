package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/postgres"
)

// groupFixture is a store with group commit on and one writer, whose
// groups can be held: hold() starts a request whose group blocks until
// release(), so the next requests queue and go together in one group.
type groupFixture struct {
	pool    *pgxpool.Pool
	s       *postgres.Store
	ann     domain.User
	bob     domain.User
	annShop domain.Customer
	bobShop domain.Customer
	sizes   chan int
	gate    chan struct{}
	held    chan groupOutcome
}

type groupOutcome struct {
	ps  []domain.Payment
	c   command.Commit
	err error
}

func newGroupFixture(t *testing.T) *groupFixture {
	t.Helper()
	ctx := context.Background()
	f := &groupFixture{pool: MustPool(t), sizes: make(chan int, 1000), gate: make(chan struct{})}
	f.s = postgres.NewStore(f.pool, postgres.StoreOptions{GroupWriters: 1})
	var err error
	mk := func(email string) (domain.User, domain.Customer) {
		u, _, e1 := f.s.CreateUser(ctx, command.NewUser{Email: email, Name: email, PasswordHash: "$h"})
		c, _, e2 := f.s.CreateCustomer(ctx, u.ID, command.NewCustomer{Name: "Shop of " + email})
		err = errors.Join(err, e1, e2)
		return u, c
	}
	f.ann, f.annShop = mk("ann@example.com")
	f.bob, f.bobShop = mk("bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	postgres.SetBeforeFlush(f.s, func(n int) {
		f.sizes <- n
		<-f.gate
	})
	return f
}

func (f *groupFixture) write(ctx context.Context, user domain.User, p command.NewPayment, key string) groupOutcome {
	w := command.PaymentWrite{UserID: user.ID, Payments: []command.NewPayment{p}}
	if key != "" {
		w.Idempotency = &command.IdempotencyClaim{Key: key, RequestHash: []byte(key + "-hash"), TTL: time.Hour}
	}
	ps, c, err := f.s.CreatePayments(ctx, w)
	return groupOutcome{ps, c, err}
}

// hold starts a request whose group holds the only writer until release.
func (f *groupFixture) hold(t *testing.T) {
	t.Helper()
	f.held = make(chan groupOutcome, 1)
	go func() {
		f.held <- f.write(context.Background(), f.ann, pay(f.annShop, 1), "")
	}()
	if n := <-f.sizes; n != 1 {
		t.Fatalf("holding group has %d members", n)
	}
}

// queue starts the writes and waits until all of them wait for the writer.
func (f *groupFixture) queue(t *testing.T, writes []func() groupOutcome) []chan groupOutcome {
	t.Helper()
	out := make([]chan groupOutcome, len(writes))
	for i, w := range writes {
		out[i] = make(chan groupOutcome, 1)
		go func() { out[i] <- w() }()
	}
	deadline := time.Now().Add(10 * time.Second)
	for postgres.Queued(f.s) < len(writes) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests queued", postgres.Queued(f.s), len(writes))
		}
		time.Sleep(time.Millisecond)
	}
	return out
}

// release lets the held group and every later one through and returns the
// size of the group after the held one.
func (f *groupFixture) release(t *testing.T) int {
	t.Helper()
	close(f.gate)
	if o := <-f.held; o.err != nil {
		t.Fatalf("held write: %v", o.err)
	}
	select {
	case n := <-f.sizes:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no group after the held one")
		return 0
	}
}

func (f *groupFixture) count(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), "SELECT count(*) FROM payments").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func pay(c domain.Customer, amount int64) command.NewPayment {
	return command.NewPayment{CustomerID: c.ID, Amount: amount, Currency: "DKK", ThirdParty: "Acme"}
}

// TestGroupCommit: requests that queue while the writer is busy go in one
// transaction, each with its own user, status and key, and each gets its
// own answer; a member whose customer is not linked is left out.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	f := newGroupFixture(t)
	date := time.Date(2025, 3, 4, 5, 6, 7, 891000000, time.UTC)
	const ref = "0b9e6f3c-5a2d-4c1e-9f8a-7b6c5d4e3f2a"
	withRef := command.NewPayment{CustomerID: f.annShop.ID, Amount: 42_00, Currency: "EUR", ThirdParty: "Nordic Freight",
		Description: "invoice 7", PaymentRefID: ref, Date: &date}
	writes := []func() groupOutcome{
		func() groupOutcome { return f.write(ctx, f.ann, pay(f.annShop, 100), "k0") },
		func() groupOutcome { return f.write(ctx, f.ann, pay(f.annShop, 101), "") },
		func() groupOutcome { return f.write(ctx, f.ann, pay(f.bobShop, 102), "k2") }, // not linked
		func() groupOutcome { return f.write(ctx, f.bob, pay(f.bobShop, 103), "k0") }, // same key, other user
		func() groupOutcome { return f.write(ctx, f.ann, withRef, "k4") },
	}
	for i := 5; i < 12; i++ {
		writes = append(writes, func() groupOutcome {
			return f.write(ctx, f.ann, pay(f.annShop, int64(100+i)), fmt.Sprintf("k%d", i))
		})
	}
	f.hold(t)
	results := f.queue(t, writes)
	if n := f.release(t); n != len(writes) {
		t.Fatalf("group of %d, want all %d queued requests", n, len(writes))
	}

	var lsn uint64
	for i, ch := range results {
		o := <-ch
		if i == 2 {
			var nl *command.NotLinkedError
			if !errors.As(o.err, &nl) || !slices.Equal(nl.Indexes, []int{0}) {
				t.Errorf("write 2 (not linked): err = %v, want NotLinkedError{[0]}", o.err)
			}
			continue
		}
		if o.err != nil || len(o.ps) != 1 {
			t.Fatalf("write %d: %+v, %v", i, o.ps, o.err)
		}
		if lsn == 0 {
			lsn = o.c.LSN
		}
		if o.c.LSN == 0 || o.c.LSN != lsn {
			t.Errorf("write %d: commit %d, want the group's %d", i, o.c.LSN, lsn)
		}
		p := o.ps[0]
		if !domain.IsUUID(p.ID) || !domain.IsUUID(p.PaymentRefID) || p.CreatedAt.IsZero() {
			t.Errorf("write %d: %+v", i, p)
		}
		switch i {
		case 1:
			if p.Status != domain.StatusPending || p.Amount != 101 || p.UserID != f.ann.ID {
				t.Errorf("write 1: %+v", p)
			}
		case 3:
			if p.Status != domain.StatusPending || p.UserID != f.bob.ID || p.CustomerID != f.bobShop.ID || p.Amount != 103 {
				t.Errorf("write 3: %+v", p)
			}
		case 4:
			if p.PaymentRefID != ref || !p.Date.Equal(date) || p.Description != "invoice 7" || p.Currency != "EUR" || p.Amount != 42_00 {
				t.Errorf("write 4: %+v", p)
			}
		default:
			if p.Amount != int64(100+i) || p.UserID != f.ann.ID || p.Status != domain.StatusPending {
				t.Errorf("write %d: %+v", i, p)
			}
		}
		key := fmt.Sprintf("k%d", i)
		user := f.ann
		if i == 3 {
			key, user = "k0", f.bob
		}
		if i == 1 {
			continue
		}
		rec, err := f.s.IdempotencyRecord(ctx, user.ID, key)
		if err != nil || rec.StatusCode != 201 || string(rec.RequestHash) != key+"-hash" || len(rec.Payments) != 1 ||
			rec.Payments[0].ID != p.ID || !rec.Payments[0].Date.Equal(p.Date) || rec.Payments[0].Status != p.Status {
			t.Errorf("write %d: key %s of %s: %+v, %v", i, key, user.Email, rec, err)
		}
	}
	if _, err := f.s.IdempotencyRecord(ctx, f.ann.ID, "k2"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("the not-linked write recorded its key: %v", err)
	}
	if n := f.count(t); n != 1+len(writes)-1 {
		t.Errorf("%d payments in the table, want %d", n, len(writes))
	}
}

// TestGroupFallback: a group whose statement fails is written member by
// member, and each member gets the answer it would have had alone.
func TestGroupFallback(t *testing.T) {
	ctx := context.Background()
	f := newGroupFixture(t)
	used := command.PaymentWrite{UserID: f.ann.ID, Payments: []command.NewPayment{pay(f.annShop, 1)},
		Idempotency: &command.IdempotencyClaim{Key: "used", RequestHash: []byte("used-hash"), TTL: time.Hour}}
	if _, _, err := postgres.NewStore(f.pool, postgres.StoreOptions{}).CreatePayments(ctx, used); err != nil {
		t.Fatal(err)
	}

	const ref = "6d1f0a8e-2b3c-4d5e-8f9a-0b1c2d3e4f5a"
	dup := pay(f.annShop, 7)
	dup.PaymentRefID = ref
	writes := []func() groupOutcome{
		func() groupOutcome { return f.write(ctx, f.ann, dup, "") },
		func() groupOutcome { return f.write(ctx, f.ann, dup, "") },
		func() groupOutcome { return f.write(ctx, f.ann, pay(f.annShop, 8), "used") },
		func() groupOutcome { return f.write(ctx, f.ann, pay(f.annShop, 9), "fresh") },
		func() groupOutcome { return f.write(ctx, f.ann, pay(f.bobShop, 10), "") },
	}
	f.hold(t)
	results := f.queue(t, writes)
	if n := f.release(t); n != len(writes) {
		t.Fatalf("group of %d, want %d", n, len(writes))
	}
	out := make([]groupOutcome, len(results))
	for i, ch := range results {
		out[i] = <-ch
	}
	if got := postgres.GroupFallbacks(f.s); got != 1 {
		t.Errorf("fallbacks = %v, want 1", got)
	}
	var dupErr *command.DuplicateRefError
	okDup := 0
	for _, o := range out[:2] {
		switch {
		case o.err == nil && o.ps[0].PaymentRefID == ref:
			okDup++
		case errors.As(o.err, &dupErr) && slices.Equal(dupErr.Indexes, []int{0}):
		default:
			t.Errorf("duplicate ref write: %+v, %v", o.ps, o.err)
		}
	}
	if okDup != 1 {
		t.Errorf("%d of the two writes with one payment_ref_id succeeded, want 1", okDup)
	}
	if !errors.Is(out[2].err, command.ErrIdempotencyKeyExists) {
		t.Errorf("recorded key: err = %v, want ErrIdempotencyKeyExists", out[2].err)
	}
	if out[3].err != nil || out[3].ps[0].Amount != 9 {
		t.Errorf("fresh key: %+v, %v", out[3].ps, out[3].err)
	}
	var nl *command.NotLinkedError
	if !errors.As(out[4].err, &nl) {
		t.Errorf("not linked: err = %v", out[4].err)
	}
	// "used", the holding write, one of the duplicates and "fresh".
	if n := f.count(t); n != 4 {
		t.Errorf("%d payments in the table, want 4", n)
	}
}

// TestGroupCancelledWhileQueued: a request whose caller gave up before its
// group was written is not written.
func TestGroupCancelledWhileQueued(t *testing.T) {
	f := newGroupFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	f.hold(t)
	results := f.queue(t, []func() groupOutcome{
		func() groupOutcome { return f.write(ctx, f.ann, pay(f.annShop, 5), "gone") },
	})
	cancel()
	if o := <-results[0]; o.err == nil {
		t.Fatalf("cancelled write returned %+v", o.ps)
	}
	close(f.gate)
	<-f.held
	if _, err := f.s.IdempotencyRecord(context.Background(), f.ann.ID, "gone"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("the cancelled write recorded its key: %v", err)
	}
	if n := f.count(t); n != 1 {
		t.Errorf("%d payments, want only the holding one", n)
	}
}

// TestGroupConcurrent: many concurrent writers, some retrying with one
// Idempotency-Key, through two group writers: every key takes effect once,
// every other write exactly once.
func TestGroupConcurrent(t *testing.T) {
	ctx := context.Background()
	pool := MustPool(t)
	s := postgres.NewStore(pool, postgres.StoreOptions{GroupWriters: 2, GroupMaxSize: 16})
	u, _, err := s.CreateUser(ctx, command.NewUser{Email: "c@example.com", Name: "C", PasswordHash: "$h"})
	if err != nil {
		t.Fatal(err)
	}
	shop, _, err := s.CreateCustomer(ctx, u.ID, command.NewCustomer{Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	const writers, keyed, keys = 240, 120, 20
	var mu sync.Mutex
	created := map[string]int{} // key → successes
	var plain, failed int
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			w := command.PaymentWrite{UserID: u.ID, Payments: []command.NewPayment{pay(shop, int64(1+i))}}
			key := ""
			if i < keyed {
				key = fmt.Sprintf("retry-%d", i%keys)
				w.Idempotency = &command.IdempotencyClaim{Key: key, RequestHash: []byte(key), TTL: time.Hour}
			}
			_, _, err := s.CreatePayments(ctx, w)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && key != "":
				created[key]++
			case err == nil:
				plain++
			case key != "" && (errors.Is(err, command.ErrIdempotencyKeyExists) || errors.Is(err, command.ErrLockTimeout)):
			default:
				failed++
				t.Errorf("write %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for k := range keys {
		if n := created[fmt.Sprintf("retry-%d", k)]; n != 1 {
			t.Errorf("key retry-%d took effect %d times", k, n)
		}
	}
	if plain != writers-keyed {
		t.Errorf("%d unkeyed writes succeeded, want %d", plain, writers-keyed)
	}
	var rows int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM payments").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if want := writers - keyed + keys; rows != want {
		t.Errorf("%d payments in the table, want %d", rows, want)
	}
}
