package client_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wildcat-payments/wildcat/client"
)

func queryAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"data":[],"next_cursor":null,"has_more":false,"total":0,"total_relation":"eq"}`)
}

func TestReadYourWrites(t *testing.T) {
	cmd, cmdSrv := newFake(t, commandAPI("c1.0000000000000010"))
	qry, qrySrv := newFake(t, queryAPI)
	c := mustClient(t, client.Options{CommandURL: cmdSrv.URL, QueryURL: qrySrv.URL, Retry: fast})
	ctx := context.Background()
	search := func() string {
		t.Helper()
		if _, err := c.SearchPayments(ctx, nil); err != nil {
			t.Fatal(err)
		}
		reqs := qry.requests()
		return reqs[len(reqs)-1].Header.Get("X-Consistency-Token")
	}

	if got := search(); got != "" {
		t.Errorf("before any write: sent token %q, want none", got)
	}
	if _, err := c.CreatePayment(ctx, newPayment); err != nil {
		t.Fatal(err)
	}
	if got := search(); got != "c1.0000000000000010" {
		t.Errorf("after a write: sent token %q, want c1.0000000000000010", got)
	}
	if got := search(); got != "" {
		t.Errorf("after a read that saw the write: sent token %q, want none", got)
	}

	// An older token (a slower concurrent write) does not replace a newer one.
	cmd.then(commandAPI("c1.0000000000000020"), commandAPI("c1.000000000000000f"))
	for range 2 {
		if _, err := c.CreatePayment(ctx, newPayment); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.ConsistencyToken(); got != "c1.0000000000000020" {
		t.Errorf("ConsistencyToken = %q, want the highest, c1.0000000000000020", got)
	}
	// A read that failed did not see the token: the next one sends it again.
	qry.then(problem(400, "invalid"))
	if _, err := c.SearchPayments(ctx, nil); err == nil {
		t.Fatal("got no error")
	}
	if got := search(); got != "c1.0000000000000020" {
		t.Errorf("after a failed read: sent token %q, want c1.0000000000000020", got)
	}

	// A token from elsewhere (another process's write).
	c.ObserveConsistencyToken("c1.0000000000000030")
	if got := search(); got != "c1.0000000000000030" {
		t.Errorf("after ObserveConsistencyToken: sent %q", got)
	}
}

func TestReadYourWritesKeepsTheCallersToken(t *testing.T) {
	_, cmdSrv := newFake(t, commandAPI("c1.0000000000000010"))
	qry, qrySrv := newFake(t, queryAPI)
	c := mustClient(t, client.Options{CommandURL: cmdSrv.URL, QueryURL: qrySrv.URL})
	ctx := context.Background()
	if _, err := c.CreatePayment(ctx, newPayment); err != nil {
		t.Fatal(err)
	}
	mine := "c1.0000000000000001"
	if _, err := c.SearchPayments(ctx, &client.SearchParams{ConsistencyToken: &mine}); err != nil {
		t.Fatal(err)
	}
	r := qry.requests()[0]
	if h, q := r.Header.Get("X-Consistency-Token"), r.URL.Query().Get("consistency_token"); h != "" || q != mine {
		t.Errorf("sent header %q and parameter %q, want only the caller's parameter %q", h, q, mine)
	}
}

func TestLogin(t *testing.T) {
	var logins atomic.Int32
	api, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/auth/token" {
			var body map[string]string
			_ = json.NewDecoder(r.Body).Decode(&body)
			logins.Add(1)
			_, _ = io.WriteString(w, `{"access_token":"tok-1","token_type":"Bearer","expires_in":900}`)
			return
		}
		_, _ = io.WriteString(w, `{"id":"0190c0de-0000-7000-8000-000000000004","email":"a@example.com","name":"A","created_at":"2024-05-01T12:00:00Z"}`)
	})
	c := mustClient(t, client.Options{CommandURL: srv.URL, TokenSource: client.Login("a@example.com", "correct horse battery")})
	for range 3 {
		if _, err := c.Me(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := logins.Load(); got != 1 {
		t.Errorf("logged in %d times, want once for three requests", got)
	}
	for _, r := range api.requests() {
		want := "Bearer tok-1"
		if r.URL.Path == "/v1/auth/token" {
			want = ""
		}
		if got := r.Header.Get("Authorization"); got != want {
			t.Errorf("%s: Authorization %q, want %q", r.URL.Path, got, want)
		}
	}
	if got := api.bodies[0]; got != `{"email":"a@example.com","password":"correct horse battery"}` {
		t.Errorf("login body %s", got)
	}
}

func TestLoginRefused(t *testing.T) {
	_, srv := newFake(t, problem(401, "invalid_credentials"))
	c := mustClient(t, client.Options{CommandURL: srv.URL, TokenSource: client.Login("a@example.com", "wrong")})
	_, err := c.Me(context.Background())
	if got := client.ErrorCode(err); got != "invalid_credentials" {
		t.Errorf("got %v, want invalid_credentials", err)
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    client.Options
	}{
		{"KeyAndToken", client.Options{APIKey: "wc_x", TokenSource: client.StaticToken("t")}},
		{"NotAKey", client.Options{APIKey: "eyJhbGciOi"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := client.New(tc.o); err == nil {
				t.Error("got no error")
			}
		})
	}
	t.Run("NoQueryURL", func(t *testing.T) {
		c := mustClient(t, client.Options{CommandURL: "http://127.0.0.1:1"})
		if _, err := c.SearchPayments(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "QueryURL") {
			t.Errorf("got %v, want an error naming QueryURL", err)
		}
	})
}
