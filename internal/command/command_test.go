package command_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/command/commandtest"
	"github.com/wildcat-payments/wildcat/internal/domain"
)

// fakeHasher "hashes" by prefixing; it records comparisons so tests can
// check that an unknown email still costs one.
type fakeHasher struct {
	mu       sync.Mutex
	verifies int
}

func (h *fakeHasher) Hash(_ context.Context, pw string) (string, error) { return "h:" + pw, nil }

func (h *fakeHasher) Verify(_ context.Context, enc, pw string) (bool, error) {
	h.mu.Lock()
	h.verifies++
	h.mu.Unlock()
	return enc != "" && enc == "h:"+pw, nil
}

type fakeIssuer struct{}

func (fakeIssuer) Issue(uid string) (string, error) { return "token-for-" + uid, nil }
func (fakeIssuer) TTL() time.Duration               { return 15 * time.Minute }

// countLimiter allows n takes per key.
type countLimiter struct {
	mu   sync.Mutex
	n    int
	used map[string]int
}

func newCountLimiter(n int) *countLimiter { return &countLimiter{n: n, used: map[string]int{}} }

func (l *countLimiter) Take(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.used[key] >= l.n {
		return false, 1500 * time.Millisecond
	}
	l.used[key]++
	return true, 0
}

func (l *countLimiter) Refund(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.used[key]--
}

func ptr[T any](v T) *T { return &v }

// knownSet is a command.ClientMemory that never forgets.
type knownSet map[string]bool

func (k knownSet) Known(key string) bool { return k[key] }
func (k knownSet) Remember(key string)   { k[key] = true }

func wantErr(t *testing.T, err error, code, reason string) *domain.Error {
	t.Helper()
	var e *domain.Error
	if !errors.As(err, &e) || e.Code != code || (reason != "" && e.Reason != reason) {
		t.Fatalf("err = %v, want %s (%s)", err, code, reason)
	}
	return e
}

func fieldNames(e *domain.Error) []string {
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestPaymentInputValidate(t *testing.T) {
	valid := func() command.PaymentInput {
		return command.PaymentInput{CustomerID: ptr("123E4567-E89B-42D3-A456-426614174000"), Amount: ptr(int64(100)),
			Currency: ptr("DKK"), ThirdParty: ptr("ACME")}
	}
	for _, tc := range []struct {
		name   string
		mut    func(p *command.PaymentInput)
		fields []string
	}{
		{"OK", func(*command.PaymentInput) {}, nil},
		{"AllMissing", func(p *command.PaymentInput) { *p = command.PaymentInput{} }, []string{"customer_id", "amount", "currency", "third_party"}},
		{"AmountZero", func(p *command.PaymentInput) { p.Amount = ptr(int64(0)) }, []string{"amount"}},
		{"AmountNegative", func(p *command.PaymentInput) { p.Amount = ptr(int64(-1)) }, []string{"amount"}},
		{"AmountMax", func(p *command.PaymentInput) { p.Amount = ptr(domain.MaxAmount) }, nil},
		{"AmountOverMax", func(p *command.PaymentInput) { p.Amount = ptr(domain.MaxAmount + 1) }, []string{"amount"}},
		{"CurrencyLower", func(p *command.PaymentInput) { p.Currency = ptr("dkk") }, []string{"currency"}},
		{"ThirdParty64Runes", func(p *command.PaymentInput) { p.ThirdParty = ptr(strings.Repeat("æ", 64)) }, nil},
		{"ThirdParty65", func(p *command.PaymentInput) { p.ThirdParty = ptr(strings.Repeat("a", 65)) }, []string{"third_party"}},
		{"ThirdPartyBlank", func(p *command.PaymentInput) { p.ThirdParty = ptr("   ") }, []string{"third_party"}},
		{"ThirdPartyNewline", func(p *command.PaymentInput) { p.ThirdParty = ptr("ACME\nInjected: row") }, []string{"third_party"}},
		{"ThirdPartyTab", func(p *command.PaymentInput) { p.ThirdParty = ptr("ACME\tA/S") }, []string{"third_party"}},
		{"ThirdPartyC1", func(p *command.PaymentInput) { p.ThirdParty = ptr("ACME\u009b31m") }, []string{"third_party"}},
		{"DescriptionMultiline", func(p *command.PaymentInput) { p.Description = ptr("Invoice 4711\r\n\tline two") }, nil},
		{"DescriptionEscape", func(p *command.PaymentInput) { p.Description = ptr("a\x1bb") }, []string{"description"}},
		{"Description500", func(p *command.PaymentInput) { p.Description = ptr(strings.Repeat("d", 500)) }, nil},
		{"Description501", func(p *command.PaymentInput) { p.Description = ptr(strings.Repeat("d", 501)) }, []string{"description"}},
		{"RefBad", func(p *command.PaymentInput) { p.PaymentRefID = ptr("x") }, []string{"payment_ref_id"}},
		{"DateBad", func(p *command.PaymentInput) { p.Date = ptr("2024-13-01T00:00:00Z") }, []string{"date"}},
		{"DateOld", func(p *command.PaymentInput) { p.Date = ptr("1969-12-31T23:59:59Z") }, []string{"date"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := valid()
			tc.mut(&in)
			var v domain.Validation
			p := in.Validate(&v, "")
			if got := fieldNames(&domain.Error{Fields: v.Fields()}); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %v, want %v", got, tc.fields)
			}
			if tc.fields == nil && p.CustomerID != "123e4567-e89b-42d3-a456-426614174000" {
				t.Errorf("customer id not normalized: %q", p.CustomerID)
			}
		})
	}
	t.Run("DateNormalized", func(t *testing.T) {
		in := valid()
		in.Date = ptr("2024-01-01T01:00:00.1234567+01:00")
		var v domain.Validation
		p := in.Validate(&v, "payments[2].")
		if want := time.Date(2024, 1, 1, 0, 0, 0, 123456000, time.UTC); p.Date == nil || !p.Date.Equal(want) || p.Date.Location() != time.UTC {
			t.Errorf("date %v, want %v", p.Date, want)
		}
	})
}

