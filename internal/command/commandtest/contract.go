package commandtest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
)

// RunStoreContract checks that the store returned by newStore (a fresh,
// empty one per call) behaves as command.Store documents. Run it against
// every implementation.
//
// long: a list of subtests, one per rule of the contract, each short; a
// test helper reads best as the whole contract in one place.
func RunStoreContract(t *testing.T, newStore func(t *testing.T) command.Store) {
	ctx := context.Background()

	mustUser := func(t *testing.T, s command.Store, email string) domain.User {
		t.Helper()
		u, _, err := s.CreateUser(ctx, command.NewUser{Email: email, Name: "N", PasswordHash: "$hash$" + email})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	mustCustomer := func(t *testing.T, s command.Store, userID string) domain.Customer {
		t.Helper()
		c, _, err := s.CreateCustomer(ctx, userID, command.NewCustomer{Name: "Shop"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	wantReason := func(t *testing.T, err error, code, reason string) {
		t.Helper()
		var e *domain.Error
		if !errors.As(err, &e) || e.Code != code || e.Reason != reason {
			t.Fatalf("err = %v, want %s (%s)", err, code, reason)
		}
	}

	t.Run("Users", func(t *testing.T) {
		s := newStore(t)
		u, c1, err := s.CreateUser(ctx, command.NewUser{Email: "Ann@Example.com", Name: "Ann", PasswordHash: "$h1"})
		if err != nil || !domain.IsUUID(u.ID) || u.Email != "Ann@Example.com" || u.CreatedAt.IsZero() || c1.LSN == 0 {
			t.Fatalf("CreateUser = %+v, %+v, %v", u, c1, err)
		}
		_, _, err = s.CreateUser(ctx, command.NewUser{Email: "ann@example.COM", Name: "Other", PasswordHash: "$h2"})
		wantReason(t, err, domain.ECONFLICT, command.ReasonEmailTaken)
		id, hash, err := s.Credentials(ctx, "ANN@example.com")
		if err != nil || id != u.ID || hash != "$h1" {
			t.Fatalf("Credentials = %q, %q, %v", id, hash, err)
		}
		if _, _, err := s.Credentials(ctx, "nobody@example.com"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("Credentials(unknown) err = %v", err)
		}
		got, err := s.User(ctx, u.ID)
		if err != nil || got.ID != u.ID || got.Name != "Ann" || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("User = %+v, %v", got, err)
		}
		if _, err := s.User(ctx, "00000000-0000-4000-8000-000000000000"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("User(unknown) err = %v", err)
		}
	})

	t.Run("Customers", func(t *testing.T) {
		s := newStore(t)
		owner, other := mustUser(t, s, "o@example.com"), mustUser(t, s, "x@example.com")
		email := "shop@example.com"
		c, _, err := s.CreateCustomer(ctx, owner.ID, command.NewCustomer{Name: "Shop", Email: &email})
		if err != nil || c.Name != "Shop" || c.Email == nil || *c.Email != email {
			t.Fatalf("CreateCustomer = %+v, %v", c, err)
		}
		if got, err := s.Customer(ctx, owner.ID, c.ID); err != nil || got.ID != c.ID {
			t.Fatalf("Customer(owner) = %+v, %v", got, err)
		}
		_, err = s.Customer(ctx, other.ID, c.ID)
		wantReason(t, err, domain.ENOTFOUND, command.ReasonCustomerNotFound)
		_, _, err = s.UpdateCustomer(ctx, other.ID, c.ID, command.CustomerUpdate{SetName: true, Name: "Stolen"})
		wantReason(t, err, domain.ENOTFOUND, command.ReasonCustomerNotFound)
		up, _, err := s.UpdateCustomer(ctx, owner.ID, c.ID, command.CustomerUpdate{SetName: true, Name: "Renamed"})
		if err != nil || up.Name != "Renamed" || up.Email == nil || *up.Email != email || up.UpdatedAt.Before(c.UpdatedAt) {
			t.Fatalf("rename = %+v, %v", up, err)
		}
		up, _, err = s.UpdateCustomer(ctx, owner.ID, c.ID, command.CustomerUpdate{SetEmail: true})
		if err != nil || up.Name != "Renamed" || up.Email != nil {
			t.Fatalf("clear email = %+v, %v", up, err)
		}
	})

	t.Run("Links", func(t *testing.T) {
		s := newStore(t)
		a, b, x := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com"), mustUser(t, s, "x@example.com")
		c := mustCustomer(t, s, a.ID)
		const nobody = "00000000-0000-4000-8000-000000000000"
		_, err := s.Link(ctx, x.ID, c.ID, x.ID)
		wantReason(t, err, domain.ENOTFOUND, command.ReasonCustomerNotFound)
		_, err = s.Link(ctx, a.ID, c.ID, nobody)
		wantReason(t, err, domain.ENOTFOUND, command.ReasonUserNotFound)
		_, err = s.Unlink(ctx, a.ID, c.ID, nobody)
		wantReason(t, err, domain.ENOTFOUND, command.ReasonUserNotFound)
		_, err = s.LinkByEmail(ctx, a.ID, c.ID, "nobody@example.com")
		wantReason(t, err, domain.ENOTFOUND, command.ReasonUserNotFound)
		_, err = s.LinkByEmail(ctx, x.ID, c.ID, "b@example.com")
		wantReason(t, err, domain.ENOTFOUND, command.ReasonCustomerNotFound)
		for range 2 {
			if _, err := s.LinkByEmail(ctx, a.ID, c.ID, "B@EXAMPLE.COM"); err != nil {
				t.Fatalf("LinkByEmail: %v", err)
			}
		}
		if _, err := s.Customer(ctx, b.ID, c.ID); err != nil {
			t.Fatalf("b is not linked: %v", err)
		}
		if _, err := s.Unlink(ctx, a.ID, c.ID, x.ID); err != nil {
			t.Fatalf("unlinking a user who is not linked: %v", err)
		}
		if _, err := s.Unlink(ctx, b.ID, c.ID, a.ID); err != nil {
			t.Fatalf("Unlink: %v", err)
		}
		_, err = s.Unlink(ctx, b.ID, c.ID, b.ID)
		wantReason(t, err, domain.ECONFLICT, command.ReasonLastLink)
		_, err = s.Customer(ctx, a.ID, c.ID)
		wantReason(t, err, domain.ENOTFOUND, command.ReasonCustomerNotFound)
	})

	t.Run("Payments", func(t *testing.T) {
		s := newStore(t)
		u, stranger := mustUser(t, s, "p@example.com"), mustUser(t, s, "s@example.com")
		c := mustCustomer(t, s, u.ID)
		foreign := mustCustomer(t, s, stranger.ID)
		date := time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC)
		ref := "3f1c2b7a-9d84-4e5f-a6b7-c8d9e0f1a2b3"
		items := []command.NewPayment{
			{CustomerID: c.ID, Amount: 1, Currency: "DKK", ThirdParty: "A"},
			{CustomerID: c.ID, Amount: 2, Currency: "EUR", ThirdParty: "B", Description: "d", PaymentRefID: ref, Date: &date},
		}
		key := &command.IdempotencyClaim{Key: "k", RequestHash: []byte{1, 2, 3}, TTL: time.Hour}
		ps, commit, err := s.CreatePayments(ctx, command.PaymentWrite{UserID: u.ID, Payments: items, Idempotency: key})
		if err != nil || len(ps) != 2 || commit.LSN == 0 {
			t.Fatalf("CreatePayments = %+v, %v", ps, err)
		}
		if p := ps[1]; p.Amount != 2 || p.PaymentRefID != ref || !p.Date.Equal(date) || p.UserID != u.ID || p.Status != domain.StatusPending || p.Description != "d" {
			t.Errorf("second payment %+v", p)
		}
		if p := ps[0]; p.Amount != 1 || !domain.IsUUID(p.PaymentRefID) || !p.Date.Equal(p.CreatedAt) {
			t.Errorf("first payment %+v", p)
		}

		rec, err := s.IdempotencyRecord(ctx, u.ID, "k")
		if err != nil || rec.Expired || rec.StatusCode != 201 || !slices.Equal(rec.RequestHash, []byte{1, 2, 3}) || rec.Commit.LSN < commit.LSN {
			t.Fatalf("IdempotencyRecord = %+v, %v", rec, err)
		}
		if len(rec.Payments) != 2 {
			t.Fatalf("record holds %d payments", len(rec.Payments))
		}
		for i := range ps {
			a, b := ps[i], rec.Payments[i]
			if a.ID != b.ID || a.PaymentRefID != b.PaymentRefID || a.Amount != b.Amount || a.Description != b.Description ||
				!a.Date.Equal(b.Date) || !a.CreatedAt.Equal(b.CreatedAt) || a.Status != b.Status || a.CustomerID != b.CustomerID {
				t.Errorf("record payment %d = %+v, want %+v", i, b, a)
			}
		}
		if _, err := s.IdempotencyRecord(ctx, stranger.ID, "k"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("another user's key: err = %v", err)
		}

		one := []command.NewPayment{{CustomerID: c.ID, Amount: 3, Currency: "DKK", ThirdParty: "C"}}
		_, _, err = s.CreatePayments(ctx, command.PaymentWrite{UserID: u.ID, Payments: one, Idempotency: key})
		if !errors.Is(err, command.ErrIdempotencyKeyExists) {
			t.Errorf("reused key: err = %v, want ErrIdempotencyKeyExists", err)
		}
		dupItems := []command.NewPayment{one[0], {CustomerID: c.ID, Amount: 4, Currency: "DKK", ThirdParty: "D", PaymentRefID: ref}}
		var dup *command.DuplicateRefError
		if _, _, err = s.CreatePayments(ctx, command.PaymentWrite{UserID: u.ID, Payments: dupItems}); !errors.As(err, &dup) || !slices.Equal(dup.Indexes, []int{1}) {
			t.Errorf("duplicate ref: err = %v, want DuplicateRefError{[1]}", err)
		}
		// payment_ref_id is unique per customer: another customer (of this
		// user, or another tenant's) may use the same reference.
		c2 := mustCustomer(t, s, u.ID)
		for _, w := range []command.PaymentWrite{
			{UserID: u.ID, Payments: []command.NewPayment{{CustomerID: c2.ID, Amount: 7, Currency: "DKK", ThirdParty: "G", PaymentRefID: ref}}},
			{UserID: stranger.ID, Payments: []command.NewPayment{{CustomerID: foreign.ID, Amount: 8, Currency: "DKK", ThirdParty: "H", PaymentRefID: ref}}},
		} {
			if ps, _, err := s.CreatePayments(ctx, w); err != nil || len(ps) != 1 || ps[0].PaymentRefID != ref {
				t.Errorf("the same ref for customer %s: %+v, %v; want it created", w.Payments[0].CustomerID, ps, err)
			}
		}
		if _, _, err = s.CreatePayments(ctx, command.PaymentWrite{UserID: u.ID, Payments: []command.NewPayment{
			{CustomerID: c.ID, Amount: 9, Currency: "DKK", ThirdParty: "I"},
			{CustomerID: c2.ID, Amount: 9, Currency: "DKK", ThirdParty: "I", PaymentRefID: ref}}}); !errors.As(err, &dup) || !slices.Equal(dup.Indexes, []int{1}) {
			t.Errorf("duplicate ref of the second customer: err = %v, want DuplicateRefError{[1]}", err)
		}
		mixed := []command.NewPayment{one[0], {CustomerID: foreign.ID, Amount: 5, Currency: "DKK", ThirdParty: "E"},
			{CustomerID: "00000000-0000-4000-8000-000000000000", Amount: 6, Currency: "DKK", ThirdParty: "F"}}
		var nl *command.NotLinkedError
		if _, _, err = s.CreatePayments(ctx, command.PaymentWrite{UserID: u.ID, Payments: mixed}); !errors.As(err, &nl) || !slices.Equal(nl.Indexes, []int{1, 2}) {
			t.Errorf("foreign customers: err = %v, want NotLinkedError{[1 2]}", err)
		}
		for i, single := range [][]command.NewPayment{mixed[1:2], dupItems[1:2]} {
			if _, _, err := s.CreatePayments(ctx, command.PaymentWrite{UserID: u.ID, Payments: single}); err == nil {
				t.Errorf("single bad payment %d was accepted", i)
			}
		}

		// Only the first write went through.
		rec2, _ := s.IdempotencyRecord(ctx, u.ID, "k")
		if len(rec2.Payments) != 2 {
			t.Errorf("the key's record changed")
		}

		short := &command.IdempotencyClaim{Key: "short", RequestHash: []byte{9}, TTL: time.Millisecond}
		if _, _, err := s.CreatePayments(ctx, command.PaymentWrite{UserID: u.ID, Payments: one, Idempotency: short}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		if rec, err := s.IdempotencyRecord(ctx, u.ID, "short"); err != nil || !rec.Expired {
			t.Fatalf("short-lived key: %+v, %v; want expired", rec, err)
		}
		if err := s.DeleteExpiredIdempotencyKey(ctx, u.ID, "k"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.IdempotencyRecord(ctx, u.ID, "k"); err != nil {
			t.Errorf("a live key was deleted as expired: %v", err)
		}
		if n, err := s.DeleteExpiredIdempotencyKeys(ctx, 10); err != nil || n != 1 {
			t.Errorf("DeleteExpiredIdempotencyKeys = %d, %v; want 1", n, err)
		}
		if _, err := s.IdempotencyRecord(ctx, u.ID, "short"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("expired key still there: %v", err)
		}
	})
}
