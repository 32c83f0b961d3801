package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/client"
	"github.com/wildcat-payments/wildcat/client/queryapi"
)

// api holds the bench's clients of the command and query APIs (package
// client) and the plain HTTP client it uses for the search engine and the
// projector. Every API client sends each request once (client.NoRetry):
// the bench counts failures, it does not hide them behind retries.
type api struct {
	hc      *http.Client
	command string
	query   string
	userID  string
	// cl acts as the bench user (once logged in) for setup and writes.
	cl *client.Client
	// reads is the same user for the measured query-API reads. It writes
	// nothing, so it never sends a consistency token: the searches are
	// measured as before the client, without read-your-writes waits.
	reads *client.Client
	login *client.LoginTokenSource
}

func newHTTPClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second,
	}}
}

func newAPI(command, query string) (*api, error) {
	a := &api{hc: newHTTPClient(), command: command, query: query}
	var err error
	a.cl, err = a.newClient(client.Options{})
	return a, err
}

// newClient returns a client of both APIs with o's credentials, the bench's
// HTTP client and no retries.
func (a *api) newClient(o client.Options) (*client.Client, error) {
	o.CommandURL, o.QueryURL, o.HTTPClient, o.Retry = a.command, a.query, a.hc, client.NoRetry
	return client.New(o)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// errLoginRejected marks a login the command API refused for the
// credentials (not for load or an outage): the user does not exist (any more).
var errLoginRejected = errors.New("login rejected")

// signUp creates a user and returns its id.
func (a *api) signUp(ctx context.Context, email, password string) (string, error) {
	name := "Bench " + strings.TrimPrefix(strings.TrimSuffix(email, "@example.com"), "bench-")
	u, err := a.cl.SignUp(ctx, client.SignUp{Email: email, Password: password, Name: name})
	if err != nil {
		return "", fmt.Errorf("sign up: %w", err)
	}
	return u.Id, nil
}

// logIn logs in as email (POST /v1/auth/token) and acts as that user from
// then on; the token is renewed before it expires.
func (a *api) logIn(ctx context.Context, email, password string) error {
	login := client.Login(email, password)
	cl, err := a.newClient(client.Options{TokenSource: login})
	if err != nil {
		return err
	}
	reads, err := a.newClient(client.Options{TokenSource: login})
	if err != nil {
		return err
	}
	if _, err := login.Token(ctx); err != nil {
		var e *client.Error
		if errors.As(err, &e) {
			switch e.Status {
			case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
				return fmt.Errorf("token: %w: %w", err, errLoginRejected)
			}
		}
		return fmt.Errorf("token: %w", err)
	}
	a.cl, a.reads, a.login = cl, reads, login
	return nil
}

// customers creates n customers linked to the caller, numbered from first.
// On error it returns the ones it created so far.
func (a *api) customers(ctx context.Context, first, n int) ([]string, error) {
	ids := make([]string, 0, n)
	for i := first; i < first+n; i++ {
		c, err := a.cl.CreateCustomer(ctx, client.NewCustomer{Name: fmt.Sprintf("Bench shop %02d %s", i, randHex(3))})
		if err != nil {
			return ids, fmt.Errorf("create customer: %w", err)
		}
		ids = append(ids, c.Id)
	}
	return ids, nil
}

// errorKind names the failure of an API call for the stats: "http_<status>"
// for an answer other than the expected one, "transport" for anything else.
func errorKind(err error) string {
	var e *client.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return fmt.Sprintf("http_%d", e.Status)
	}
	return "transport"
}

// searchRaw sends GET /v1/payments?<qs> through c's generated query
// client (its credentials and transport) and drains the answer without
// decoding it, as the bench always measured searches; qs is a query the
// bench planned itself. It returns the failure kind ("" on 200).
func searchRaw(ctx context.Context, c *client.Client, qs string) string {
	res, err := c.Query().SearchPayments(ctx, &queryapi.SearchPaymentsParams{}, func(_ context.Context, req *http.Request) error {
		req.URL.RawQuery = qs
		return nil
	})
	if err != nil {
		return "transport"
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Sprintf("http_%d", res.StatusCode)
	}
	return ""
}
