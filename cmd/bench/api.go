package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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

// login signs up a fresh user and takes a token for it.
func (a *api) login(ctx context.Context) error {
	email := "bench-" + randHex(6) + "@example.com"
	pw := "bench-password-" + randHex(4)
	var u struct {
		ID string `json:"id"`
	}
	if st, _, err := a.do(ctx, "POST", a.command+"/v1/users", map[string]string{"email": email, "password": pw, "name": "Bench " + email[6:12]}, nil, &u); err != nil || st != 201 {
		return fmt.Errorf("sign up: status %d: %v", st, err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if st, _, err := a.do(ctx, "POST", a.command+"/v1/auth/token", map[string]string{"email": email, "password": pw}, nil, &tok); err != nil || st != 200 {
		return fmt.Errorf("token: status %d: %v", st, err)
	}
	a.token, a.userID = tok.AccessToken, u.ID
	return nil
}

// customers creates n customers linked to the caller.
func (a *api) customers(ctx context.Context, n int) ([]string, error) {
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		var c struct {
			ID string `json:"id"`
		}
		st, _, err := a.do(ctx, "POST", a.command+"/v1/customers", map[string]string{"name": fmt.Sprintf("Bench shop %02d %s", i, randHex(3))}, nil, &c)
		if err != nil || st != 201 {
			return nil, fmt.Errorf("create customer: status %d: %v", st, err)
		}
		ids = append(ids, c.ID)
	}
	return ids, nil
}
