package domain_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

func TestFormatAmount(t *testing.T) {
	for _, tc := range []struct {
		minor    int64
		currency string
		want     string
	}{
		{12345, "DKK", "123.45"},
		{5, "EUR", "0.05"},
		{100, "USD", "1.00"},
		{1500, "JPY", "1500"},
		{1, "KWD", "0.001"},
		{domain.MaxAmount, "DKK", "10000000000000.00"},
		{-250, "SEK", "-2.50"},
	} {
		t.Run(fmt.Sprintf("%d_%s", tc.minor, tc.currency), func(t *testing.T) {
			if got := domain.FormatAmount(tc.minor, tc.currency); got != tc.want {
				t.Fatalf("FormatAmount(%d, %s) = %q, want %q", tc.minor, tc.currency, got, tc.want)
			}
		})
	}
}

func TestIsCurrency(t *testing.T) {
	for _, c := range []string{"DKK", "EUR", "USD", "GBP", "SEK", "NOK", "CHF", "JPY"} {
		if !domain.IsCurrency(c) {
			t.Errorf("IsCurrency(%q) = false, want true", c)
		}
	}
	for _, c := range []string{"", "dkk", "XXX", "EURO", "DK", "ÆØÅ"} {
		if domain.IsCurrency(c) {
			t.Errorf("IsCurrency(%q) = true, want false", c)
		}
	}
}

func TestIsUUID(t *testing.T) {
	for s, want := range map[string]bool{
		"123e4567-e89b-12d3-a456-426614174000":  true,
		"123E4567-E89B-12D3-A456-426614174000":  true,
		"123e4567e89b12d3a456426614174000":      false,
		"123e4567-e89b-12d3-a456-42661417400g":  false,
		"123e4567-e89b-12d3-a456-4266141740000": false,
		"' OR 1=1 --":                           false,
	} {
		if got := domain.IsUUID(s); got != want {
			t.Errorf("IsUUID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestValidation(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		var v domain.Validation
		domain.ValidateAmount(&v, "amount", 1)
		domain.ValidateCurrency(&v, "currency", "DKK")
		domain.ValidateText(&v, "third_party", "ACME", 1, domain.MaxThirdPartyLen)
		domain.ValidateEmail(&v, "email", "a@example.com")
		if err := v.Err(); err != nil {
			t.Fatalf("got %v, want nil", err)
		}
	})
	t.Run("EveryFieldReported", func(t *testing.T) {
		var v domain.Validation
		domain.ValidateAmount(&v, "amount", 0)
		domain.ValidateAmount(&v, "amount2", domain.MaxAmount+1)
		domain.ValidateCurrency(&v, "currency", "usd")
		domain.ValidateText(&v, "third_party", "", 1, domain.MaxThirdPartyLen)
		domain.ValidateText(&v, "description", strings.Repeat("é", 501), 0, domain.MaxDescriptionLen)
		domain.ValidateText(&v, "name", "a\x00b", 1, 10)
		domain.ValidateText(&v, "bad_utf8", "\xff", 1, 10)
		domain.ValidateEmail(&v, "email", "Bob <bob@example.com>")
		err := v.Err()
		var e *domain.Error
		if !errors.As(err, &e) || e.Code != domain.EINVALID {
			t.Fatalf("got %v, want an EINVALID *Error", err)
		}
		var got []string
		for _, f := range e.Fields {
			got = append(got, f.Field)
		}
		want := "amount,amount2,currency,third_party,description,name,bad_utf8,email"
		if strings.Join(got, ",") != want {
			t.Fatalf("fields = %v, want %v", got, want)
		}
	})
	t.Run("MultiByteLengthCountsRunes", func(t *testing.T) {
		var v domain.Validation
		domain.ValidateText(&v, "third_party", strings.Repeat("ø", 64), 1, 64)
		if err := v.Err(); err != nil {
			t.Fatalf("64 runes: got %v, want nil", err)
		}
	})
}

// TestValidateText: single-line fields (names, third_party) refuse every
// control character, tab and newlines included (docs/command-api.md); free
// text (descriptions, reasons) allows tab, newline and carriage return.
func TestValidateText(t *testing.T) {
	for _, tc := range []struct {
		name      string
		s         string
		line, mul bool // valid as a single line / as multi-line text
	}{
		{"Plain", "ACME A/S", true, true},
		{"NonASCII", "Smørrebrød ApS ☕", true, true},
		{"Tab", "a\tb", false, true},
		{"Newline", "a\nb", false, true},
		{"CarriageReturn", "a\rb", false, true},
		{"NUL", "a\x00b", false, false},
		{"Escape", "a\x1b[31mb", false, false},
		{"DEL", "a\x7fb", false, false},
		{"C1NextLine", "a\u0085b", false, false},
		{"C1CSI", "a\u009bb", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var line, mul domain.Validation
			domain.ValidateText(&line, "third_party", tc.s, 1, 64)
			domain.ValidateMultilineText(&mul, "description", tc.s, 0, 64)
			if got := line.Err() == nil; got != tc.line {
				t.Errorf("ValidateText(%q) valid = %v, want %v (%v)", tc.s, got, tc.line, line.Err())
			}
			if got := mul.Err() == nil; got != tc.mul {
				t.Errorf("ValidateMultilineText(%q) valid = %v, want %v (%v)", tc.s, got, tc.mul, mul.Err())
			}
			if f := line.Fields(); !tc.line && (len(f) != 1 || f[0].Field != "third_party" || !strings.Contains(f[0].Message, "control characters")) {
				t.Errorf("fields %+v, want third_party: ... control characters", f)
			}
		})
	}
}

