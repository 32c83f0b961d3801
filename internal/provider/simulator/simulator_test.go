package simulator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func mustOpen(t *testing.T, path string) *Simulator {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestChargeIdempotency(t *testing.T) {
	s := mustOpen(t, "")
	t.Run("SameKeyReturnsTheFirstCharge", func(t *testing.T) {
		first, err := s.Charge(ChargeRequest{Key: "k1", Amount: 100, Currency: "DKK"}, "")
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.Charge(ChargeRequest{Key: "k1", Amount: 100, Currency: "DKK"}, "do_not_honor")
		if err != nil {
			t.Fatal(err)
		}
		if !again.Replayed || again.Entry.ID != first.Entry.ID || !again.Entry.Succeeded() {
			t.Errorf("got %+v, want the first charge %s replayed", again, first.Entry.ID)
		}
	})
	t.Run("SameKeyReturnsTheFirstDecline", func(t *testing.T) {
		if _, err := s.Charge(ChargeRequest{Key: "k2", Amount: 100, Currency: "DKK"}, "invalid_account"); err != nil {
			t.Fatal(err)
		}
		again, err := s.Charge(ChargeRequest{Key: "k2", Amount: 100, Currency: "DKK"}, "")
		if err != nil || !again.Replayed || again.Entry.Code != "invalid_account" {
			t.Errorf("got %+v, %v; want the invalid_account decline replayed", again, err)
		}
	})
	t.Run("OtherParametersAreRefused", func(t *testing.T) {
		if _, err := s.Charge(ChargeRequest{Key: "k1", Amount: 101, Currency: "DKK"}, ""); !errors.Is(err, ErrKeyMismatch) {
			t.Errorf("got %v, want ErrKeyMismatch", err)
		}
	})
	t.Run("ConcurrentSameKeyChargesOnce", func(t *testing.T) {
		var wg sync.WaitGroup
		ids := make([]string, 50)
		for i := range ids {
			wg.Go(func() {
				r, err := s.Charge(ChargeRequest{Key: "k3", Amount: 100, Currency: "DKK"}, "")
				if err != nil {
					t.Error(err)
				}
				ids[i] = r.Entry.ID
			})
		}
		wg.Wait()
		if got := countMovements(s, KindCharge, "k3"); got != 1 {
			t.Errorf("got %d charges, want 1", got)
		}
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("got ids %s and %s, want one", ids[0], id)
			}
		}
	})
}

func countMovements(s *Simulator, kind Kind, key string) int {
	entries, _ := s.Ledger()
	n := 0
	for _, e := range entries {
		if e.Kind == kind && e.Key == key && e.Succeeded() {
			n++
		}
	}
	return n
}

func TestLookupBurnsTheKey(t *testing.T) {
	s := mustOpen(t, "")
	if _, found, err := s.Lookup(KindCharge, "k"); err != nil || found {
		t.Fatalf("got found=%v, %v; want not found", found, err)
	}
	if _, err := s.Charge(ChargeRequest{Key: "k", Amount: 1, Currency: "DKK"}, ""); !errors.Is(err, ErrKeyBurnt) {
		t.Fatalf("charge after a negative look-up: got %v, want ErrKeyBurnt", err)
	}
	// A refund key of the same name is another key.
	if _, found, _ := s.Lookup(KindRefund, "k"); found {
		t.Fatal("got a refund under k, want none")
	}
	r, err := s.Charge(ChargeRequest{Key: "k", Amount: 1, Currency: "DKK", Drive: 1}, "")
	if err != nil || !r.Entry.Succeeded() {
		t.Fatalf("re-drive: got %+v, %v; want a charge", r, err)
	}
	if e, found, err := s.Lookup(KindCharge, "k"); err != nil || !found || e.ID != r.Entry.ID {
		t.Fatalf("look-up after the re-drive: got %+v, %v, %v; want the charge", e, found, err)
	}
}

