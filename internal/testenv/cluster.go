package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is a private PostgreSQL cluster started by the project's own
// scripts/postgres.sh from a copy of scripts/ in a temporary checkout, on a
// free port: tests may stop, kill and restart it without touching the shared
// one. Its methods are not safe for concurrent use.
type Cluster struct {
	tb   testing.TB
	Root string // the temporary checkout; its .run/ holds the cluster
	Port int
}

// MustCluster starts a private cluster and stops it (and deletes it) when the
// test ends. It needs the PostgreSQL server binaries that `make up` needs, so
// it is an integration test: skipped like MustDatabase without
// TEST_DATABASE_URL.
func MustCluster(tb testing.TB) *Cluster {
	tb.Helper()
	need(tb, "TEST_DATABASE_URL")
	src, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	// Not t.TempDir: its directories are mode 0700, which the unprivileged
	// cluster owner could not enter when the tests run as root.
	root, err := os.MkdirTemp("", "wildcat-pg-test-")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "scripts"), 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, f := range []string{"lib.sh", "postgres.sh"} {
		b, err := os.ReadFile(filepath.Join(src, "scripts", f))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "scripts", f), b, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	_, port, _ := strings.Cut(FreeAddr(tb), ":")
	c := &Cluster{tb: tb, Root: root}
	c.Port, _ = strconv.Atoi(port)
	tb.Cleanup(func() {
		_, _ = c.run("stop")
		real, err := filepath.EvalSymlinks(filepath.Join(root, ".run", "pg"))
		if err == nil && real != filepath.Join(root, ".run", "pg") {
			_ = os.RemoveAll(real)
		}
		_ = os.RemoveAll(root)
	})
	c.MustRun("start")
	return c
}

// run runs scripts/postgres.sh ARG in the private checkout.
func (c *Cluster) run(arg string) (string, error) {
	cmd := exec.Command(filepath.Join(c.Root, "scripts", "postgres.sh"), arg)
	cmd.Env = append(os.Environ(), "PG_PORT="+strconv.Itoa(c.Port))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return out.String(), &exec.ExitError{ProcessState: cmd.ProcessState, Stderr: errb.Bytes()}
		}
		return strings.TrimSpace(out.String()), nil
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		return "", os.ErrDeadlineExceeded
	}
}

// MustRun runs scripts/postgres.sh ARG (start, stop, admin-url, url, …) and
// returns its standard output.
func (c *Cluster) MustRun(arg string) string {
	c.tb.Helper()
	out, err := c.run(arg)
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		c.tb.Fatalf("testenv: postgres.sh %s: %v\n%s%s", arg, err, out, stderr)
	}
	return out
}

// AdminURL is the superuser URL, as `scripts/postgres.sh admin-url` prints it.
func (c *Cluster) AdminURL() string { return c.MustRun("admin-url") }

// Postmaster returns the pid of the cluster's postmaster.
func (c *Cluster) Postmaster() int {
	c.tb.Helper()
	b, err := os.ReadFile(filepath.Join(c.Root, ".run", "postgres.pid"))
	if err != nil {
		c.tb.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		c.tb.Fatal(err)
	}
	return pid
}