func TestIsCommonPassword(t *testing.T) {
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"password1234", true},
		{"Password1234", true},
		{"1q2w3e4r5t6y", true},
		{"qwertyuiop123", true},
		{"correct horse battery", false},
		{"", false},
		{"# Common passwords of at least 12 characters (domain.MinPasswordLen; shorter ones fail", false},
	} {
		if got := domain.IsCommonPassword(tc.pw); got != tc.want {
			t.Errorf("IsCommonPassword(%q) = %v, want %v", tc.pw, got, tc.want)
		}
	}
}

func TestStatusTransitions(t *testing.T) {
	allowed := map[[2]domain.Status]string{ // → the failure code the move needs ("*": any)
		{domain.StatusPending, domain.StatusProcessing}:   "*",
		{domain.StatusPending, domain.StatusCanceled}:     "*",
		{domain.StatusProcessing, domain.StatusSucceeded}: "*",
		{domain.StatusProcessing, domain.StatusFailed}:    "*",
		{domain.StatusFailed, domain.StatusPending}:       domain.FailureRetriesExhausted,
	}
	for _, from := range domain.Statuses {
		for _, to := range domain.Statuses {
			for _, code := range []string{"", domain.FailureRetriesExhausted, "insufficient_funds"} {
				need, ok := allowed[[2]domain.Status{from, to}]
				want := ok && (need == "*" || need == code)
				t.Run(fmt.Sprintf("%s→%s(%s)", from, to, code), func(t *testing.T) {
					if got := from.CanTransition(code, to); got != want {
						t.Errorf("got %v, want %v", got, want)
					}
				})
			}
		}
	}
	t.Run("FinalStates", func(t *testing.T) {
		for _, s := range domain.Statuses {
			want := s == domain.StatusSucceeded || s == domain.StatusFailed || s == domain.StatusCanceled
			if got := s.Final(); got != want {
				t.Errorf("%s.Final() = %v, want %v", s, got, want)
			}
		}
	})
}

func TestErrorCode(t *testing.T) {
	wrapped := fmt.Errorf("postgres: insert: %w", domain.Errorf(domain.ECONFLICT, "dup"))
	if got := domain.ErrorCode(wrapped); got != domain.ECONFLICT {
		t.Errorf("ErrorCode(wrapped conflict) = %q, want conflict", got)
	}
	if got := domain.ErrorCode(errors.New("boom")); got != domain.EINTERNAL {
		t.Errorf("ErrorCode(plain) = %q, want internal", got)
	}
	if got := domain.ErrorMessage(errors.New("secret dsn")); strings.Contains(got, "secret") {
		t.Errorf("ErrorMessage leaked %q", got)
	}
}

func TestConsistencyToken(t *testing.T) {
	for _, lsn := range []uint64{0, 1, 0x16B3748, 1<<64 - 1} {
		tok := domain.EncodeConsistencyToken(lsn)
		got, err := domain.DecodeConsistencyToken(tok)
		if err != nil || got != lsn {
			t.Errorf("round trip %d via %q = %d, %v", lsn, tok, got, err)
		}
	}
	for _, bad := range []string{"", "c1.", "c1.0000000000000g00", "c2.0000000000000001", "c1.00000000000000001", "c1.000000000000000A", "0/16B3748"} {
		if _, err := domain.DecodeConsistencyToken(bad); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("DecodeConsistencyToken(%q) err = %v, want invalid", bad, err)
		}
	}
}
