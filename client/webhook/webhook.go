// Package webhook verifies and decodes the webhooks Wildcat sends to an
// endpoint, for programs that receive them. It uses the standard library
// only.
//
// Every delivery is an HTTP POST whose body is an [Event] in JSON, signed
// with the endpoint's secret (whsec_…, shown once when the endpoint is
// created). The [SignatureHeader] holds
//
//	t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
//
// A receiver checks the signature over the raw bytes it received, before
// decoding them, and refuses a timestamp too far from its own clock so that
// a captured request cannot be replayed later: [ParseEvent] does both, and
// [Handler] wraps it in an http.Handler. Deliveries are retried until
// answered with a 2xx status, so the same event (same [Event.ID], also in
// [EventIDHeader]) can arrive more than once: receivers deduplicate on it.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Header names of a delivery.
const (
	// SignatureHeader holds the timestamp and the signature(s).
	SignatureHeader = "Wildcat-Signature"
	// EventIDHeader holds the event's id, the same on every retry and
	// redelivery. It is not signed: use it for logging and cheap
	// deduplication, trust the id in the verified body.
	EventIDHeader = "Wildcat-Event-Id"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock when a tolerance of zero is given.
const DefaultTolerance = 5 * time.Minute

// The errors of Verify. Each is returned as is, so callers compare with
// errors.Is (or ==).
var (
	// ErrNoSecret: the secret given to Verify is empty (a receiver whose
	// configuration is missing must not accept what anyone can sign).
	ErrNoSecret = errors.New("webhook: no secret to verify with")
	// ErrNoSignature: the header is empty or has no v1 signature.
	ErrNoSignature = errors.New("webhook: no v1 signature in " + SignatureHeader)
	// ErrMalformedHeader: the header has no timestamp, a timestamp that
	// is not a number, or a part that is not key=value.
	ErrMalformedHeader = errors.New("webhook: malformed " + SignatureHeader + " header")
	// ErrBadSignature: no v1 signature matches the body and secret (a
	// tampered body, a wrong secret, or a forged header).
	ErrBadSignature = errors.New("webhook: signature does not match")
	// ErrTooOld: the signature is valid but its timestamp is older than
	// the tolerance allows (a replayed request, or a clock far behind).
	ErrTooOld = errors.New("webhook: timestamp too old")
	// ErrTooNew: the signature is valid but its timestamp is further in
	// the future than the tolerance allows (a clock far ahead).
	ErrTooNew = errors.New("webhook: timestamp in the future")
)

// Sign returns the SignatureHeader value for body signed with secret at t
// (whole seconds). Wildcat signs every attempt anew, with the time of the
// attempt.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks that header (the SignatureHeader value) signs body with
// secret, and that its timestamp is within tolerance of now (zero or less
// means DefaultTolerance). The header may carry several v1 signatures (one
// of them must match) and parts of other schemes, which are ignored. The
// comparison takes constant time. The timestamp is checked only once a
// signature matches, so a forged header is ErrBadSignature, never ErrTooOld.
func Verify(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	if secret == "" {
		return ErrNoSecret
	}
	ts, sigs, err := parseHeader(header)
	if err != nil {
		return err
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		// Every candidate is compared, so the time taken does not tell
		// which one matched.
		if err == nil && hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	return checkTime(ts, tolerance, now)
}

// parseHeader splits "t=…,v1=…[,v1=…][,other=…]" into the timestamp and
// the v1 signatures.
func parseHeader(header string) (ts string, sigs []string, err error) {
	if strings.TrimSpace(header) == "" {
		return "", nil, ErrNoSignature
	}
	for part := range strings.SplitSeq(header, ",") {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			return "", nil, ErrMalformedHeader
		}
		switch k {
		case "t":
			if ts != "" {
				return "", nil, ErrMalformedHeader
			}
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if ts == "" {
		return "", nil, ErrMalformedHeader
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		return "", nil, ErrMalformedHeader
	}
	if len(sigs) == 0 {
		return "", nil, ErrNoSignature
	}
	return ts, sigs, nil
}

func checkTime(ts string, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	sec, _ := strconv.ParseInt(ts, 10, 64) // parseHeader checked it
	age := now.Sub(time.Unix(sec, 0))
	switch {
	case age > tolerance:
		return ErrTooOld
	case age < -tolerance:
		return ErrTooNew
	}
	return nil
}
