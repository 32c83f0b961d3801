package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/auth"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

// TestEndToEnd runs the real command API and projector binaries next to
// the query API (in process, verifying tokens through the command API's
// JWKS) on a fresh database and index prefix: writes made through the
// command API are visible to the query API as soon as their consistency
// token says, scoped by links that change.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs the other binaries")
	}
	dbURL := testenv.MustDatabase(t)
	searchURL, prefix := testenv.MustSearch(t)
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/wildcat-payments/wildcat/cmd/command-api", "github.com/wildcat-payments/wildcat/cmd/projector")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	keyFile := filepath.Join(dir, "jwt.pem")
	if err := auth.GenerateKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	commandAddr := freeAddr(t)
	common := []string{"DATABASE_URL=" + dbURL, "SEARCH_URL=" + searchURL, "LOG_LEVEL=info"}
	startBinary(t, filepath.Join(dir, "command-api"), append(common, "COMMAND_API_ADDR="+commandAddr,
		"JWT_PRIVATE_KEY_FILE="+keyFile, "PASSWORD_HASH_MEMORY_KIB=8192", "PASSWORD_HASH_ITERATIONS=1"), "http://"+commandAddr+"/readyz")
	projectorAddr := freeAddr(t)
	startBinary(t, filepath.Join(dir, "projector"), append(common, "PROJECTOR_ADDR="+projectorAddr, "INDEX_PREFIX="+prefix,
		"REPLICATION_SLOT="+testenv.Name("wct_qa_")), "http://"+projectorAddr+"/readyz")

	cmd := "http://" + commandAddr
	query := start(t, map[string]string{"SEARCH_URL": searchURL, "INDEX_PREFIX": prefix,
		"JWKS_URL": cmd + "/.well-known/jwks.json", "JWT_PUBLIC_KEY_FILE": ""})

	ann := signUp(t, cmd, "ann")
	bob := signUp(t, cmd, "bob")
	var customer struct{ ID string }
	call(t, http.MethodPost, cmd+"/v1/customers", ann.token, map[string]any{"name": "Nordic Widgets"}, &customer)
	var payment struct{ ID string }
	tok := call(t, http.MethodPost, cmd+"/v1/payments", ann.token, map[string]any{
		"customer_id": customer.ID, "amount": 12345, "currency": "DKK", "third_party": "ACME A/S", "description": "invoice 7",
	}, &payment)

	// Read-your-writes: the very next read sees the payment, denormalized.
	var page struct {
		Data []struct {
			ID           string `json:"id"`
			CustomerName string `json:"customer_name"`
			UserEmail    string `json:"user_email"`
		}
		Total int
	}
	getJSON(t, query+"/v1/payments?q=acme&consistency_token="+url.QueryEscape(tok), ann.token, http.StatusOK, &page)
	if page.Total != 1 || page.Data[0].CustomerName != "Nordic Widgets" || page.Data[0].UserEmail != ann.email {
		t.Fatalf("ann's search after the write: %+v", page)
	}
	// Bob is not linked: nothing, and 404 by id.
	getJSON(t, query+"/v1/payments?consistency_token="+url.QueryEscape(tok), bob.token, http.StatusOK, &page)
	if page.Total != 0 {
		t.Fatalf("bob sees %d payments before being linked", page.Total)
	}
	getJSON(t, query+"/v1/payments/"+payment.ID, bob.token, http.StatusNotFound, nil)

	// Linked by email: bob sees it and the customer with both users.
	tok = call(t, http.MethodPost, cmd+"/v1/customers/"+customer.ID+"/users", ann.token, map[string]any{"email": bob.email}, nil)
	getJSON(t, query+"/v1/payments/"+payment.ID+"?consistency_token="+url.QueryEscape(tok), bob.token, http.StatusOK, nil)
	var customers struct {
		Data []struct {
			ID    string
			Users []struct{ ID string }
		}
	}
	getJSON(t, query+"/v1/customers", bob.token, http.StatusOK, &customers)
	if len(customers.Data) != 1 || len(customers.Data[0].Users) != 2 {
		t.Fatalf("bob's customers: %+v", customers)
	}

	// Renamed: the search shows the new name after the token.
	tok = call(t, http.MethodPatch, cmd+"/v1/customers/"+customer.ID, ann.token, map[string]any{"name": "Kattegat Fisk"}, nil)
	getJSON(t, query+"/v1/payments", ann.token, http.StatusOK, &page, "X-Consistency-Token", tok)
	if page.Total != 1 || page.Data[0].CustomerName != "Kattegat Fisk" {
		t.Fatalf("after the rename: %+v", page)
	}

	// Unlinked: access ends with the unlink's token.
	tok = call(t, http.MethodDelete, cmd+"/v1/customers/"+customer.ID+"/users/"+bob.id, ann.token, nil, nil)
	getJSON(t, query+"/v1/payments/"+payment.ID+"?consistency_token="+url.QueryEscape(tok), bob.token, http.StatusNotFound, nil)
	getJSON(t, query+"/v1/payments/summary?customer_id="+customer.ID, bob.token, http.StatusOK, &struct{}{})
	var sum struct{ Count int }
	getJSON(t, query+"/v1/payments/summary", ann.token, http.StatusOK, &sum)
	if sum.Count != 1 {
		t.Fatalf("ann's summary count %d, want 1", sum.Count)
	}
}

type user struct{ id, email, token string }

func signUp(t *testing.T, cmd, name string) user {
	t.Helper()
	email := fmt.Sprintf("%s-%s@example.com", name, testenv.Name(""))
	var u struct{ ID string }
	call(t, http.MethodPost, cmd+"/v1/users", "", map[string]any{"email": email, "password": "correct horse battery", "name": name}, &u)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	call(t, http.MethodPost, cmd+"/v1/auth/token", "", map[string]any{"email": email, "password": "correct horse battery"}, &tok)
	return user{id: u.ID, email: email, token: tok.AccessToken}
}

// call sends a command API request, requires 2xx and returns the
// consistency token of the write.
func call(t *testing.T, method, u, token string, body, out any) string {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", testenv.Name("k"))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, u, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, u, err, b)
		}
	}
	return res.Header.Get("X-Consistency-Token")
}

// getJSON GETs u and requires status want. A read-your-writes timeout (503
// consistency_timeout) is retried as its Retry-After invites, for at most
// 30s: on a loaded machine the projector may lag more than the 5s wait.
func getJSON(t *testing.T, u, token string, want int, out any, hdr ...string) {
	t.Helper()
	var b []byte
	var status int
	for deadline := time.Now().Add(30 * time.Second); ; {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(res.Body)
		res.Body.Close()
		status = res.StatusCode
		if status != http.StatusServiceUnavailable || !bytes.Contains(b, []byte("consistency_timeout")) || time.Now().After(deadline) {
			break
		}
		t.Logf("GET %s: the projector has not applied the write after 5s; retrying", u)
		time.Sleep(time.Second)
	}
	if status != want {
		t.Fatalf("GET %s: %d, want %d: %s", u, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %v: %s", u, err, b)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startBinary runs bin with env until the test ends and waits until ready
// answers 200. Its output goes to the test log on failure.
func startBinary(t *testing.T, bin string, env []string, ready string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), tail(out.String(), 4000))
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("%s exited: %s", filepath.Base(bin), tail(out.String(), 4000))
		default:
		}
		if res, err := http.Get(ready); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 90s: %s", filepath.Base(bin), tail(out.String(), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}
