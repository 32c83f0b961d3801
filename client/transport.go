package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

type apiKind int

const (
	commandAPI apiKind = iota
	queryAPI
)

// transport is the generated clients' HttpRequestDoer: every request of
// either API goes through it, so the generated methods get the same
// authentication, idempotency keys, retries and consistency tokens as the
// wrapper's.
type transport struct {
	c    *Client
	api  apiKind
	base string // the API's base URL ("" when not configured)
	auth bool   // false for the login client
}

// Do implements commandapi.HttpRequestDoer and queryapi.HttpRequestDoer.
func (t *transport) Do(req *http.Request) (*http.Response, error) {
	if t.base == "" {
		name := "CommandURL"
		if t.api == queryAPI {
			name = "QueryURL"
		}
		return nil, fmt.Errorf("client: Options.%s is not set", name)
	}
	ctx := req.Context()
	if t.auth && req.Header.Get("Authorization") == "" {
		cred, err := t.c.credential(ctx)
		if err != nil {
			return nil, err
		}
		if cred != "" {
			req.Header.Set("Authorization", "Bearer "+cred)
		}
	}
	// Set once, before the first attempt: every retry of this call sends
	// the same key, so the server replays instead of creating again.
	if t.api == commandAPI && isCreate(req) && req.Header.Get("Idempotency-Key") == "" {
		req.Header.Set("Idempotency-Key", newIdempotencyKey())
	}
	var gen uint64
	if t.api == queryAPI {
		gen = t.c.rw.attach(req)
	}
	res, err := t.c.send(req)
	if err == nil && res.StatusCode < 300 {
		switch t.api {
		case commandAPI:
			t.c.rw.observe(res.Header.Get("X-Consistency-Token"))
		case queryAPI:
			t.c.rw.seen(gen)
		}
	}
	return res, err
}

// isCreate reports whether req creates payments or a refund: the requests
// that carry an Idempotency-Key.
func isCreate(req *http.Request) bool {
	if req.Method != http.MethodPost {
		return false
	}
	p := req.URL.Path
	if strings.HasSuffix(p, "/v1/payments") || strings.HasSuffix(p, "/v1/payments/batch") {
		return true
	}
	return strings.HasSuffix(p, "/refunds") && strings.Contains(p, "/v1/payments/")
}

// newIdempotencyKey returns a UUIDv7: random enough to be unique, and
// time-ordered, so that the server's unique index on keys grows at its
// right edge.
func newIdempotencyKey() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(time.Now().UnixMilli()))
	copy(u[:6], ms[2:])
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// send sends req, retrying as the policy allows.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	p := c.retry
	rewindable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	repeatable := safeToRepeat(req) && rewindable
	for attempt := 1; ; attempt++ {
		r, err := attemptRequest(req, attempt)
		if err != nil {
			return nil, err
		}
		res, err := c.hc.Do(r)
		last := attempt >= p.MaxAttempts
		if err != nil {
			// A request that never reached the server (the dial failed)
			// may be sent again whatever it is.
			if ctx.Err() != nil || last || !(repeatable || rewindable && notSent(err)) {
				return nil, err
			}
			if serr := sleep(ctx, p.backoff(attempt)); serr != nil {
				return nil, errors.Join(err, serr)
			}
			continue
		}
		if last || !repeatable {
			return res, nil
		}
		again, res := shouldRetry(res)
		if !again {
			return res, nil
		}
		wait := retryAfter(res.Header, time.Now())
		if wait > p.MaxRetryAfter {
			return res, nil
		}
		wait = max(wait, p.backoff(attempt))
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// attemptRequest returns the request of attempt n: req itself first, then
// clones with a fresh copy of the body.
func attemptRequest(req *http.Request, n int) (*http.Request, error) {
	if n == 1 || req.GetBody == nil {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("client: rewind the request body: %w", err)
	}
	r := req.Clone(req.Context())
	r.Body = body
	return r, nil
}

// notSent reports whether err happened before the request could reach the
// server: the connection was never made.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// shouldRetry reports whether res is worth another attempt. It reads the
// body of a 409 to find idempotency_in_progress, and returns res with its
// body intact for the caller.
func shouldRetry(res *http.Response) (bool, *http.Response) {
	if retryableStatus(res.StatusCode) {
		return true, res
	}
	if res.StatusCode != http.StatusConflict {
		return false, res
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return false, res
	}
	var p struct {
		Code string `json:"code"`
	}
	return json.Unmarshal(body, &p) == nil && p.Code == "idempotency_in_progress", res
}

// credential is the bearer credential of the next request ("" for none).
func (c *Client) credential(ctx context.Context) (string, error) {
	switch {
	case c.apiKey != "":
		return c.apiKey, nil
	case c.tokens != nil:
		return c.tokens.Token(ctx)
	}
	return "", nil
}
