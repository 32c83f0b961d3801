package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/client/webhook"
)

// The known answer, computed outside Go with
//
//	printf '%s' '1700000000.{"id":"0190f3a4-7b1c-7d2e-9f00-5a6b7c8d9e0f","type":"payment.succeeded"}' |
//	  openssl dgst -sha256 -hmac 'whsec_4eC39HqLyjWDarjtT1zdp7dcTestSecret012345678'
const (
	kaSecret = "whsec_4eC39HqLyjWDarjtT1zdp7dcTestSecret012345678"
	kaBody   = `{"id":"0190f3a4-7b1c-7d2e-9f00-5a6b7c8d9e0f","type":"payment.succeeded"}`
	kaHeader = "t=1700000000,v1=c37cd51c832047ef879f22c45137b7efb4403de849f65c28c72557d142553762"
)

var kaTime = time.Unix(1700000000, 0)

func TestSignKnownAnswer(t *testing.T) {
	if got := webhook.Sign(kaSecret, kaTime, []byte(kaBody)); got != kaHeader {
		t.Errorf("got %q, want %q", got, kaHeader)
	}
	// Sub-second parts do not change the header: t is whole seconds.
	if got := webhook.Sign(kaSecret, kaTime.Add(999*time.Millisecond), []byte(kaBody)); got != kaHeader {
		t.Errorf("with milliseconds: got %q, want %q", got, kaHeader)
	}
}