type fixture struct {
	store  *commandtest.MemStore
	svc    *command.Service
	hasher *fakeHasher
	user   domain.User
	cust   domain.Customer
}

func newFixture(t *testing.T, limits command.Limits) *fixture {
	t.Helper()
	f := &fixture{store: commandtest.NewMemStore(), hasher: &fakeHasher{}}
	f.svc = command.New(f.store, f.hasher, fakeIssuer{}, command.Options{Limits: limits})
	var err error
	f.user, _, err = f.svc.SignUp(context.Background(), "192.0.2.1", command.SignUpInput{Email: ptr(" Pay@Example.com "), Password: ptr("correct horse battery"), Name: ptr("Payer")})
	if err != nil {
		t.Fatal(err)
	}
	f.cust, _, err = f.svc.CreateCustomer(context.Background(), f.user.ID, command.CustomerInput{Name: ptr("Shop")})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) payment(amount int64) command.PaymentInput {
	return command.PaymentInput{CustomerID: ptr(f.cust.ID), Amount: ptr(amount), Currency: ptr("DKK"), ThirdParty: ptr("ACME")}
}

func TestLogin(t *testing.T) {
	ctx := context.Background()
	perEmail, perAddr, perClient := newCountLimiter(2), newCountLimiter(3), newCountLimiter(5)
	known := knownSet{}
	f := newFixture(t, command.Limits{LoginPerEmail: perEmail, LoginPerAddr: perAddr, LoginPerClient: perClient, KnownClients: known})
	if f.user.Email != "Pay@Example.com" {
		t.Errorf("email not trimmed: %q", f.user.Email)
	}
	tok, err := f.svc.Login(ctx, "192.0.2.1", command.LoginInput{Email: ptr("pay@example.COM"), Password: ptr("correct horse battery")})
	if err != nil || tok.Token != "token-for-"+f.user.ID || tok.ExpiresIn != 15*time.Minute {
		t.Fatalf("Login = %+v, %v", tok, err)
	}
	if perEmail.used["pay@example.com"] != 0 || perAddr.used["192.0.2.1"] != 0 || perClient.used["pay@example.com 192.0.2.1"] != 0 {
		t.Errorf("a successful login counted against the limits: %v %v %v", perEmail.used, perAddr.used, perClient.used)
	}
	if !known["pay@example.com 192.0.2.1"] {
		t.Errorf("the successful client was not remembered: %v", known)
	}
	before := f.hasher.verifies
	_, errUnknown := f.svc.Login(ctx, "192.0.2.1", command.LoginInput{Email: ptr("nobody@example.com"), Password: ptr("whatever pw")})
	_, errWrong := f.svc.Login(ctx, "192.0.2.1", command.LoginInput{Email: ptr("pay@example.com"), Password: ptr("wrong password")})
	if f.hasher.verifies-before != 2 {
		t.Errorf("%d password comparisons for an unknown and a known email, want 2", f.hasher.verifies-before)
	}
	if errUnknown.Error() != errWrong.Error() {
		t.Errorf("answers differ: %v / %v", errUnknown, errWrong)
	}
	wantErr(t, errWrong, domain.EUNAUTHORIZED, command.ReasonInvalidCredentials)
	// Second failure for the email uses its last attempt; the third is refused.
	_, err = f.svc.Login(ctx, "192.0.2.9", command.LoginInput{Email: ptr("PAY@example.com"), Password: ptr("wrong again")})
	wantErr(t, err, domain.EUNAUTHORIZED, "")
	_, err = f.svc.Login(ctx, "192.0.2.9", command.LoginInput{Email: ptr("pay@example.com"), Password: ptr("correct horse battery")})
	if e := wantErr(t, err, domain.ERATELIMITED, command.ReasonRateLimited); e.RetryAfter != 2 {
		t.Errorf("RetryAfter %d, want 2", e.RetryAfter)
	}
	// The address that logged in before passes the exhausted email limit.
	if _, err := f.svc.Login(ctx, "192.0.2.1", command.LoginInput{Email: ptr("pay@example.com"), Password: ptr("correct horse battery")}); err != nil {
		t.Fatalf("known client: %v", err)
	}
	// Address 192.0.2.1 has used two of three attempts.
	_, _ = f.svc.Login(ctx, "192.0.2.1", command.LoginInput{Email: ptr("x@example.com"), Password: ptr("wrong")})
	_, err = f.svc.Login(ctx, "192.0.2.1", command.LoginInput{Email: ptr("y@example.com"), Password: ptr("wrong")})
	wantErr(t, err, domain.ERATELIMITED, command.ReasonRateLimited)

	_, err = f.svc.Login(ctx, "192.0.2.1", command.LoginInput{Email: ptr("x@example.com"), Password: ptr(strings.Repeat("p", 257))})
	wantErr(t, err, domain.EINVALID, "")
}

