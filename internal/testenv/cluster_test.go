package testenv

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestClusterAdminPassword: scripts/postgres.sh gives the superuser a random
// password kept in .run/ (mode 0600), never "postgres", and the app role is
// no superuser; a cluster from before (password "postgres", no file) moves
// to a random one on its next start.
func TestClusterAdminPassword(t *testing.T) {
	c := MustCluster(t)
	file := filepath.Join(c.Root, ".run", "postgres-admin.password")
	check := func(t *testing.T) {
		t.Helper()
		st, err := os.Stat(file)
		if err != nil {
			t.Fatalf("password file: %v", err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("password file mode %v, want 0600", st.Mode().Perm())
		}
		admin := c.AdminURL()
		u, err := url.Parse(admin)
		if err != nil {
			t.Fatal(err)
		}
		pw, _ := u.User.Password()
		if pw == "postgres" || len(pw) < 24 {
			t.Errorf("admin password %q, want a long random one", pw)
		}
		mustConnect(t, admin, true)
		u.User = url.UserPassword("postgres", "postgres")
		mustConnect(t, u.String(), false)
		app := mustConnect(t, c.MustRun("url"), true)
		var super bool
		if err := app.QueryRow(context.Background(), "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil || super {
			t.Errorf("app role superuser = %v (%v), want false", super, err)
		}
	}
	t.Run("Fresh", check)
	t.Run("MigratedOnNextStart", func(t *testing.T) {
		// A cluster from before: superuser password "postgres", no file.
		admin := mustConnect(t, c.AdminURL(), true)
		if _, err := admin.Exec(context.Background(), "ALTER ROLE postgres PASSWORD 'postgres'"); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
		old, _ := url.Parse(c.AdminURL())
		if pw, _ := old.User.Password(); pw != "postgres" {
			t.Fatalf("admin-url before the next start names %q, want the old password", pw)
		}
		c.MustRun("start") // running: start re-applies the roles
		check(t)
	})
}

// mustConnect connects to u; want says whether that should work.
func mustConnect(t *testing.T, u string, want bool) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if (err == nil) != want {
		t.Fatalf("connect %s: err %v, want success %v", redact(u), err, want)
	}
	if conn != nil {
		t.Cleanup(func() { conn.Close(context.Background()) })
	}
	return conn
}