func TestVerify(t *testing.T) {
	const sig = "c37cd51c832047ef879f22c45137b7efb4403de849f65c28c72557d142553762"
	other := strings.Repeat("ab", 32) // well-formed, wrong
	for _, tc := range []struct {
		name   string
		secret string
		header string
		body   string
		now    time.Time
		tol    time.Duration
		want   error
	}{
		{name: "OK", header: kaHeader},
		{name: "OKUppercaseHex", header: "t=1700000000,v1=" + strings.ToUpper(sig)},
		{name: "OKSpacesAroundParts", header: "t=1700000000, v1=" + sig},
		{name: "OKPartsInAnyOrder", header: "v1=" + sig + ",t=1700000000"},
		{name: "OKSecondOfSeveralV1", header: "t=1700000000,v1=" + other + ",v1=" + sig},
		{name: "OKFirstOfSeveralV1", header: "t=1700000000,v1=" + sig + ",v1=" + other},
		{name: "OKUnknownSchemesIgnored", header: "t=1700000000,v0=zz,v1=" + sig + ",v2=" + other},
		{name: "OKAtEdgeOfTolerance", header: kaHeader, now: kaTime.Add(5 * time.Minute)},
		{name: "OKSlightlyAhead", header: kaHeader, now: kaTime.Add(-time.Minute)},
		{name: "OKCustomTolerance", header: kaHeader, now: kaTime.Add(time.Hour), tol: 2 * time.Hour},
		{name: "ErrBadSignatureTamperedBody", header: kaHeader, body: strings.Replace(kaBody, "succeeded", "failed", 1), want: webhook.ErrBadSignature},
		{name: "ErrBadSignatureTrailingNewline", header: kaHeader, body: kaBody + "\n", want: webhook.ErrBadSignature},
		{name: "ErrBadSignatureWrongSecret", secret: kaSecret + "x", header: kaHeader, want: webhook.ErrBadSignature},
		{name: "ErrBadSignatureOtherTimestamp", header: "t=1700000001,v1=" + sig, now: kaTime, want: webhook.ErrBadSignature},
		{name: "ErrBadSignatureNotHex", header: "t=1700000000,v1=xyz", want: webhook.ErrBadSignature},
		{name: "ErrBadSignatureTruncated", header: "t=1700000000,v1=" + sig[:32], want: webhook.ErrBadSignature},
		{name: "ErrBadSignatureEmptyV1", header: "t=1700000000,v1=", want: webhook.ErrBadSignature},
		{name: "ErrBadSignatureOnlyOtherScheme", header: "t=1700000000,v0=" + sig + ",v1=" + other, want: webhook.ErrBadSignature},
		{name: "ErrBadSignatureBeforeTooOld", header: "t=1700000000,v1=" + other, now: kaTime.Add(24 * time.Hour), want: webhook.ErrBadSignature},
		{name: "ErrTooOld", header: kaHeader, now: kaTime.Add(5*time.Minute + time.Second), want: webhook.ErrTooOld},
		{name: "ErrTooOldCustomTolerance", header: kaHeader, now: kaTime.Add(31 * time.Second), tol: 30 * time.Second, want: webhook.ErrTooOld},
		{name: "ErrTooNew", header: kaHeader, now: kaTime.Add(-6 * time.Minute), want: webhook.ErrTooNew},
		{name: "ErrNoSecret", secret: "-", header: kaHeader, want: webhook.ErrNoSecret},
		{name: "ErrNoSignatureEmpty", header: "", want: webhook.ErrNoSignature},
		{name: "ErrNoSignatureBlank", header: "  ", want: webhook.ErrNoSignature},
		{name: "ErrNoSignatureOnlyTimestamp", header: "t=1700000000", want: webhook.ErrNoSignature},
		{name: "ErrNoSignatureOnlyOtherScheme", header: "t=1700000000,v0=" + sig, want: webhook.ErrNoSignature},
		{name: "ErrMalformedNoTimestamp", header: "v1=" + sig, want: webhook.ErrMalformedHeader},
		{name: "ErrMalformedTimestampNotNumber", header: "t=yesterday,v1=" + sig, want: webhook.ErrMalformedHeader},
		{name: "ErrMalformedEmptyTimestamp", header: "t=,v1=" + sig, want: webhook.ErrMalformedHeader},
		{name: "ErrMalformedTwoTimestamps", header: "t=1700000000,t=1,v1=" + sig, want: webhook.ErrMalformedHeader},
		{name: "ErrMalformedPartWithoutEquals", header: "t=1700000000,v1=" + sig + ",junk", want: webhook.ErrMalformedHeader},
		{name: "ErrMalformedNotAHeader", header: sig, want: webhook.ErrMalformedHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret, body, now := tc.secret, tc.body, tc.now
			switch secret {
			case "":
				secret = kaSecret
			case "-":
				secret = ""
			}
			if body == "" {
				body = kaBody
			}
			if now.IsZero() {
				now = kaTime
			}
			if got := webhook.Verify(secret, tc.header, []byte(body), tc.tol, now); !errors.Is(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSignVerifyRoundTrip: what Sign writes, Verify accepts, for bodies of
// any content.
func TestSignVerifyRoundTrip(t *testing.T) {
	now := time.Now()
	for _, body := range []string{"", "{}", kaBody, "t=1,v1=2", strings.Repeat("é\x00,", 1000)} {
		h := webhook.Sign("s", now, []byte(body))
		if err := webhook.Verify("s", h, []byte(body), 0, now); err != nil {
			t.Errorf("body %.20q: got %v, want nil", body, err)
		}
	}
}

func TestParseEvent(t *testing.T) {
	body := []byte(`{"id":"e1","type":"refund.created","created_at":"2026-01-02T03:04:05.123456Z",` +
		`"data":{"object":{"object":"payment","id":"p1"},"details":{"amount":100}}}`)
	t.Run("OK", func(t *testing.T) {
		e, err := webhook.ParseEvent("s", webhook.Sign("s", time.Now(), body), body, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
		if e.ID != "e1" || e.Type != webhook.EventRefundCreated || !e.CreatedAt.Equal(want) {
			t.Errorf("got %+v, want id e1, type refund.created, created_at %s", e, want)
		}
		if string(e.Data.Object) != `{"object":"payment","id":"p1"}` || string(e.Data.Details) != `{"amount":100}` {
			t.Errorf("got object %s details %s", e.Data.Object, e.Data.Details)
		}
	})
	t.Run("NoDetails", func(t *testing.T) {
		b := []byte(`{"id":"e2","type":"payment.created","created_at":"2026-01-02T03:04:05Z","data":{"object":{}}}`)
		e, err := webhook.ParseEvent("s", webhook.Sign("s", time.Now(), b), b, 0)
		if err != nil {
			t.Fatal(err)
		}
		if e.Data.Details != nil {
			t.Errorf("got details %s, want none", e.Data.Details)
		}
	})
	t.Run("ErrBadSignature", func(t *testing.T) {
		_, err := webhook.ParseEvent("other", webhook.Sign("s", time.Now(), body), body, 0)
		if !errors.Is(err, webhook.ErrBadSignature) {
			t.Errorf("got %v, want ErrBadSignature", err)
		}
	})
	t.Run("ErrTooOld", func(t *testing.T) {
		_, err := webhook.ParseEvent("s", webhook.Sign("s", time.Now().Add(-time.Hour), body), body, 0)
		if !errors.Is(err, webhook.ErrTooOld) {
			t.Errorf("got %v, want ErrTooOld", err)
		}
	})
	t.Run("SignedButNotJSON", func(t *testing.T) {
		b := []byte("not json")
		if _, err := webhook.ParseEvent("s", webhook.Sign("s", time.Now(), b), b, 0); err == nil {
			t.Error("got no error, want a decoding error")
		}
	})
}

func TestHandler(t *testing.T) {
	body := []byte(`{"id":"e1","type":"payment.succeeded","created_at":"2026-01-02T03:04:05Z","data":{"object":{}}}`)
	var got []string
	h := &webhook.Handler{
		Secrets:      []string{"old", "new"},
		MaxBodyBytes: 1024,
		Receive: func(_ context.Context, e webhook.Event) error {
			got = append(got, e.ID)
			if e.Type == webhook.EventPaymentFailed {
				return errors.New("cannot store it")
			}
			return nil
		},
	}
	failed := bytes.Replace(body, []byte("succeeded"), []byte("failed"), 1)
	for _, tc := range []struct {
		name       string
		method     string
		body       []byte
		header     string
		wantStatus int
		wantIDs    int // events passed to Receive
		wantText   string
	}{
		{name: "OK", body: body, header: webhook.Sign("old", time.Now(), body), wantStatus: 204, wantIDs: 1},
		{name: "OKSecondSecret", body: body, header: webhook.Sign("new", time.Now(), body), wantStatus: 204, wantIDs: 1},
		{name: "BadSignature", body: body, header: webhook.Sign("other", time.Now(), body), wantStatus: 400, wantText: "does not match"},
		{name: "NoSignature", body: body, wantStatus: 400, wantText: "no v1 signature"},
		{name: "TooOldWithSecondSecret", body: body, header: webhook.Sign("new", time.Now().Add(-time.Hour), body), wantStatus: 400, wantText: "too old"},
		{name: "ReceiveFails", body: failed, header: webhook.Sign("new", time.Now(), failed), wantStatus: 500, wantIDs: 1},
		{name: "NotPost", method: http.MethodGet, wantStatus: 405},
		{name: "TooLarge", body: bytes.Repeat([]byte("x"), 1025), header: "t=1,v1=00", wantStatus: 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, "/hooks", bytes.NewReader(tc.body))
			if tc.header != "" {
				req.Header.Set(webhook.SignatureHeader, tc.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Errorf("got status %d, want %d (%s)", rec.Code, tc.wantStatus, rec.Body)
			}
			if len(got) != tc.wantIDs {
				t.Errorf("got %d events received, want %d", len(got), tc.wantIDs)
			}
			if !strings.Contains(rec.Body.String(), tc.wantText) {
				t.Errorf("got body %q, want it to mention %q", rec.Body, tc.wantText)
			}
		})
	}
}