func TestSignUpValidation(t *testing.T) {
	f := newFixture(t, command.Limits{})
	_, _, err := f.svc.SignUp(context.Background(), "a", command.SignUpInput{Email: ptr("x"), Password: ptr("short"), Name: ptr("")})
	if e := wantErr(t, err, domain.EINVALID, ""); !slices.Equal(fieldNames(e), []string{"email", "password", "name"}) {
		t.Errorf("fields %v", fieldNames(e))
	}
	_, _, err = f.svc.SignUp(context.Background(), "a", command.SignUpInput{Email: ptr("n@example.com"), Password: ptr("long enough pw"), Name: ptr("Ann\nAdmin")})
	if e := wantErr(t, err, domain.EINVALID, ""); !slices.Equal(fieldNames(e), []string{"name"}) {
		t.Errorf("a name with a newline: fields %v, want [name]", fieldNames(e))
	}
	// A password from the bundled common list, in any case, is 422 naming
	// the field; nothing is created.
	for _, pw := range []string{"password1234", "Password1234", " QWERTY123456 "} {
		_, _, err = f.svc.SignUp(context.Background(), "a", command.SignUpInput{Email: ptr("c@example.com"), Password: ptr(pw), Name: ptr("C")})
		if e := wantErr(t, err, domain.EUNPROCESSABLE, command.ReasonPasswordTooCommon); !slices.Equal(fieldNames(e), []string{"password"}) {
			t.Errorf("common password %q: fields %v, want [password]", pw, fieldNames(e))
		}
	}
	_, _, err = f.svc.SignUp(context.Background(), "a", command.SignUpInput{Email: ptr("PAY@example.com"), Password: ptr("long enough pw"), Name: ptr("X")})
	wantErr(t, err, domain.ECONFLICT, command.ReasonEmailTaken)
}

