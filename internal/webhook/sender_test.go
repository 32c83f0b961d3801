package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	clientwebhook "github.com/wildcat-payments/wildcat/client/webhook"
)

// server is a real listener on loopback that counts the requests that
// reach its handler.
type server struct {
	*httptest.Server
	hits atomic.Int32
}

// mustServe starts h on 127.0.0.1 (over TLS when tls is set), closed when
// the test ends.
func mustServe(tb testing.TB, tls bool, h http.HandlerFunc) *server {
	tb.Helper()
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused TLS handshakes are expected
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	tb.Cleanup(s.Close)
	return s
}

// hang answers nothing until the client goes away (or 5 s pass). It
// reads the body first: the server notices a closed connection only
// once it reads past the request.
func hang(r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

func ok(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "thanks") }

const (
	secret = "whsec_test"
	event  = "0190f3a4-7b1c-7d2e-9f00-5a6b7c8d9e0f"
)

var payload = []byte(`{"id":"0190f3a4-7b1c-7d2e-9f00-5a6b7c8d9e0f","type":"payment.created","created_at":"2026-01-02T03:04:05.000000Z","data":{"object":{}}}`)

func TestSendDelivers(t *testing.T) {
	var got *http.Request
	var gotBody []byte
	srv := mustServe(t, false, func(w http.ResponseWriter, r *http.Request) {
		got, gotBody = r, must(io.ReadAll(r.Body))
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"received":true}`)
	})
	res := NewSender(Options{AllowPrivate: true}).Send(context.Background(), srv.URL+"/hooks/a", secret, event, payload)
	if !res.OK() || res.Err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("got %+v, want OK with 202", res)
	}
	if res.ResponseBody != `{"received":true}` {
		t.Errorf("got response body %q, want %q", res.ResponseBody, `{"received":true}`)
	}
	if res.Duration <= 0 {
		t.Errorf("got duration %s, want it positive", res.Duration)
	}
	if got.Method != http.MethodPost || got.URL.Path != "/hooks/a" {
		t.Errorf("got %s %s, want POST /hooks/a", got.Method, got.URL.Path)
	}
	if !bytes.Equal(gotBody, payload) {
		t.Errorf("got body %s, want the payload byte for byte", gotBody)
	}
	for h, want := range map[string]string{
		"Content-Type":              "application/json",
		"User-Agent":                "Wildcat-Webhooks/1",
		clientwebhook.EventIDHeader: event,
	} {
		if v := got.Header.Get(h); v != want {
			t.Errorf("got %s %q, want %q", h, v, want)
		}
	}
	if err := clientwebhook.Verify(secret, got.Header.Get(clientwebhook.SignatureHeader), gotBody, time.Minute, time.Now()); err != nil {
		t.Errorf("signature: got %v, want it to verify", err)
	}
}

// TestSendGuard: with the guard on, nothing reaches a server on loopback,
// however its address is spelled, and the owner is told why without
// learning the address.
func TestSendGuard(t *testing.T) {
	srv := mustServe(t, true, ok)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	p := strconv.Itoa(port)
	for _, tc := range []struct {
		name string
		url  string
		want error
	}{
		{"LoopbackIPv4", "https://127.0.0.1:" + p + "/", ErrAddressNotAllowed},
		{"LoopbackIPv6", "https://[::1]:" + p + "/", ErrAddressNotAllowed},
		{"MappedLoopback", "https://[::ffff:127.0.0.1]:" + p + "/", ErrAddressNotAllowed},
		{"NameResolvingToLoopback", "https://localhost:" + p + "/", ErrAddressNotAllowed},
		{"Unspecified", "https://0.0.0.0:" + p + "/", ErrAddressNotAllowed},
		{"CloudMetadata", "https://169.254.169.254/latest/meta-data/", ErrAddressNotAllowed},
		{"PrivateNetwork", "https://10.255.255.1:" + p + "/", ErrAddressNotAllowed},
		{"PlainHTTP", "http://127.0.0.1:" + p + "/", ErrInvalidURL},
		{"Userinfo", "https://u:p@example.com/", ErrInvalidURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := NewSender(Options{Timeout: 5 * time.Second}).Send(context.Background(), tc.url, secret, event, payload)
			if !errors.Is(res.Err, tc.want) || res.StatusCode != 0 || res.OK() {
				t.Fatalf("got %+v, want status 0 and %v", res, tc.want)
			}
			if msg := res.Err.Error(); strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "::1") || strings.Contains(msg, "10.255") {
				t.Errorf("got %q, want a message that does not name the address", msg)
			}
		})
	}
	if n := srv.hits.Load(); n != 0 {
		t.Errorf("got %d requests at the server, want none", n)
	}
	// The control: allowed, the same address is dialled (the handshake
	// then fails on the test certificate, which nobody trusts).
	res := NewSender(Options{AllowPrivate: true}).Send(context.Background(), "https://127.0.0.1:"+p+"/", secret, event, payload)
	if !errors.Is(res.Err, ErrTLS) {
		t.Errorf("AllowPrivate: got %+v, want ErrTLS", res)
	}
}

// TestSendRedirectNotFollowed: a 3xx is the answer, and a failure; its
// target never sees the delivery, even with every address allowed.
func TestSendRedirectNotFollowed(t *testing.T) {
	target := mustServe(t, false, ok)
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			from := mustServe(t, false, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+"/internal", status)
			})
			res := NewSender(Options{AllowPrivate: true}).Send(context.Background(), from.URL, secret, event, payload)
			if res.OK() || res.StatusCode != status || !errors.Is(res.Err, ErrRedirect) {
				t.Errorf("got %+v, want status %d, ErrRedirect, not OK", res, status)
			}
			if res.Err != nil && res.Err.Error() != "redirect not followed" {
				t.Errorf("got error text %q, want %q", res.Err, "redirect not followed")
			}
		})
	}
	if n := target.hits.Load(); n != 0 {
		t.Errorf("got %d requests at the redirect target, want none", n)
	}
}

func TestSendTimeout(t *testing.T) {
	srv := mustServe(t, false, func(w http.ResponseWriter, r *http.Request) { hang(r) })
	const timeout = 150 * time.Millisecond
	res := NewSender(Options{AllowPrivate: true, Timeout: timeout}).Send(context.Background(), srv.URL, secret, event, payload)
	if res.OK() || res.StatusCode != 0 || !errors.Is(res.Err, ErrTimeout) || res.Err.Error() != "timeout" {
		t.Errorf("got %+v, want status 0 and error \"timeout\"", res)
	}
	if res.Duration < timeout || res.Duration > 3*time.Second {
		t.Errorf("got duration %s, want about %s", res.Duration, timeout)
	}
}

// TestSendSlowBodyKeepsStatus: an endpoint that answered 200 but is slow
// to finish its body did take the delivery.
func TestSendSlowBodyKeepsStatus(t *testing.T) {
	srv := mustServe(t, false, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
		w.(http.Flusher).Flush()
		hang(r)
	})
	res := NewSender(Options{AllowPrivate: true, Timeout: 150 * time.Millisecond}).Send(context.Background(), srv.URL, secret, event, payload)
	if !res.OK() || res.ResponseBody != "ok" {
		t.Errorf("got %+v, want OK with body \"ok\"", res)
	}
}

func TestSendServerError(t *testing.T) {
	srv := mustServe(t, false, func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	res := NewSender(Options{AllowPrivate: true}).Send(context.Background(), srv.URL, secret, event, payload)
	if res.OK() || res.StatusCode != 500 || res.Err != nil || res.ResponseBody != "boom\n" {
		t.Errorf("got %+v, want status 500, body \"boom\\n\", no error, not OK", res)
	}
}

// TestSendBodyLimit: a huge answer is read up to MaxResponseBytes, not to
// its end, and 1 KiB of it is kept.
func TestSendBodyLimit(t *testing.T) {
	var written atomic.Int64
	srv := mustServe(t, false, func(w http.ResponseWriter, _ *http.Request) {
		chunk := bytes.Repeat([]byte("a"), 32<<10)
		for range 32 << 10 { // 1 GiB if nobody stops it
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	res := NewSender(Options{AllowPrivate: true, MaxResponseBytes: 64 << 10}).Send(context.Background(), srv.URL, secret, event, payload)
	if !res.OK() || res.ResponseBody != strings.Repeat("a", MaxKeptResponseBytes) {
		t.Errorf("got status %d, error %v and a body of %d bytes, want OK and %d bytes of a",
			res.StatusCode, res.Err, len(res.ResponseBody), MaxKeptResponseBytes)
	}
	srv.Close() // waits for the handler, which stops once the connection is gone
	if n := written.Load(); n >= 1<<30 {
		t.Errorf("the server wrote its whole %d bytes, want the sender to have hung up", n)
	}
}

func TestReadBodyStopsAtMax(t *testing.T) {
	for _, tc := range []struct {
		name      string
		size, max int
		wantRead  int
		wantKept  int
	}{
		{"Small", 10, 64 << 10, 10, 10},
		{"ExactlyKept", 1024, 64 << 10, 1024, 1024},
		{"Large", 1 << 20, 64 << 10, 64 << 10, 1024},
		{"MaxBelowKept", 1 << 20, 100, 100, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &countingReader{r: io.LimitReader(letters{}, int64(tc.size))}
			got := readBody(r, tc.max)
			if r.n != tc.wantRead || got != strings.Repeat("a", tc.wantKept) {
				t.Errorf("got %d bytes read and %d kept, want %d read and %d kept", r.n, len(got), tc.wantRead, tc.wantKept)
			}
		})
	}
}

// letters is an endless stream of "a".
type letters struct{}

func (letters) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestSendDroppedConnection: the endpoint accepts the request and closes
// the connection without answering.
func TestSendDroppedConnection(t *testing.T) {
	srv := mustServe(t, false, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	res := NewSender(Options{AllowPrivate: true}).Send(context.Background(), srv.URL, secret, event, payload)
	if res.OK() || res.StatusCode != 0 || !errors.Is(res.Err, ErrConnectionClosed) {
		t.Errorf("got %+v, want status 0 and ErrConnectionClosed", res)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("got %d requests, want 1 (a POST is not retried on a dropped connection)", n)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	res := NewSender(Options{AllowPrivate: true}).Send(context.Background(), "http://"+addr, secret, event, payload)
	if res.OK() || !errors.Is(res.Err, ErrConnectionRefused) || res.Err.Error() != "connection refused" {
		t.Errorf("got %+v, want \"connection refused\"", res)
	}
}

func TestSendUnknownHost(t *testing.T) {
	res := NewSender(Options{}).Send(context.Background(), "https://no-such-host.invalid/", secret, event, payload)
	if res.OK() || !errors.Is(res.Err, ErrDNS) {
		t.Errorf("got %+v, want ErrDNS", res)
	}
}

// TestSendCanceled: the worker stopping is not the endpoint's failure.
func TestSendCanceled(t *testing.T) {
	srv := mustServe(t, false, func(w http.ResponseWriter, r *http.Request) { hang(r) })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	res := NewSender(Options{AllowPrivate: true}).Send(ctx, srv.URL, secret, event, payload)
	if !errors.Is(res.Err, ErrCanceled) || !errors.Is(res.Err, context.Canceled) || errors.Is(res.Err, ErrTimeout) {
		t.Errorf("got %+v, want ErrCanceled matching context.Canceled", res)
	}
}

func TestSendUserAgentOption(t *testing.T) {
	var ua string
	srv := mustServe(t, false, func(w http.ResponseWriter, r *http.Request) { ua = r.UserAgent() })
	NewSender(Options{AllowPrivate: true, UserAgent: "Test/2"}).Send(context.Background(), srv.URL, secret, event, payload)
	if ua != "Test/2" {
		t.Errorf("got User-Agent %q, want Test/2", ua)
	}
}

func TestResultOK(t *testing.T) {
	for _, tc := range []struct {
		r    Result
		want bool
	}{
		{Result{StatusCode: 200}, true},
		{Result{StatusCode: 204}, true},
		{Result{StatusCode: 299}, true},
		{Result{StatusCode: 0}, false},
		{Result{StatusCode: 199}, false},
		{Result{StatusCode: 300}, false},
		{Result{StatusCode: 404}, false},
		{Result{StatusCode: 200, Err: &Error{Kind: ErrConnection}}, false},
	} {
		if got := tc.r.OK(); got != tc.want {
			t.Errorf("%+v: got %v, want %v", tc.r, got, tc.want)
		}
	}
}

func TestSanitize(t *testing.T) {
	long := strings.Repeat("é", 600) // 1200 bytes
	for _, tc := range []struct {
		name      string
		in        []byte
		truncated bool
		want      string
	}{
		{"ASCII", []byte("hello"), false, "hello"},
		{"UTF8", []byte("héllo ✓"), false, "héllo ✓"},
		{"InvalidByte", []byte("a\xffb"), false, "a\uFFFDb"},
		{"NUL", []byte("a\x00b"), false, "a\uFFFDb"},
		{"CutCharacterDropped", []byte(long)[:1023], true, strings.Repeat("é", 511)},
		{"BrokenCharacterAtEndReplaced", []byte("ab\xc3"), false, "ab\uFFFD"},
		{"InvalidRunOneReplacement", bytes.Repeat([]byte{0xff}, 1024), true, "\uFFFD"},
		{"GrownByReplacementsCut", bytes.Repeat([]byte{0}, 1024), true, strings.Repeat("\uFFFD", 341)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sanitize(tc.in, tc.truncated)
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if !utf8.ValidString(got) || len(got) > MaxKeptResponseBytes || strings.ContainsRune(got, 0) {
				t.Errorf("got %d bytes, valid %v: want valid UTF-8 without NUL, at most %d bytes", len(got), utf8.ValidString(got), MaxKeptResponseBytes)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
