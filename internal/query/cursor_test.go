package query_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/query"
)

func TestCursor(t *testing.T) {
	codec, err := query.NewCursorCodec([]byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f := query.Filter{From: &from, Currencies: []string{"DKK"}, Text: "acme"}
	key := query.SortKey{Value: -1234567890123, ID: "123e4567-e89b-12d3-a456-426614174000"}
	const user = "aaaaaaaa-0000-0000-0000-000000000001"
	cur := codec.Encode(user, query.SortDateDesc, f, key)

	t.Run("RoundTrip", func(t *testing.T) {
		got, err := codec.Decode(cur, user, query.SortDateDesc, f)
		if err != nil || got != key {
			t.Fatalf("got %+v, %v; want %+v", got, err, key)
		}
	})
	t.Run("EquivalentFilterAccepted", func(t *testing.T) {
		same := from.In(time.FixedZone("x", 3600))
		g := query.Filter{From: &same, Currencies: []string{"DKK"}, Text: "acme"}
		if _, err := codec.Decode(cur, user, query.SortDateDesc, g); err != nil {
			t.Fatalf("an equal filter in another zone: %v", err)
		}
	})

	otherFrom := from.Add(time.Millisecond)
	min := int64(1)
	flipped := []byte(cur)
	if flipped[5] == 'A' {
		flipped[5] = 'B'
	} else {
		flipped[5] = 'A'
	}
	raw, _ := base64.RawURLEncoding.DecodeString(cur)
	for _, tc := range []struct {
		name   string
		cursor string
		user   string
		sort   query.Sort
		filter query.Filter
	}{
		{"OtherUser", cur, "aaaaaaaa-0000-0000-0000-000000000002", query.SortDateDesc, f},
		{"OtherSort", cur, user, query.SortDate, f},
		{"OtherFrom", cur, user, query.SortDateDesc, query.Filter{From: &otherFrom, Currencies: []string{"DKK"}, Text: "acme"}},
		{"OtherCurrencies", cur, user, query.SortDateDesc, query.Filter{From: &from, Currencies: []string{"DKK", "EUR"}, Text: "acme"}},
		{"OtherText", cur, user, query.SortDateDesc, query.Filter{From: &from, Currencies: []string{"DKK"}, Text: "acme corp"}},
		{"AddedFilter", cur, user, query.SortDateDesc, query.Filter{From: &from, Currencies: []string{"DKK"}, Text: "acme", AmountMin: &min}},
		{"FlippedCharacter", string(flipped), user, query.SortDateDesc, f},
		{"Truncated", cur[:len(cur)-4], user, query.SortDateDesc, f},
		{"TruncatedBytes", base64.RawURLEncoding.EncodeToString(raw[:20]), user, query.SortDateDesc, f},
		{"NotBase64", "!!!" + cur, user, query.SortDateDesc, f},
		{"Empty", "", user, query.SortDateDesc, f},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := codec.Decode(tc.cursor, tc.user, tc.sort, tc.filter)
			if got := strings.Join(fields(t, err), ","); got != "cursor" {
				t.Fatalf("fields = %s, want cursor", got)
			}
		})
	}
	t.Run("OtherSecret", func(t *testing.T) {
		other, _ := query.NewCursorCodec([]byte(strings.Repeat("t", 32)))
		if _, err := other.Decode(cur, user, query.SortDateDesc, f); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("err = %v, want invalid", err)
		}
	})
	t.Run("ShortSecretRejected", func(t *testing.T) {
		if _, err := query.NewCursorCodec([]byte("short")); err == nil {
			t.Fatal("a 5-byte secret was accepted")
		}
	})
}
