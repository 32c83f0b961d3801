package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"

	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/wildcat-payments/wildcat/client"
)

func testIdentity() identity {
	return identity{
		Email:    "bench-0123456789ab@example.com",
		Password: "bench-password-0011223344556677",
		UserID:   "0190f5a1-1111-7000-8000-000000000001",
		Customers: []string{
			"0190f5a1-2222-7000-8000-000000000001",
			"0190f5a1-2222-7000-8000-000000000002",
		},
	}
}

func TestIdentityFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := identityPath(dir)
	want := testIdentity()
	if err := writeIdentity(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := readIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v, want %+v", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode %v, want 0600", mode)
	}
	// Rewriting replaces the file and leaves no temp file behind.
	want.Customers = append(want.Customers, "0190f5a1-2222-7000-8000-000000000003")
	if err := writeIdentity(path, want); err != nil {
		t.Fatal(err)
	}
	if got, err := readIdentity(path); err != nil || len(got.Customers) != 3 {
		t.Fatalf("after rewrite: %+v, %v", got, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want only %s", len(entries), identityFile)
	}
}

func TestReadIdentityMissing(t *testing.T) {
	_, err := readIdentity(identityPath(t.TempDir()))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestReadIdentityCorrupt(t *testing.T) {
	noUser := testIdentity()
	noUser.UserID = ""
	badCustomer := testIdentity()
	badCustomer.Customers = append(badCustomer.Customers, "not-a-uuid")
	for name, content := range map[string]string{
		"empty":        "",
		"garbage":      "{not json",
		"truncated":    `{"email": "a@example.com", "pass`,
		"wrong type":   `{"email": 1}`,
		"no user id":   mustJSON(t, noUser),
		"bad customer": mustJSON(t, badCustomer),
	} {
		t.Run(name, func(t *testing.T) {
			path := identityPath(t.TempDir())
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if id, err := readIdentity(path); err == nil {
				t.Fatalf("read %+v, want an error", id)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	buf, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf)
}

// fakeCommandAPI is the part of the command API the identity setup uses.
type fakeCommandAPI struct {
	mu        sync.Mutex
	users     map[string]string // email → password
	signUps   int
	customers int
	loginCode int // if not 0, every login answers this status
}

func (f *fakeCommandAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var in map[string]string
	_ = json.NewDecoder(r.Body).Decode(&in)
	switch r.URL.Path {
	case "/v1/users":
		f.signUps++
		f.users[in["email"]] = in["password"]
		writeJSON(w, http.StatusCreated, map[string]string{"id": fmt.Sprintf("0190f5a1-1111-7000-8000-%012d", f.signUps)})
	case "/v1/auth/token":
		switch pw, ok := f.users[in["email"]]; {
		case f.loginCode != 0:
			w.WriteHeader(f.loginCode)
		case !ok || pw != in["password"]:
			w.WriteHeader(http.StatusUnauthorized)
		default:
			writeJSON(w, http.StatusOK, map[string]string{"access_token": "token-" + in["email"]})
		}
	case "/v1/customers":
		f.customers++
		writeJSON(w, http.StatusCreated, map[string]string{"id": fmt.Sprintf("0190f5a1-2222-7000-8000-%012d", f.customers)})
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// setup runs setupIdentity against fake as a fresh bench would, and
// returns the identity and the line it printed.
func setup(t *testing.T, fake *fakeCommandAPI, dir string, customers int) (identity, string, error) {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	var out strings.Builder
	a := &api{hc: srv.Client(), command: srv.URL}
	var err error
	if a.cl, err = a.newClient(client.Options{}); err != nil {
		t.Fatal(err)
	}
	b := &bench{cfg: Config{RunDir: dir, Customers: customers}, out: &out, api: a}
	id, err := b.setupIdentity(context.Background())
	if err == nil && b.api.userID != id.UserID {
		t.Errorf("api user %q, identity user %q", b.api.userID, id.UserID)
	}
	return id, out.String(), err
}

func TestSetupIdentity(t *testing.T) {
	dir := t.TempDir()
	fake := &fakeCommandAPI{users: map[string]string{}}

	first, line, err := setup(t, fake, dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(line, "created") || !strings.Contains(line, "no identity file yet") || len(first.Customers) != 3 {
		t.Fatalf("first run: %q, %+v", line, first)
	}
	if stored, err := readIdentity(identityPath(dir)); err != nil || !reflect.DeepEqual(stored, first) {
		t.Fatalf("stored %+v, %v; want %+v", stored, err, first)
	}

	// Second run: same user and customers, nothing created.
	second, line, err := setup(t, fake, dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(line, "reused") || !reflect.DeepEqual(second, first) || fake.signUps != 1 || fake.customers != 3 {
		t.Fatalf("second run: %q, %+v (sign-ups %d, customers %d)", line, second, fake.signUps, fake.customers)
	}

	// More customers wanted: the missing ones are added and stored.
	third, line, err := setup(t, fake, dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(line, "reused") || !strings.Contains(line, "2 new") || len(third.Customers) != 5 ||
		!reflect.DeepEqual(third.Customers[:3], first.Customers) {
		t.Fatalf("top-up run: %q, %+v", line, third)
	}
	if stored, _ := readIdentity(identityPath(dir)); len(stored.Customers) != 5 {
		t.Fatalf("stored %d customers after the top-up, want 5", len(stored.Customers))
	}
}

func TestSetupIdentityRecreates(t *testing.T) {
	for name, prepare := range map[string]func(t *testing.T, path string){
		"corrupt file": func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("{corrupt"), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"login rejected (database reset)": func(t *testing.T, path string) {
			if err := writeIdentity(path, testIdentity()); err != nil { // unknown to the fake
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			prepare(t, identityPath(dir))
			fake := &fakeCommandAPI{users: map[string]string{}}
			id, line, err := setup(t, fake, dir, 2)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(line, "created") || fake.signUps != 1 || id.Email == testIdentity().Email {
				t.Fatalf("%q, %+v", line, id)
			}
			if stored, err := readIdentity(identityPath(dir)); err != nil || !reflect.DeepEqual(stored, id) {
				t.Fatalf("stored %+v, %v; want %+v", stored, err, id)
			}
		})
	}
}

// An outage is not a reset: the stored identity is kept for the next run.
func TestSetupIdentityKeepsFileOnOutage(t *testing.T) {
	dir := t.TempDir()
	path := identityPath(dir)
	if err := writeIdentity(path, testIdentity()); err != nil {
		t.Fatal(err)
	}
	fake := &fakeCommandAPI{users: map[string]string{}, loginCode: http.StatusServiceUnavailable}
	if _, _, err := setup(t, fake, dir, 2); err == nil {
		t.Fatal("setup succeeded during an outage")
	}
	if stored, err := readIdentity(path); err != nil || !reflect.DeepEqual(stored, testIdentity()) || fake.signUps != 0 {
		t.Fatalf("stored %+v, %v (sign-ups %d); want the old identity untouched", stored, err, fake.signUps)
	}
}

func TestIdentityPathUnderRunDir(t *testing.T) {
	if got, want := identityPath(".run"), filepath.Join(".run", "bench-identity.json"); got != want {
		t.Errorf("identityPath = %q, want %q", got, want)
	}
}
