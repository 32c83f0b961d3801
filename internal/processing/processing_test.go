package processing_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/processing"
)

// fakeStore records the settlement calls of one payment.
type fakeStore struct {
	mu      sync.Mutex
	work    processing.Work
	settled string // succeeded, failed
	code    string
	message string
	events  []string
}

func (f *fakeStore) StartPayment(context.Context, string) (processing.Work, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.work.Attempt++
	w := f.work
	w.Done = f.settled != ""
	return w, nil
}

func (f *fakeStore) settle(kind, code string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.settled == "" {
		f.settled, f.code = kind, code
	}
	f.events = append(f.events, kind)
	return nil
}

func (f *fakeStore) PaymentSucceeded(_ context.Context, _ string, o processing.Outcome) error {
	return f.settle("succeeded", "")
}
func (f *fakeStore) PaymentFailed(_ context.Context, _ string, o processing.Outcome) error {
	f.mu.Lock()
	f.message = o.Message
	f.mu.Unlock()
	return f.settle("failed", o.Code)
}
func (f *fakeStore) PaymentAttemptFailed(_ context.Context, _ string, o processing.Outcome) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, "attempt_failed:"+o.Code)
	return nil
}
func (f *fakeStore) StartRefund(context.Context, string) (processing.Work, error) {
	return processing.Work{}, errors.New("unused")
}
func (f *fakeStore) RefundSucceeded(context.Context, string, processing.Outcome) error { return nil }
func (f *fakeStore) RefundFailed(context.Context, string, processing.Outcome) error    { return nil }
func (f *fakeStore) RefundAttemptFailed(context.Context, string, processing.Outcome) error {
	return nil
}

// scriptedProvider answers charges from a script (one entry per call; the
// last repeats) and look-ups from lookup.
type scriptedProvider struct {
	charges []error
	calls   int
	lookup  func() (processing.Receipt, bool, error)
}

func (p *scriptedProvider) Charge(context.Context, processing.Charge) (processing.Receipt, error) {
	err := p.charges[min(p.calls, len(p.charges)-1)]
	p.calls++
	return processing.Receipt{Reference: "ch"}, err
}
func (p *scriptedProvider) Refund(context.Context, processing.Refund) (processing.Receipt, error) {
	return processing.Receipt{}, nil
}
func (p *scriptedProvider) Lookup(context.Context, string) (processing.Receipt, bool, error) {
	if p.lookup == nil {
		return processing.Receipt{}, false, errors.New("unexpected look-up")
	}
	return p.lookup()
}

var (
	declined  = &processing.Decline{Code: "insufficient_funds", Message: "no"}
	transient = &processing.Transient{Code: "http_503"}
	unknown   = &processing.Transient{Code: "timeout", Unknown: true}
)

