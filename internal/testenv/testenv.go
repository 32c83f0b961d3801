// Package testenv gives integration tests their own PostgreSQL database and
// search-engine index prefix on the real servers named by TEST_DATABASE_URL
// and TEST_SEARCH_URL (`make test` starts both). Without them a test is
// skipped, unless WILDCAT_REQUIRE_INTEGRATION=1 (set by `make test` and CI),
// where it fails: integration tests are never silently skipped there. With
// -short they are always skipped, so `go test -short ./...` needs nothing
// running.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func need(tb testing.TB, name string) string {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("testenv: -short: skipping integration test (needs %s)", name)
	}
	if v := os.Getenv(name); v != "" {
		return v
	}
	if os.Getenv("WILDCAT_REQUIRE_INTEGRATION") == "1" {
		tb.Fatalf("testenv: %s is not set but WILDCAT_REQUIRE_INTEGRATION=1; run `make test`", name)
	}
	tb.Skipf("testenv: %s not set; run `make test` to run integration tests", name)
	return ""
}

// Name returns a short random lower-case identifier with prefix, usable as a
// database name or an index prefix.
func Name(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// MustDatabase creates a fresh, empty database on the TEST_DATABASE_URL
// server and returns its URL. The database, and any replication slot made
// in it, is dropped when the test ends.
func MustDatabase(tb testing.TB) string {
	tb.Helper()
	admin := need(tb, "TEST_DATABASE_URL")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("testenv: connect %s: %v", redact(admin), err)
	}
	defer conn.Close(ctx)
	name := Name("wct_")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("testenv: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Logf("testenv: cleanup connect: %v", err)
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL`, name)
		_, _ = c.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1`, name)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("testenv: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("testenv: parse TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// MustSearch returns TEST_SEARCH_URL and a fresh index prefix for the test.
// Every index starting with the prefix is deleted when the test ends.
func MustSearch(tb testing.TB) (searchURL, prefix string) {
	tb.Helper()
	searchURL = strings.TrimRight(need(tb, "TEST_SEARCH_URL"), "/")
	prefix = Name("wct_") + "_"
	tb.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, searchURL+"/"+prefix+"*?expand_wildcards=all", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			tb.Logf("testenv: delete indices %s*: %v", prefix, err)
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	})
	return searchURL, prefix
}

// Logger returns a logger that writes through tb.Log, so output appears only
// for failing tests (or with -v). Lines logged after the test's cleanup has
// begun (a server goroutine finishing a request late) are dropped: testing
// forbids Log after a test completes.
func Logger(tb testing.TB) *slog.Logger {
	w := &tbWriter{tb: tb}
	tb.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tbWriter struct {
	tb   testing.TB
	mu   sync.Mutex
	done bool
}

func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.tb.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable url)"
	}
	return u.Redacted()
}

// MustServe runs serve — a binary's run function bound to its test
// environment — until the test ends, and returns "http://<addr>" once serve
// reports its listening address through ready. A run that ends early or
// does not listen within timeout fails the test; a non-nil error from run
// at shutdown is reported too.
func MustServe(tb testing.TB, timeout time.Duration, serve func(ctx context.Context, ready func(addr string)) error) string {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, func(a string) { addr <- a }) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("testenv: run: %v", err)
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case err := <-done:
		done <- err // for the cleanup
		tb.Fatalf("testenv: run ended before listening: %v", err)
	case <-time.After(timeout):
		tb.Fatalf("testenv: not listening after %s", timeout)
	}
	return ""
}
