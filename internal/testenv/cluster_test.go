package testenv

import (
	"context"
	"net/url"
	"os"
	"os/exec"
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

// TestRunFilesPrivate: logs and the services' .env files under .run/ hold
// URLs with passwords and request details; the scripts keep them readable
// by their owner only (issue 18, low finding): the cluster's logs, and what
// lib.sh's ensure_run_dirs and private_file leave behind.
func TestRunFilesPrivate(t *testing.T) {
	c := MustCluster(t)
	for _, name := range []string{"postgres.log", "initdb.log"} {
		mustMode(t, filepath.Join(c.Root, ".run", "logs", name), 0o600)
	}

	root := t.TempDir()
	src, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	lib, err := os.ReadFile(filepath.Join(src, "scripts", "lib.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"scripts", ".run/logs"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	old := []string{".run/logs/web.log", ".run/logs/web.log.1", ".run/web.env", ".run/stack.env"}
	for _, f := range append([]string{"scripts/lib.sh"}, old...) {
		body := []byte("secret\n")
		if f == "scripts/lib.sh" {
			body = lib
		}
		if err := os.WriteFile(filepath.Join(root, f), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `set -e; source scripts/lib.sh; ensure_run_dirs; private_file .run/logs/new.log .run/new.env`
	if out, err := exec.Command("bash", "-c", "cd "+root+" && "+script).CombinedOutput(); err != nil {
		t.Fatalf("lib.sh: %v\n%s", err, out)
	}
	for _, f := range append(old, ".run/logs/new.log", ".run/new.env") {
		mustMode(t, filepath.Join(root, f), 0o600)
	}
}

func mustMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", path, got, want)
	}
}