// TestExecutePayment drives one payment through scripted provider answers
// until it settles, and checks the outcome and the attempts it took.
func TestExecutePayment(t *testing.T) {
	found := func() (processing.Receipt, bool, error) { return processing.Receipt{Reference: "ch"}, true, nil }
	notFound := func() (processing.Receipt, bool, error) { return processing.Receipt{}, false, nil }
	foundDeclined := func() (processing.Receipt, bool, error) {
		return processing.Receipt{Declined: true, DeclineCode: "do_not_honor"}, true, nil
	}
	for _, tc := range []struct {
		name     string
		charges  []error
		lookup   func() (processing.Receipt, bool, error)
		settled  string
		code     string
		attempts int
	}{
		{"SucceedsAtOnce", []error{nil}, nil, "succeeded", "", 1},
		{"DeclineFailsAtOnce", []error{declined}, nil, "failed", "insufficient_funds", 1},
		{"TransientThenSuccess", []error{transient, transient, nil}, nil, "succeeded", "", 3},
		{"UnknownThenDecline", []error{unknown, declined}, nil, "failed", "insufficient_funds", 2},
		{"ExhaustedButCharged", []error{unknown}, found, "succeeded", "", 3},
		{"ExhaustedNothingMoved", []error{transient}, notFound, "failed", "retries_exhausted", 3},
		{"ExhaustedFoundDecline", []error{unknown}, foundDeclined, "failed", "do_not_honor", 3},
		{"UnclassifiedErrorIsUnknown", []error{errors.New("boom")}, found, "succeeded", "", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &fakeStore{work: processing.Work{ID: "p", PaymentID: "p", CreatedAt: time.Now()}}
			prov := &scriptedProvider{charges: tc.charges, lookup: tc.lookup}
			policy := processing.RetryPolicy{Strategy: processing.StrategyImmediate, MaxAttempts: 3, Cap: time.Second}
			svc, err := processing.New(store, prov, policy, processing.Hooks{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			for range 10 {
				err = svc.ExecutePayment(context.Background(), "p")
				var later *processing.RetryLater
				if !errors.As(err, &later) {
					break
				}
			}
			if err != nil {
				t.Fatalf("final run: %v", err)
			}
			if store.settled != tc.settled || store.code != tc.code || prov.calls != tc.attempts {
				t.Errorf("settled %s (%s) after %d charges, want %s (%s) after %d; events %v",
					store.settled, store.code, prov.calls, tc.settled, tc.code, tc.attempts, store.events)
			}
		})
	}
	t.Run("LookupFailureNeverFails", func(t *testing.T) {
		store := &fakeStore{work: processing.Work{ID: "p", PaymentID: "p", CreatedAt: time.Now()}}
		prov := &scriptedProvider{charges: []error{unknown},
			lookup: func() (processing.Receipt, bool, error) {
				return processing.Receipt{}, false, errors.New("provider down")
			}}
		policy := processing.RetryPolicy{Strategy: processing.StrategyImmediate, MaxAttempts: 2, Cap: time.Minute}
		svc, _ := processing.New(store, prov, policy, processing.Hooks{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		for range 5 {
			err := svc.ExecutePayment(context.Background(), "p")
			var later *processing.RetryLater
			if !errors.As(err, &later) {
				t.Fatalf("got %v, want a retry while the look-up cannot answer", err)
			}
		}
		if store.settled != "" || prov.calls != 2 {
			t.Errorf("settled %q after %d charges; want unsettled after 2 (no charge beyond the attempts)", store.settled, prov.calls)
		}
	})
	t.Run("ExhaustedBeforeStartKeepsTheLastError", func(t *testing.T) {
		store := &fakeStore{work: processing.Work{ID: "p", PaymentID: "p", CreatedAt: time.Now(), Attempt: 3, LastError: "transient http_503"}}
		prov := &scriptedProvider{charges: []error{nil}, lookup: notFound}
		policy := processing.RetryPolicy{Strategy: processing.StrategyImmediate, MaxAttempts: 3, Cap: time.Second}
		svc, _ := processing.New(store, prov, policy, processing.Hooks{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := svc.ExecutePayment(context.Background(), "p"); err != nil {
			t.Fatal(err)
		}
		if store.code != "retries_exhausted" || prov.calls != 0 || store.message != "4 attempts; last error: transient http_503" {
			t.Errorf("code %q, message %q after %d charges", store.code, store.message, prov.calls)
		}
	})
	t.Run("MaxAgeEndsRetries", func(t *testing.T) {
		store := &fakeStore{work: processing.Work{ID: "p", PaymentID: "p", CreatedAt: time.Now().Add(-2 * time.Hour)}}
		prov := &scriptedProvider{charges: []error{transient}, lookup: notFound}
		policy := processing.RetryPolicy{Strategy: processing.StrategyImmediate, MaxAttempts: 100, MaxAge: time.Hour}
		svc, _ := processing.New(store, prov, policy, processing.Hooks{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := svc.ExecutePayment(context.Background(), "p"); err != nil {
			t.Fatal(err)
		}
		if store.code != "retries_exhausted" || prov.calls != 0 {
			t.Errorf("code %q after %d charges; want retries_exhausted without charging", store.code, prov.calls)
		}
	})
	t.Run("SettledPaymentIsNotCharged", func(t *testing.T) {
		store := &fakeStore{settled: "canceled"}
		prov := &scriptedProvider{charges: []error{nil}}
		svc, _ := processing.New(store, prov, processing.DefaultRetryPolicy(), processing.Hooks{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := svc.ExecutePayment(context.Background(), "p"); err != nil || prov.calls != 0 {
			t.Errorf("got %v after %d charges, want nil after 0", err, prov.calls)
		}
	})
	t.Run("RetryAfterIsHonoured", func(t *testing.T) {
		store := &fakeStore{work: processing.Work{ID: "p", PaymentID: "p", CreatedAt: time.Now()}}
		prov := &scriptedProvider{charges: []error{&processing.Transient{Code: "rate_limited", RetryAfter: 7 * time.Second}}}
		svc, _ := processing.New(store, prov, processing.RetryPolicy{Strategy: processing.StrategyImmediate, MaxAttempts: 5, Cap: time.Minute},
			processing.Hooks{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		var later *processing.RetryLater
		if err := svc.ExecutePayment(context.Background(), "p"); !errors.As(err, &later) || later.Delay != 7*time.Second {
			t.Errorf("got %v, want a retry after 7s", err)
		}
	})
}
