package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/command/commandtest"
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
		if got, err := postgres.ParseLSN(in); err != nil || got != want {
			t.Errorf("ParseLSN(%q) = %x, %v; want %x", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "16", "x/1", "1/100000000", "/"} {
		if _, err := postgres.ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) accepted", bad)
		}
	}
}
