package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	clientwebhook "github.com/wildcat-payments/wildcat/client/webhook"
	"github.com/wildcat-payments/wildcat/internal/testenv"
	"github.com/wildcat-payments/wildcat/internal/webhook"
)

// TestReceiverBinary runs the built receiver as a process and delivers to
// it with the real sender: behaviours, signature checks, the report, reset
// and a graceful stop.
func TestReceiverBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	addr := testenv.FreeAddr(t)
	base := "http://" + addr
	proc := testenv.MustStart(t, testenv.MustBuild(t, "./cmd/webhook-receiver"),
		[]string{"RECEIVER_ADDR=" + addr, "RECEIVER_SECRETS=whsec_a", "LOG_LEVEL=debug"}, base+"/healthz")
	sender := webhook.NewSender(webhook.Options{AllowPrivate: true, Timeout: 2 * time.Second})
	send := func(hook, secret, id string) webhook.Result {
		return sender.Send(context.Background(), base+"/hooks/"+hook, secret, id, payload(id, time.Now().Add(-time.Second)))
	}

	// Attempt 1 dropped, 2 and 3 failed with 503, 4 accepted; numbered
	// per hook, so the same event at another hook starts again.
	mustPost(t, base+"/_admin/behaviour", `{"fail_first": 3, "drop_first": 1, "status": 503}`, http.StatusOK)
	for i, want := range []struct {
		status int
		err    error
	}{{0, webhook.ErrConnectionClosed}, {503, nil}, {503, nil}, {200, nil}, {200, nil}} {
		res := send("a", "whsec_a", "e1")
		if res.StatusCode != want.status || !errors.Is(res.Err, want.err) {
			t.Errorf("e1 attempt %d: got status %d, error %v; want %d, %v", i+1, res.StatusCode, res.Err, want.status, want.err)
		}
	}
	if res := send("b", "whsec_a", "e1"); !errors.Is(res.Err, webhook.ErrConnectionClosed) {
		t.Errorf("e1 at hook b: got %+v, want it dropped (its attempt 1)", res)
	}

	// Signatures: a wrong secret, none, a stale one; then a secret added
	// at run time.
	mustPost(t, base+"/_admin/behaviour", `{}`, http.StatusOK)
	if res := send("a", "whsec_b", "e2"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown secret: got %+v, want 400", res)
	}
	if got := postSigned(t, base+"/hooks/a", "", payload("e2", time.Now())); got.status != 400 || !strings.Contains(got.body, "no v1 signature") {
		t.Errorf("no signature: got %d %s, want 400 about the missing signature", got.status, got.body)
	}
	stale := payload("e2", time.Now())
	if got := postSigned(t, base+"/hooks/a", clientwebhook.Sign("whsec_a", time.Now().Add(-time.Hour), stale), stale); got.status != 400 || !strings.Contains(got.body, "too old") {
		t.Errorf("stale signature: got %d %s, want 400 too old", got.status, got.body)
	}
	mustPost(t, base+"/_admin/secrets", `{"secret": "whsec_b"}`, http.StatusOK)
	if res := send("a", "whsec_b", "e2"); !res.OK() {
		t.Errorf("added secret: got %+v, want OK", res)
	}

	// A slow answer is a timeout for the sender.
	mustPost(t, base+"/_admin/behaviour", `{"delay_ms": 500}`, http.StatusOK)
	slow := webhook.NewSender(webhook.Options{AllowPrivate: true, Timeout: 100 * time.Millisecond})
	if res := slow.Send(context.Background(), base+"/hooks/a", "whsec_a", "e3", payload("e3", time.Now())); !errors.Is(res.Err, webhook.ErrTimeout) {
		t.Errorf("delay: got %+v, want a timeout", res)
	}
	mustPost(t, base+"/_admin/behaviour", `{"delay_ms": 0, "fail_frist": 1}`, http.StatusBadRequest)
	mustPost(t, base+"/_admin/behaviour", `{"status": 200}`, http.StatusBadRequest)

	r := mustReport(t, base)
	want := report{Deliveries: 11, Accepted: 4, Failed: 2, Dropped: 2, BadSignatures: 3, UniqueEvents: 3, DeliveredEvents: 3,
		PerEvent: map[string]int{"e1": 6, "e2": 1, "e3": 1}, LatencyCount: 3}
	if fmt.Sprint(summary(r)) != fmt.Sprint(want) {
		t.Errorf("report:\n got %+v\nwant %+v", summary(r), want)
	}
	if r.LatencyP50MS < 900 || r.LatencyP99MS < r.LatencyP50MS || r.LatencyMaxMS < r.LatencyP99MS {
		t.Errorf("latency: got p50 %.1f, p99 %.1f, max %.1f ms; want p50 about 1000 (created a second before sending) <= p99 <= max",
			r.LatencyP50MS, r.LatencyP99MS, r.LatencyMaxMS)
	}
	var outcomes []string
	for _, rec := range r.Records {
		if rec.Hook == "a" && rec.EventID == "e1" {
			outcomes = append(outcomes, fmt.Sprintf("%d:%s", rec.Attempt, rec.Outcome))
		}
	}
	if got := strings.Join(outcomes, " "); got != "1:dropped 2:failed 3:failed 4:accepted 5:accepted" {
		t.Errorf("records of e1 at a: got %q", got)
	}

	// Reset forgets deliveries, keeps secrets.
	mustPost(t, base+"/_admin/reset", ``, http.StatusNoContent)
	if res := send("a", "whsec_b", "e4"); !res.OK() {
		t.Errorf("after reset: got %+v, want OK", res)
	}
	if r := mustReport(t, base); r.Deliveries != 1 || r.PerEvent["e4"] != 1 || len(r.PerEvent) != 1 {
		t.Errorf("after reset: got %+v, want only e4", summary(r))
	}

	proc.Stop()
	if out := proc.Output(); !strings.Contains(out, `"msg":"stopped"`) || strings.Contains(out, "whsec_") {
		t.Errorf("output: want a graceful stop and no secrets logged:\n%s", out)
	}
}

func payload(id string, created time.Time) []byte {
	return fmt.Appendf(nil, `{"id":%q,"type":"payment.created","created_at":%q,"data":{"object":{"object":"payment"}}}`,
		id, created.UTC().Format(time.RFC3339Nano))
}

// summary is the report without what varies from run to run.
func summary(r report) report {
	r.LatencyP50MS, r.LatencyP99MS, r.LatencyMaxMS, r.Records = 0, 0, 0, nil
	return r
}

type answer struct {
	status int
	body   string
}

func postSigned(t *testing.T, url, signature string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if signature != "" {
		req.Header.Set(clientwebhook.SignatureHeader, signature)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, string(b)}
}

func mustPost(t *testing.T, url, body string, wantStatus int) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != wantStatus {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("POST %s %s: got %d %s, want %d", url, body, res.StatusCode, b, wantStatus)
	}
}

func mustReport(t *testing.T, base string) report {
	t.Helper()
	res, err := http.Get(base + "/_admin/received?records=true")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r report
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}
