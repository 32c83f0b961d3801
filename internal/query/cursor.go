package query

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// A cursor is the sort key of the last payment of a page, signed so that a
// client can neither forge one nor reuse it with another query, sort or
// user:
//
//	base64url( 0x01 | int64 sort value (big endian) | payment id | MAC )
//	MAC = HMAC-SHA256(secret, "wildcat/cursor/v1" | user id | sort | SHA-256(normalized filter) | payload)
//
// The filter hash covers every filter after normalization (sorted,
// de-duplicated ids, times at millisecond precision), so an equivalent
// query with parameters in another order accepts the cursor. The limit is
// not covered: a client may change the page size while walking.

const (
	cursorVersion = 1
	macSize       = sha256.Size
	minCursorLen  = 1 + 8 + 1 + macSize
	maxCursorID   = 256
)

// MinCursorSecret is the least accepted length of a cursor secret in bytes.
const MinCursorSecret = 32

// CursorCodec signs and verifies cursors. It is safe for concurrent use.
type CursorCodec struct {
	secret []byte
}

// NewCursorCodec returns a codec with secret (at least MinCursorSecret
// bytes). Every replica serving the same clients must share the secret, or
// a cursor issued by one replica is rejected by another.
func NewCursorCodec(secret []byte) (*CursorCodec, error) {
	if len(secret) < MinCursorSecret {
		return nil, fmt.Errorf("query: cursor secret must be at least %d bytes, got %d", MinCursorSecret, len(secret))
	}
	return &CursorCodec{secret: append([]byte(nil), secret...)}, nil
}

// RandomCursorCodec returns a codec with a random secret: cursors then stay
// valid only while this process runs.
func RandomCursorCodec() *CursorCodec {
	secret := make([]byte, MinCursorSecret)
	if _, err := rand.Read(secret); err != nil {
		panic("query: crypto/rand failed: " + err.Error())
	}
	return &CursorCodec{secret: secret}
}

// Encode returns the cursor positioned after key for the given caller,
// sort and filter.
func (c *CursorCodec) Encode(userID string, sort Sort, f Filter, key SortKey) string {
	payload := make([]byte, 0, 1+8+len(key.ID)+macSize)
	payload = append(payload, cursorVersion)
	payload = binary.BigEndian.AppendUint64(payload, uint64(key.Value))
	payload = append(payload, key.ID...)
	payload = append(payload, c.mac(userID, sort, f, payload)...)
	return base64.RawURLEncoding.EncodeToString(payload)
}

// Decode verifies cursor for the caller, sort and filter and returns the
// sort key it holds. Any mismatch or corruption is an EINVALID error
// naming the cursor parameter.
func (c *CursorCodec) Decode(cursor, userID string, sort Sort, f Filter) (SortKey, error) {
	raw, err := decodeCursor(cursor)
	if err != nil {
		return SortKey{}, err
	}
	body, sum := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	if !hmac.Equal(sum, c.mac(userID, sort, f, body)) {
		return SortKey{}, cursorError("was issued for another query, sort or user, or was altered")
	}
	key := SortKey{Value: int64(binary.BigEndian.Uint64(body[1:9])), ID: string(body[9:])}
	if !domain.IsUUID(key.ID) { // signed, but not by a search of payments (their ids are UUIDs)
		return SortKey{}, cursorError("is not a cursor returned by this API")
	}
	return key, nil
}

// decodeCursor checks a cursor's structure (not its signature).
func decodeCursor(cursor string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(raw) < minCursorLen || len(raw) > minCursorLen-1+maxCursorID || raw[0] != cursorVersion {
		return nil, cursorError("is not a cursor returned by this API")
	}
	return raw, nil
}

func cursorError(msg string) error {
	return &domain.Error{Code: domain.EINVALID, Message: "cursor: " + msg,
		Fields: []domain.FieldError{{Field: pCursor, Message: msg}}}
}

func (c *CursorCodec) mac(userID string, sort Sort, f Filter, payload []byte) []byte {
	h := hmac.New(sha256.New, c.secret)
	fh := f.Hash()
	for _, part := range [][]byte{[]byte("wildcat/cursor/v1"), []byte(userID), []byte(sort), fh[:], payload} {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(part))))
		h.Write(part)
	}
	return h.Sum(nil)
}

// Hash returns a SHA-256 digest of the normalized filter: two filters that
// select the same payments by the same parameters hash equally.
func (f Filter) Hash() [sha256.Size]byte {
	h := sha256.New()
	field := func(name string, vals ...string) {
		h.Write([]byte(name))
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(vals))))
		for _, v := range vals {
			h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(v))))
			h.Write([]byte(v))
		}
	}
	tm := func(t *time.Time) []string {
		if t == nil {
			return nil
		}
		return []string{strconv.FormatInt(t.UnixMilli(), 10)}
	}
	num := func(n *int64) []string {
		if n == nil {
			return nil
		}
		return []string{strconv.FormatInt(*n, 10)}
	}
	str := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	statuses := make([]string, len(f.Statuses))
	for i, s := range f.Statuses {
		statuses[i] = string(s)
	}
	field(pFrom, tm(f.From)...)
	field(pTo, tm(f.To)...)
	field(pCustomerID, f.CustomerIDs...)
	field(pUserID, f.UserIDs...)
	field(pStatus, statuses...)
	field(pCurrency, f.Currencies...)
	field(pPaymentRef, str(f.PaymentRefID)...)
	field(pAmountMin, num(f.AmountMin)...)
	field(pAmountMax, num(f.AmountMax)...)
	field(pText, str(f.Text)...)
	// Filters added later are hashed only when set, so cursors issued
	// before they existed stay valid.
	if len(f.FailureCodes) > 0 {
		field(pFailureCode, f.FailureCodes...)
	}
	if f.Refunded != nil {
		field(pRefunded, strconv.FormatBool(*f.Refunded))
	}
	if len(f.ExecutedBy) > 0 {
		field(pExecutedBy, f.ExecutedBy...)
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