func TestCreatePaymentIdempotency(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, command.Limits{})
	first, err := f.svc.CreatePayment(ctx, f.user.ID, "key", f.payment(100))
	if err != nil || first.Replayed || first.StatusCode != 201 || len(first.Payments) != 1 {
		t.Fatalf("first = %+v, %v", first, err)
	}
	again, err := f.svc.CreatePayment(ctx, f.user.ID, "key", f.payment(100))
	if err != nil || !again.Replayed || again.Payments[0].ID != first.Payments[0].ID || again.StatusCode != 201 {
		t.Fatalf("replay = %+v, %v", again, err)
	}
	_, err = f.svc.CreatePayment(ctx, f.user.ID, "key", f.payment(101))
	wantErr(t, err, domain.EUNPROCESSABLE, command.ReasonIdempotencyKeyReused)
	_, err = f.svc.CreatePayments(ctx, f.user.ID, "key", command.BatchInput{Items: []command.BatchItem{{Payment: f.payment(100)}}})
	wantErr(t, err, domain.EUNPROCESSABLE, command.ReasonIdempotencyKeyReused)
	if n := f.store.PaymentCount(); n != 1 {
		t.Fatalf("%d payments, want 1", n)
	}

	t.Run("ExpiredKeyStartsOver", func(t *testing.T) {
		f.store.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
		defer func() { f.store.Now = time.Now }()
		res, err := f.svc.CreatePayment(ctx, f.user.ID, "key", f.payment(100))
		if err != nil || res.Replayed || res.Payments[0].ID == first.Payments[0].ID {
			t.Fatalf("after expiry = %+v, %v", res, err)
		}
	})
	t.Run("DuplicateRefWithKeyOfTheSameRequestReplays", func(t *testing.T) {
		in := f.payment(7)
		in.PaymentRefID = ptr("0b6f3f58-1d52-4c39-9a0f-1c2f3a4b5c6d")
		a, err := f.svc.CreatePayment(ctx, f.user.ID, "ref-key", in)
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.svc.CreatePayment(ctx, f.user.ID, "ref-key", in)
		if err != nil || !b.Replayed || b.Payments[0].ID != a.Payments[0].ID {
			t.Fatalf("replay = %+v, %v", b, err)
		}
		_, err = f.svc.CreatePayment(ctx, f.user.ID, "other-key", in)
		if e := wantErr(t, err, domain.ECONFLICT, command.ReasonDuplicatePaymentRefID); !slices.Equal(fieldNames(e), []string{"payment_ref_id"}) {
			t.Errorf("fields %v", fieldNames(e))
		}
	})
	t.Run("LockTimeoutIsInProgress", func(t *testing.T) {
		svc := command.New(&failingStore{Store: f.store, err: command.ErrLockTimeout}, f.hasher, fakeIssuer{}, command.Options{})
		_, err := svc.CreatePayment(ctx, f.user.ID, "busy", f.payment(1))
		if e := wantErr(t, err, domain.ECONFLICT, command.ReasonIdempotencyInProgress); e.RetryAfter < 1 {
			t.Errorf("no Retry-After")
		}
	})
	t.Run("HolderRolledBackRetries", func(t *testing.T) {
		fs := &failingStore{Store: f.store, err: command.ErrIdempotencyKeyExists, times: 1}
		svc := command.New(fs, f.hasher, fakeIssuer{}, command.Options{})
		res, err := svc.CreatePayment(ctx, f.user.ID, "vanished", f.payment(1))
		if err != nil || res.Replayed || fs.calls != 2 {
			t.Fatalf("= %+v, %v after %d calls; want a fresh payment on the second call", res, err, fs.calls)
		}
	})
	t.Run("NotLinked", func(t *testing.T) {
		other, _, _ := f.svc.SignUp(ctx, "a", command.SignUpInput{Email: ptr("o@example.com"), Password: ptr("long enough pw"), Name: ptr("O")})
		_, err := f.svc.CreatePayment(ctx, other.ID, "", f.payment(1))
		wantErr(t, err, domain.ENOTFOUND, command.ReasonCustomerNotFound)
	})
	t.Run("BadKey", func(t *testing.T) {
		_, err := f.svc.CreatePayment(ctx, f.user.ID, strings.Repeat("k", 256), f.payment(1))
		wantErr(t, err, domain.EINVALID, "")
	})
}

// failingStore fails CreatePayments with err for the first times calls
// (every call when times is 0).
type failingStore struct {
	command.Store
	err   error
	times int
	calls int
}

func (s *failingStore) CreatePayments(ctx context.Context, w command.PaymentWrite) ([]domain.Payment, command.Commit, error) {
	s.calls++
	if s.times == 0 || s.calls <= s.times {
		return nil, command.Commit{}, s.err
	}
	return s.Store.CreatePayments(ctx, w)
}

