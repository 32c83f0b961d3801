package main

import (
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/client"
	"github.com/wildcat-payments/wildcat/internal/auth"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

// TestAPIKeysAcrossBothAPIs drives the real command API and projector
// binaries and this query API with the Go client (package client), as an
// ingestion client would: a key created by a user writes and, the very next
// moment, reads its own payments (read-your-writes covers the key itself);
// it sees exactly its customer; scopes hold on both APIs; and a revocation
// reaches both. The query API's revocation latency is logged (issue 16
// promises ≤ 1 s: projector lag + refresh + the 200 ms key cache).
func TestAPIKeysAcrossBothAPIs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs the other binaries")
	}
	ctx := context.Background()
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
	commandAddr, projectorAddr := freeAddr(t), freeAddr(t)
	common := []string{"DATABASE_URL=" + dbURL, "SEARCH_URL=" + searchURL, "LOG_LEVEL=info"}
	startBinary(t, filepath.Join(dir, "command-api"), append(common, "COMMAND_API_ADDR="+commandAddr,
		"JWT_PRIVATE_KEY_FILE="+keyFile, "PASSWORD_HASH_MEMORY_KIB=8192", "PASSWORD_HASH_ITERATIONS=1",
		"API_KEY_USAGE_FLUSH_INTERVAL=100ms"), "http://"+commandAddr+"/readyz")
	startBinary(t, filepath.Join(dir, "projector"), append(common, "PROJECTOR_ADDR="+projectorAddr, "INDEX_PREFIX="+prefix,
		"REPLICATION_SLOT="+testenv.Name("wct_qk_"), "PROJECTOR_FLUSH_INTERVAL=20ms"), "http://"+projectorAddr+"/readyz")
	cmd := "http://" + commandAddr
	query := start(t, map[string]string{"SEARCH_URL": searchURL, "INDEX_PREFIX": prefix,
		"JWKS_URL": cmd + "/.well-known/jwks.json", "JWT_PUBLIC_KEY_FILE": "",
		"COMMAND_API_URL": cmd, "API_KEY_USAGE_REPORT_INTERVAL": "100ms"})

	newClient := func(o client.Options) *client.Client {
		o.CommandURL, o.QueryURL = cmd, query
		c, err := client.New(o)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	users := map[string]*client.Client{}
	for _, name := range []string{"ann", "bob"} {
		email, password := name+"-"+testenv.Name("")+"@example.com", "correct horse battery staple"
		if _, err := newClient(client.Options{}).SignUp(ctx, client.SignUp{Email: email, Password: password, Name: name}); err != nil {
			t.Fatal(err)
		}
		users[name] = newClient(client.Options{TokenSource: client.Login(email, password)})
	}
	shop, err := users["ann"].CreateCustomer(ctx, client.NewCustomer{Name: "Corner Shop"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := users["bob"].CreateCustomer(ctx, client.NewCustomer{Name: "Other Shop"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users["bob"].CreatePayment(ctx, client.NewPayment{CustomerId: other.Id, Amount: 1, Currency: "DKK", ThirdParty: "not yours"}); err != nil {
		t.Fatal(err)
	}
	rw, err := users["ann"].CreateAPIKey(ctx, shop.Id, "ingestion", client.ScopePaymentsWrite, client.ScopePaymentsRead)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := users["ann"].CreateAPIKey(ctx, shop.Id, "reporting", client.ScopePaymentsRead)
	if err != nil {
		t.Fatal(err)
	}
	svc, reporting := newClient(client.Options{APIKey: rw.Secret}), newClient(client.Options{APIKey: ro.Secret})

	// Write with the key, read at once: the key was created a moment ago, and
	// the consistency token of the write makes the query API wait for both.
	p, err := svc.CreatePayment(ctx, client.NewPayment{CustomerId: shop.Id, Amount: 1250, Currency: "DKK", ThirdParty: "ACME A/S"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := svc.SearchPayments(ctx, nil)
	if err != nil {
		t.Fatalf("the key's first search: %v", err)
	}
	if len(page.Data) != 1 || page.Data[0].Id != p.Id || page.Data[0].ExecutedBy.Type != "api_key" || page.Data[0].ExecutedBy.Name != "ingestion" {
		t.Fatalf("the key sees %+v, want exactly its payment, executed by the key", page.Data)
	}
	if _, err := svc.CreatePayment(ctx, client.NewPayment{CustomerId: other.Id, Amount: 1, Currency: "DKK", ThirdParty: "x"}); client.ErrorCode(err) != "customer_not_found" {
		t.Fatalf("writing for another customer: %v", err)
	}
	// Scopes on both APIs (the read-only key is tried on the command API at
	// the end, after its last_used_at has been checked).
	writeOnly, err := users["ann"].CreateAPIKey(ctx, shop.Id, "write only", client.ScopePaymentsWrite)
	if err != nil {
		t.Fatal(err)
	}
	wo := newClient(client.Options{APIKey: writeOnly.Secret})
	if _, err := wo.CreatePayment(ctx, client.NewPayment{CustomerId: shop.Id, Amount: 2, Currency: "DKK", ThirdParty: "y"}); err != nil {
		t.Fatal(err)
	}
	if _, err := wo.SearchPayments(ctx, nil); client.ErrorCode(err) != "insufficient_scope" {
		t.Fatalf("a write-only key searching: %v", err)
	}
	if cs, err := reporting.ListCustomers(ctx); err != nil || len(cs) != 1 || cs[0].Id != shop.Id {
		t.Fatalf("the key's customers: %+v, %v", cs, err)
	}

	// A key used only on the query API so far: its use reaches last_used_at
	// through the query API's report to the command API.
	if _, err := reporting.SearchPayments(ctx, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for lastUsed(t, users["ann"], shop.Id, ro.Id) == nil {
		if time.Now().After(deadline) {
			t.Fatal("a key used on the query API has no last_used_at after 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	if _, err := reporting.CreatePayment(ctx, client.NewPayment{CustomerId: shop.Id, Amount: 1, Currency: "DKK", ThirdParty: "x"}); client.ErrorCode(err) != "insufficient_scope" {
		t.Fatalf("a read-only key writing: %v", err)
	}

	// Revoke: the command API refuses at once, the query API within its lag.
	if err := users["ann"].RevokeAPIKey(ctx, shop.Id, ro.Id); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	var latency time.Duration
	for {
		_, err := reporting.SearchPayments(ctx, nil)
		if e, ok := err.(*client.Error); ok && e.Status == http.StatusUnauthorized {
			latency = time.Since(revoked)
			break
		}
		if time.Since(revoked) > 30*time.Second {
			t.Fatalf("the query API still takes a revoked key after 30 s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("query API refused the revoked key %s after the revocation committed", latency.Round(time.Millisecond))
}

func lastUsed(t *testing.T, c *client.Client, customerID, keyID string) *time.Time {
	t.Helper()
	keys, err := c.ListAPIKeys(context.Background(), customerID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Id == keyID {
			return k.LastUsedAt
		}
	}
	t.Fatalf("key %s not listed", keyID)
	return nil
}
