package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// api is a minimal client of the command and query APIs.
type api struct {
	hc      *http.Client
	command string
	query   string
	token   string
	userID  string
}

func newHTTPClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second,
	}}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// do sends a JSON request and decodes a JSON answer into out (if not nil).
// It returns the status and the response headers.
func (a *api) do(ctx context.Context, method, url string, body any, hdr map[string]string, out any) (int, http.Header, error) {
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case []byte:
			rd = bytes.NewReader(b)
		default:
			buf, err := json.Marshal(body)
			if err != nil {
				return 0, nil, err
			}
			rd = bytes.NewReader(buf)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := a.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode < 300 {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return res.StatusCode, res.Header, err
		}
	} else {
		_, _ = io.Copy(io.Discard, res.Body)
	}
	return res.StatusCode, res.Header, nil
}

// errLoginRejected marks a login the command API refused for the
// credentials (not for load or an outage): the user does not exist (any more).
var errLoginRejected = errors.New("login rejected")

// signUp creates a user and returns its id.
func (a *api) signUp(ctx context.Context, email, password string) (string, error) {
	var u struct {
		ID string `json:"id"`
	}
	body := map[string]string{"email": email, "password": password, "name": "Bench " + strings.TrimPrefix(strings.TrimSuffix(email, "@example.com"), "bench-")}
	st, _, err := a.do(ctx, "POST", a.command+"/v1/users", body, nil, &u)
	if err != nil || st != http.StatusCreated {
		return "", fmt.Errorf("sign up: status %d: %v", st, err)
	}
	return u.ID, nil
}

// logIn takes a token for email and password (POST /v1/auth/token) and
// sends it with every later request.
func (a *api) logIn(ctx context.Context, email, password string) error {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	st, _, err := a.do(ctx, "POST", a.command+"/v1/auth/token", map[string]string{"email": email, "password": password}, nil, &tok)
	switch {
	case err != nil:
		return fmt.Errorf("token: status %d: %w", st, err)
	case st == http.StatusBadRequest, st == http.StatusUnauthorized, st == http.StatusForbidden, st == http.StatusNotFound:
		return fmt.Errorf("token: status %d: %w", st, errLoginRejected)
	case st != http.StatusOK || tok.AccessToken == "":
		return fmt.Errorf("token: status %d", st)
	}
	a.token = tok.AccessToken
	return nil
}

// customers creates n customers linked to the caller, numbered from first.
// On error it returns the ones it created so far.
func (a *api) customers(ctx context.Context, first, n int) ([]string, error) {
	ids := make([]string, 0, n)
	for i := first; i < first+n; i++ {
		var c struct {
			ID string `json:"id"`
		}
		st, _, err := a.do(ctx, "POST", a.command+"/v1/customers", map[string]string{"name": fmt.Sprintf("Bench shop %02d %s", i, randHex(3))}, nil, &c)
		if err != nil || st != http.StatusCreated {
			return ids, fmt.Errorf("create customer: status %d: %v", st, err)
		}
		ids = append(ids, c.ID)
	}
	return ids, nil
}