// TestBurntKeyStaysClosedForItsDrive: a key burnt during re-drive 1 is not
// reopened by a late request of drive 1 (or 0), only by drive 2, and that
// survives a restart.
func TestBurntKeyStaysClosedForItsDrive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.jsonl")
	s := mustOpen(t, path)
	if _, found, err := s.Lookup(KindCharge, "k"); err != nil || found {
		t.Fatalf("first look-up: %v, %v", found, err)
	}
	// Re-drive 1 reopens; its attempts fail transiently (nothing recorded)
	// and its own look-up burns the key again.
	if err := s.commit(event{Op: opReopen, Kind: KindCharge, Key: "k", Drive: 1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Lookup(KindCharge, "k"); err != nil {
		t.Fatal(err)
	}
	for _, drive := range []int{0, 1} {
		if _, err := s.Charge(ChargeRequest{Key: "k", Amount: 1, Currency: "DKK", Drive: drive}, ""); !errors.Is(err, ErrKeyBurnt) {
			t.Fatalf("late request of drive %d: got %v, want ErrKeyBurnt", drive, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path)
	if _, err := s.Charge(ChargeRequest{Key: "k", Amount: 1, Currency: "DKK", Drive: 1}, ""); !errors.Is(err, ErrKeyBurnt) {
		t.Fatalf("after a restart, drive 1: got %v, want ErrKeyBurnt", err)
	}
	if r, err := s.Charge(ChargeRequest{Key: "k", Amount: 1, Currency: "DKK", Drive: 2}, ""); err != nil || !r.Entry.Succeeded() {
		t.Fatalf("drive 2: got %+v, %v; want a charge", r, err)
	}
}

func TestRefundRules(t *testing.T) {
	s := mustOpen(t, "")
	if _, err := s.Charge(ChargeRequest{Key: "c", Amount: 1000, Currency: "DKK"}, ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key, chargeKey, currency string
		amount                         int64
		want                           string // "" for a refund, else the decline code
	}{
		{"PartOfTheCharge", "r1", "c", "DKK", 600, ""},
		{"BeyondWhatIsLeft", "r2", "c", "DKK", 401, "refund_exceeds_charge"},
		{"TheRest", "r3", "c", "DKK", 400, ""},
		{"NothingLeft", "r4", "c", "DKK", 1, "refund_exceeds_charge"},
		{"OtherCurrency", "r5", "c", "SEK", 1, "currency_mismatch"},
		{"NoSuchCharge", "r6", "nope", "DKK", 1, "charge_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.Refund(RefundRequest{Key: tc.key, ChargeKey: tc.chargeKey, Amount: tc.amount, Currency: tc.currency}, "")
			if err != nil {
				t.Fatal(err)
			}
			if r.Entry.Code != tc.want || r.Entry.Succeeded() != (tc.want == "") {
				t.Errorf("got %s %q, want code %q", r.Entry.Status, r.Entry.Code, tc.want)
			}
		})
	}
	t.Run("ConcurrentRefundsNeverExceedTheCharge", func(t *testing.T) {
		if _, err := s.Charge(ChargeRequest{Key: "c2", Amount: 1000, Currency: "DKK"}, ""); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				_, _ = s.Refund(RefundRequest{Key: fmt.Sprintf("c2r%d", i), ChargeKey: "c2", Amount: 300, Currency: "DKK"}, "")
			})
		}
		wg.Wait()
		entries, _ := s.Ledger()
		var sum int64
		for _, e := range entries {
			if e.Kind == KindRefund && e.ChargeKey == "c2" && e.Succeeded() {
				sum += e.Amount
			}
		}
		if sum != 900 {
			t.Errorf("refunded %d of 1000 in 300s, want 900", sum)
		}
	})
}

func TestLedgerFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.jsonl")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.Charge(ChargeRequest{Key: "c", Amount: 1000, Currency: "DKK"}, "")
	_, _ = s.Charge(ChargeRequest{Key: "d", Amount: 5, Currency: "DKK"}, "do_not_honor")
	_, _ = s.Refund(RefundRequest{Key: "r", ChargeKey: "c", Amount: 700, Currency: "DKK"}, "")
	_, _, _ = s.Lookup(KindCharge, "b")
	s.Close()

	t.Run("ReplayRebuildsEverything", func(t *testing.T) {
		s := mustOpen(t, path)
		if r, _ := s.Charge(ChargeRequest{Key: "c", Amount: 1000, Currency: "DKK"}, ""); !r.Replayed || r.Entry.ID != c.Entry.ID {
			t.Errorf("charge c: got %+v, want %s replayed", r, c.Entry.ID)
		}
		if r, _ := s.Charge(ChargeRequest{Key: "d", Amount: 5, Currency: "DKK"}, ""); r.Entry.Code != "do_not_honor" {
			t.Errorf("charge d: got %+v, want the decline", r)
		}
		if _, err := s.Charge(ChargeRequest{Key: "b", Amount: 5, Currency: "DKK"}, ""); !errors.Is(err, ErrKeyBurnt) {
			t.Errorf("charge b: got %v, want ErrKeyBurnt", err)
		}
		if r, _ := s.Refund(RefundRequest{Key: "r2", ChargeKey: "c", Amount: 301, Currency: "DKK"}, ""); r.Entry.Code != "refund_exceeds_charge" {
			t.Errorf("refund r2: got %+v, want refund_exceeds_charge (700 of 1000 refunded before)", r)
		}
	})
	t.Run("TornLastLineIsCut", func(t *testing.T) {
		torn := filepath.Join(t.TempDir(), "torn.jsonl")
		data, _ := os.ReadFile(path)
		if err := os.WriteFile(torn, append(data, `{"op":"record","entry":{"kind":"cha`...), 0o600); err != nil {
			t.Fatal(err)
		}
		s := mustOpen(t, torn)
		if entries, _ := s.Ledger(); len(entries) != 4 {
			t.Errorf("got %d entries, want 4", len(entries))
		}
		if got, _ := os.ReadFile(torn); string(got) != string(data) {
			t.Errorf("got a file of %d bytes, want the %d bytes of the good lines", len(got), len(data))
		}
	})
	t.Run("MalformedLineInsideIsAnError", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.jsonl")
		data, _ := os.ReadFile(path)
		if err := os.WriteFile(bad, append([]byte("garbage\n"), data...), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(bad); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("got %v, want an error naming line 1", err)
		}
	})
}
