package postgres_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/command/commandtest"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

// TestStoreContract runs the command.Store contract against PostgreSQL,
// with and without group commit.
func TestStoreContract(t *testing.T) {
	for name, o := range map[string]postgres.StoreOptions{"Single": {}, "Grouped": {GroupWriters: 2}} {
		t.Run(name, func(t *testing.T) {
			commandtest.RunStoreContract(t, func(t *testing.T) command.Store {
				return postgres.NewStore(MustPool(t), o)
			})
		})
	}
}

// MustPool returns a pool on a fresh, migrated database.
func MustPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := postgres.OpenPool(ctx, testenv.MustDatabase(t), postgres.PoolOptions{MaxConns: 4, LockTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool, testenv.Logger(t)); err != nil {
		t.Fatal(err)
	}
	return pool
}

func TestParseLSN(t *testing.T) {
	for in, want := range map[string]uint64{"0/0": 0, "16/B374D848": 0x16B374D848, "FFFFFFFF/FFFFFFFF": 1<<64 - 1} {
		if got, err := domain.ParseLSN(in); err != nil || got != want {
			t.Errorf("domain.ParseLSN(%q) = %x, %v; want %x", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "16", "x/1", "1/100000000", "/"} {
		if _, err := domain.ParseLSN(bad); err == nil {
			t.Errorf("domain.ParseLSN(%q) accepted", bad)
		}
	}
}

// TestPaymentIDsAreTimeOrdered: the database generates version 7 UUIDs for
// payments (id, and payment_ref_id when the client sends none), so later
// payments sort after earlier ones and land at the end of their indexes.
func TestPaymentIDsAreTimeOrdered(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewStore(MustPool(t), postgres.StoreOptions{})
	u, _, err := s.CreateUser(ctx, command.NewUser{Email: "v7@example.com", Name: "V", PasswordHash: "$h"})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := s.CreateCustomer(ctx, u.ID, command.NewCustomer{Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	var prev domain.Payment
	for i := range 3 {
		if i > 0 {
			time.Sleep(2 * time.Millisecond) // the time part counts milliseconds
		}
		ps, _, err := s.CreatePayments(ctx, command.PaymentWrite{UserID: u.ID,
			Payments: []command.NewPayment{{CustomerID: c.ID, Amount: 1, Currency: "DKK", ThirdParty: "A"}}})
		if err != nil {
			t.Fatal(err)
		}
		p := ps[0]
		for _, id := range []string{p.ID, p.PaymentRefID} {
			if !domain.IsUUID(id) || id[14] != '7' || !strings.ContainsRune("89ab", rune(id[19])) {
				t.Errorf("%s is not a version 7, RFC 9562 variant UUID", id)
			}
		}
		ms, err := strconv.ParseInt(strings.ReplaceAll(p.ID[:13], "-", ""), 16, 64)
		if err != nil || time.UnixMilli(ms).Sub(p.CreatedAt).Abs() > time.Second {
			t.Errorf("id %s carries %v, created_at %v", p.ID, time.UnixMilli(ms), p.CreatedAt)
		}
		if i > 0 && (p.ID <= prev.ID || p.PaymentRefID <= prev.PaymentRefID) {
			t.Errorf("payment %d (%s) does not sort after %s", i, p.ID, prev.ID)
		}
		prev = p
	}
}

// TestIdempotencyRecordSnapshot: a record written before migration 00005
// (a JSON snapshot, no payment ids) still replays.
func TestIdempotencyRecordSnapshot(t *testing.T) {
	ctx := context.Background()
	pool := MustPool(t)
	s := postgres.NewStore(pool, postgres.StoreOptions{})
	u, _, err := s.CreateUser(ctx, command.NewUser{Email: "old@example.com", Name: "O", PasswordHash: "$h"})
	if err != nil {
		t.Fatal(err)
	}
	const snapshot = `[{"id": "0b9e6f3c-5a2d-4c1e-9f8a-7b6c5d4e3f2a", "date": "2024-05-01T12:00:00+00:00", "amount": 1250,
		"status": "succeeded", "user_id": "` + "%s" + `", "currency": "DKK", "created_at": "2024-05-01T12:00:01+00:00",
		"updated_at": "2024-05-01T12:00:01+00:00", "customer_id": "6d1f0a8e-2b3c-4d5e-8f9a-0b1c2d3e4f5a",
		"description": "", "third_party": "Acme", "payment_ref_id": "3f1c2b7a-9d84-4e5f-a6b7-c8d9e0f1a2b3"}]`
	if _, err := pool.Exec(ctx, `INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response_body, expires_at)
		VALUES ($1, 'old', '\x01', 201, convert_to($2, 'UTF8'), now() + interval '1 hour')`, u.ID, fmt.Sprintf(snapshot, u.ID)); err != nil {
		t.Fatal(err)
	}
	rec, err := s.IdempotencyRecord(ctx, u.ID, "old")
	if err != nil || len(rec.Payments) != 1 || rec.Payments[0].Amount != 1250 || rec.Payments[0].ThirdParty != "Acme" || rec.Commit.LSN == 0 {
		t.Fatalf("IdempotencyRecord = %+v, %v", rec, err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, expires_at)
		VALUES ($1, 'neither', '\x01', 201, now() + interval '1 hour')`, u.ID); err == nil {
		t.Error("a record with neither payment ids nor a snapshot was accepted")
	}
}
