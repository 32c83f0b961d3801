// Package webhook sends webhook deliveries over HTTP for the processor's
// delivery worker: it signs the stored payload (Sign of client/webhook),
// POSTs it once, and reports what happened in a form the delivery log can
// show the endpoint's owner. Retries, backoff and disabling endpoints are
// the worker's business, not this package's.
//
// Endpoint URLs are chosen by customers, so the sender is an SSRF risk:
// unless allowed, it refuses to connect to loopback, private, link-local
// and other internal addresses, judged on the address actually dialled
// (after DNS), never follows redirects and never uses a proxy.
package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	clientwebhook "github.com/wildcat-payments/wildcat/client/webhook"
)

// Defaults of Options.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultMaxResponseBytes = 64 << 10
	DefaultUserAgent        = "Wildcat-Webhooks/1"
	// MaxKeptResponseBytes is how much of a response body a Result keeps.
	MaxKeptResponseBytes = 1 << 10
)

// Options configure a Sender. The zero value is the production setting.
type Options struct {
	// AllowPrivate lets deliveries reach loopback and private addresses
	// and use http:// (local runs and tests; WEBHOOK_ALLOW_PRIVATE).
	AllowPrivate bool
	// Timeout bounds one attempt, from dialling to the end of reading the
	// response (DefaultTimeout when zero). Headers that do not arrive in
	// time are ErrTimeout; a body still arriving then is cut off, and the
	// status stands.
	Timeout time.Duration
	// MaxResponseBytes is how much of a response body is read before the
	// connection is dropped (DefaultMaxResponseBytes when zero).
	MaxResponseBytes int
	// UserAgent is sent as User-Agent (DefaultUserAgent when empty).
	UserAgent string
}

// Sender POSTs deliveries. It is safe for concurrent use and keeps
// connections to endpoints alive between deliveries.
type Sender struct {
	opts   Options
	client *http.Client
}

// NewSender returns a Sender configured by o.
func NewSender(o Options) *Sender {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	dialer := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		dialer.Control = dialControl
	}
	tr := &http.Transport{
		Proxy:                  nil, // a proxy would dial for us, past the guard
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    o.Timeout,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &Sender{opts: o, client: &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// CloseIdleConnections closes the connections kept alive between
// deliveries (at shutdown).
func (s *Sender) CloseIdleConnections() { s.client.CloseIdleConnections() }

// Result is the outcome of one attempt.
type Result struct {
	// StatusCode is the response's status, 0 when there was none.
	StatusCode int
	// Duration is from the start of the attempt to the end of reading the
	// response.
	Duration time.Duration
	// ResponseBody is the start of the response body: at most
	// MaxKeptResponseBytes of valid UTF-8 without NUL bytes, so that it
	// can be stored as text.
	ResponseBody string
	// Err is an *Error when the attempt failed without a response, or was
	// answered with a redirect; nil for every other status, 2xx or not.
	Err error
}

// OK reports whether the endpoint took the delivery (a 2xx answer).
func (r Result) OK() bool {
	return r.Err == nil && r.StatusCode >= 200 && r.StatusCode < 300
}

// Send POSTs body to url, signed with secret, as one attempt of the
// delivery of event eventID. It never returns an error of its own: every
// outcome, failures included, is in the Result.
func (s *Sender) Send(ctx context.Context, url, secret, eventID string, body []byte) Result {
	start := time.Now()
	if _, err := checkURL(url, s.opts.AllowPrivate); err != nil {
		return Result{Err: &Error{Kind: ErrInvalidURL, Detail: err.Error(), Cause: err}}
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Result{Err: &Error{Kind: ErrInvalidURL, Cause: err}}
	}
	// Without GetBody the transport cannot replay the POST on its own (it
	// would on a kept-alive connection the endpoint closed mid-request):
	// every try is one attempt, recorded in the delivery log.
	req.GetBody = nil
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.opts.UserAgent)
	req.Header.Set(clientwebhook.EventIDHeader, eventID)
	req.Header.Set(clientwebhook.SignatureHeader, clientwebhook.Sign(secret, time.Now(), body))

	res, err := s.client.Do(req)
	if err != nil {
		return Result{Duration: time.Since(start), Err: classify(ctx, err)}
	}
	defer res.Body.Close()
	// A body that ends early or slowly does not undo the status the
	// endpoint already answered with.
	kept := readBody(res.Body, s.opts.MaxResponseBytes)
	r := Result{StatusCode: res.StatusCode, Duration: time.Since(start), ResponseBody: kept}
	if res.StatusCode >= 300 && res.StatusCode < 400 {
		r.Err = &Error{Kind: ErrRedirect}
	}
	return r
}

// readBody reads at most max bytes of r and returns the first
// MaxKeptResponseBytes of them, sanitized.
func readBody(r io.Reader, max int) string {
	keep := min(max, MaxKeptResponseBytes)
	buf := make([]byte, keep)
	n, _ := io.ReadFull(r, buf)
	if n == keep {
		_, _ = io.Copy(io.Discard, io.LimitReader(r, int64(max-keep)))
	}
	return sanitize(buf[:n], n == keep)
}

// The kinds of Error. Their text is what the delivery log shows the
// endpoint's owner.
var (
	ErrTimeout           = errors.New("timeout")
	ErrRedirect          = errors.New("redirect not followed")
	ErrAddressNotAllowed = errors.New("destination address not allowed (loopback, private, link-local or reserved)")
	ErrDNS               = errors.New("dns lookup failed")
	ErrConnectionRefused = errors.New("connection refused")
	ErrConnectionClosed  = errors.New("connection closed without a response")
	ErrTLS               = errors.New("tls handshake failed")
	ErrConnection        = errors.New("connection failed")
	// ErrCanceled: the caller's context ended (the worker is stopping);
	// not the endpoint's fault.
	ErrCanceled = errors.New("canceled")
)

// Error is a failed attempt. Its message is safe to show the endpoint's
// owner: it never includes resolved addresses or our own network's
// details, which stay in Cause for our logs. errors.Is matches the Kind
// and anything in the Cause's chain (context.Canceled, say).
type Error struct {
	Kind   error  // one of the Err* variables of this package
	Detail string // a safe detail added to Kind's text, or ""
	Cause  error  // the underlying error, or nil; not for the owner's eyes
}

// Error returns Kind's text and the detail.
func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Detail
}

// Unwrap returns Kind and Cause.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

// classify turns the HTTP client's error into an Error. ctx is the
// attempt's context (with its timeout).
func classify(ctx context.Context, err error) *Error {
	e := &Error{Kind: ErrConnection, Cause: err}
	var (
		dnsErr   *net.DNSError
		netErr   net.Error
		certErr  *tls.CertificateVerificationError
		hostErr  x509.HostnameError
		alertErr tls.AlertError
		recErr   tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, errAddressNotAllowed):
		e.Kind = ErrAddressNotAllowed
	case errors.Is(ctx.Err(), context.Canceled):
		e.Kind = ErrCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		e.Kind = ErrTimeout
	case errors.As(err, &dnsErr):
		e.Kind = ErrDNS
		if dnsErr.IsNotFound {
			e.Detail = "no such host"
		}
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Kind = ErrConnectionRefused
	case errors.As(err, &hostErr):
		e.Kind, e.Detail = ErrTLS, "certificate is not valid for the host"
	case errors.As(err, &certErr):
		e.Kind, e.Detail = ErrTLS, "certificate not trusted"
	case errors.As(err, &alertErr), errors.As(err, &recErr):
		e.Kind = ErrTLS
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		e.Kind = ErrConnectionClosed
	}
	return e
}