func TestCreatePaymentsBatch(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, command.Limits{})
	item := func(amount int64) command.BatchItem { return command.BatchItem{Payment: f.payment(amount)} }
	bad := item(0)
	bad.Payment.Currency = ptr("eur")
	undecodable := command.BatchItem{DecodeErrors: []domain.FieldError{{Field: "amount", Message: "must be an integer"}}}
	notObject := command.BatchItem{DecodeErrors: []domain.FieldError{{Field: "", Message: "must be an object"}}}
	dupA, dupB := item(5), item(6)
	dupA.Payment.PaymentRefID = ptr("0b6f3f58-1d52-4c39-9a0f-1c2f3a4b5c6d")
	dupB.Payment.PaymentRefID = ptr("0B6F3F58-1D52-4C39-9A0F-1C2F3A4B5C6D")

	_, err := f.svc.CreatePayments(ctx, f.user.ID, "", command.BatchInput{Items: []command.BatchItem{item(1), bad, undecodable, notObject, dupA, dupB}})
	e := wantErr(t, err, domain.EUNPROCESSABLE, command.ReasonInvalidPayments)
	want := []string{"payments[1].amount", "payments[1].currency", "payments[2].amount", "payments[3]", "payments[5].payment_ref_id"}
	if !slices.Equal(fieldNames(e), want) {
		t.Errorf("fields %v, want %v", fieldNames(e), want)
	}
	if n := f.store.PaymentCount(); n != 0 {
		t.Errorf("%d payments written by an invalid batch", n)
	}
	_, err = f.svc.CreatePayments(ctx, f.user.ID, "", command.BatchInput{})
	wantErr(t, err, domain.EUNPROCESSABLE, command.ReasonInvalidPayments)
	_, err = f.svc.CreatePayments(ctx, f.user.ID, "", command.BatchInput{Items: make([]command.BatchItem, domain.MaxBatchSize+1)})
	if e := wantErr(t, err, domain.EUNPROCESSABLE, command.ReasonBatchTooLarge); !strings.Contains(e.Message, fmt.Sprint(domain.MaxBatchSize)) {
		t.Errorf("message %q does not name the limit", e.Message)
	}
	res, err := f.svc.CreatePayments(ctx, f.user.ID, "", command.BatchInput{Items: []command.BatchItem{item(1), item(2), item(3)}})
	if err != nil || len(res.Payments) != 3 || res.Payments[2].Amount != 3 {
		t.Fatalf("= %+v, %v", res, err)
	}
}

func TestCustomerUseCases(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, command.Limits{LinkPerUser: newCountLimiter(1)})
	for _, id := range []string{"nope", ""} {
		_, err := f.svc.Customer(ctx, f.user.ID, id)
		wantErr(t, err, domain.ENOTFOUND, command.ReasonCustomerNotFound)
		_, err = f.svc.Unlink(ctx, f.user.ID, id, f.user.ID)
		wantErr(t, err, domain.ENOTFOUND, command.ReasonCustomerNotFound)
	}
	_, err := f.svc.Unlink(ctx, f.user.ID, f.cust.ID, "nope")
	wantErr(t, err, domain.ENOTFOUND, command.ReasonUserNotFound)
	_, _, err = f.svc.UpdateCustomer(ctx, f.user.ID, f.cust.ID, command.CustomerPatchInput{})
	wantErr(t, err, domain.EINVALID, "")
	_, _, err = f.svc.UpdateCustomer(ctx, f.user.ID, f.cust.ID, command.CustomerPatchInput{Name: command.Optional[string]{Set: true, Null: true}})
	wantErr(t, err, domain.EINVALID, "")
	c, _, err := f.svc.UpdateCustomer(ctx, f.user.ID, strings.ToUpper(f.cust.ID), command.CustomerPatchInput{Email: command.Optional[string]{Set: true, Value: "s@example.com"}})
	if err != nil || c.Email == nil || *c.Email != "s@example.com" || c.Name != "Shop" {
		t.Fatalf("= %+v, %v", c, err)
	}
	_, err = f.svc.LinkByEmail(ctx, f.user.ID, f.cust.ID, command.LinkByEmailInput{Email: ptr("nobody@example.com")})
	wantErr(t, err, domain.ENOTFOUND, command.ReasonUserNotFound)
	_, err = f.svc.LinkByEmail(ctx, f.user.ID, f.cust.ID, command.LinkByEmailInput{Email: ptr("nobody@example.com")})
	wantErr(t, err, domain.ERATELIMITED, command.ReasonRateLimited)
}

func TestDeleteExpiredIdempotencyKeys(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, command.Limits{})
	for i := range 5 {
		if _, err := f.svc.CreatePayment(ctx, f.user.ID, fmt.Sprint("k", i), f.payment(1)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := f.svc.DeleteExpiredIdempotencyKeys(ctx, 2); err != nil || n != 0 {
		t.Fatalf("nothing expired: deleted %d, %v", n, err)
	}
	f.store.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	if n, err := f.svc.DeleteExpiredIdempotencyKeys(ctx, 2); err != nil || n != 5 {
		t.Fatalf("deleted %d, %v; want 5 in batches of 2", n, err)
	}
}
