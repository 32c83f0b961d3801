package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/processing"
	"github.com/wildcat-payments/wildcat/internal/provider/sim"
	"github.com/wildcat-payments/wildcat/internal/provider/simtest"
)

// These tests run the real binary (simtest) and talk to it through the
// real adapter (internal/provider/sim), the way the processor does.

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts the provider-sim binary")
	}
}

// withHeaders returns an adapter whose requests carry the simulator's test
// headers (X-Sim-Outcome, X-Sim-Latency).
func withHeaders(url string, timeout time.Duration, h map[string]string) *sim.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	return sim.New(url, timeout, sim.WithHTTPClient(&http.Client{Transport: headerTransport{t, h}}))
}

type headerTransport struct {
	base http.RoundTripper
	h    map[string]string
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.h {
		r.Header.Set(k, v)
	}
	return t.base.RoundTrip(r)
}

func charge(key string, amount int64, thirdParty string) processing.Charge {
	return processing.Charge{Key: key, PaymentID: key, Amount: amount, Currency: "DKK", ThirdParty: thirdParty, Reference: "ref-" + key}
}

func mustCharge(t *testing.T, c *sim.Client, ch processing.Charge) processing.Receipt {
	t.Helper()
	rec, err := c.Charge(context.Background(), ch)
	if err != nil {
		t.Fatalf("charge %s: %v", ch.Key, err)
	}
	return rec
}

func wantTransient(t *testing.T, err error, unknown bool) *processing.Transient {
	t.Helper()
	var tr *processing.Transient
	if !errors.As(err, &tr) || tr.Unknown != unknown {
		t.Fatalf("got %v (%T), want *processing.Transient with Unknown %v", err, err, unknown)
	}
	return tr
}

func wantDecline(t *testing.T, err error, code string) {
	t.Helper()
	if d, ok := processing.AsDecline(err); !ok || d.Code != code {
		t.Fatalf("got %v (%T), want decline %s", err, err, code)
	}
}

func wantCharges(t *testing.T, p *simtest.Process, key string, n int) {
	t.Helper()
	if got := p.Ledger(t).Charges()[key]; got != n {
		t.Errorf("ledger: got %d charges under %s, want %d", got, key, n)
	}
}

func TestSimulator(t *testing.T) {
	skipShort(t)
	p := simtest.Start(t, nil)
	c := sim.New(p.URL, 2*time.Second)
	ctx := context.Background()

	t.Run("SameKeyChargesOnce", func(t *testing.T) {
		first := mustCharge(t, c, charge("pay_same", 1234, "Acme"))
		again := mustCharge(t, c, charge("pay_same", 1234, "Acme"))
		if first.Reference == "" || again != first || first.Amount != 1234 || first.Currency != "DKK" {
			t.Errorf("got %+v then %+v, want one receipt of 1234 DKK twice", first, again)
		}
		wantCharges(t, p, "pay_same", 1)
	})
	t.Run("DeclineIsReturnedIdentically", func(t *testing.T) {
		_, err1 := c.Charge(ctx, charge("pay_decl", 500, "sim:decline:do_not_honor"))
		_, err2 := c.Charge(ctx, charge("pay_decl", 500, "Acme")) // the record wins over the new third party
		wantDecline(t, err1, "do_not_honor")
		wantDecline(t, err2, "do_not_honor")
		if err1.Error() != err2.Error() {
			t.Errorf("got %q then %q, want the same decline", err1, err2)
		}
		rec, found, err := c.Lookup(ctx, "pay_decl")
		if err != nil || !found || !rec.Declined || rec.DeclineCode != "do_not_honor" {
			t.Errorf("look-up: got %+v, %v, %v; want the recorded decline", rec, found, err)
		}
		wantCharges(t, p, "pay_decl", 0)
	})
	t.Run("UnknownOutcomeThenLookupFindsTheCharge", func(t *testing.T) {
		c := sim.New(p.URL, 300*time.Millisecond) // a hang is given up after 300ms
		for _, lose := range []string{"502", "504", "close", "hang"} {
			t.Run(lose, func(t *testing.T) {
				key := "pay_unknown_" + lose
				_, err := c.Charge(ctx, charge(key, 700, "sim:unknown:1:"+lose))
				wantTransient(t, err, true)
				rec, found, err := c.Lookup(ctx, key)
				if err != nil || !found || rec.Declined || rec.Amount != 700 || rec.Reference == "" {
					t.Fatalf("look-up: got %+v, %v, %v; want the charge", rec, found, err)
				}
				if again := mustCharge(t, c, charge(key, 700, "sim:unknown:1:"+lose)); again != rec {
					t.Errorf("retry: got %+v, want the charge the look-up found, %+v", again, rec)
				}
				wantCharges(t, p, key, 1)
			})
		}
	})
	t.Run("TransientFailuresMoveNothing", func(t *testing.T) {
		_, err := c.Charge(ctx, charge("pay_429", 100, "sim:transient:2:429"))
		if tr := wantTransient(t, err, false); tr.Code != "rate_limited" || tr.RetryAfter != time.Second {
			t.Errorf("got %+v, want rate_limited with Retry-After 1s", tr)
		}
		_, err = c.Charge(ctx, charge("pay_429", 100, "sim:transient:2:429"))
		wantTransient(t, err, false)
		wantCharges(t, p, "pay_429", 0)
		mustCharge(t, c, charge("pay_429", 100, "sim:transient:2:429"))
		wantCharges(t, p, "pay_429", 1)
	})
	t.Run("NegativeLookupBurnsTheKey", func(t *testing.T) { testBurn(t, p) })
	t.Run("RefundBeyondTheChargeIsRefused", func(t *testing.T) {
		mustCharge(t, c, charge("pay_refunded", 1000, ""))
		refund := func(key string, amount int64) error {
			_, err := c.Refund(ctx, processing.Refund{Key: key, ChargeKey: "pay_refunded", RefundID: key, Amount: amount, Currency: "DKK"})
			return err
		}
		if err := refund("ref_a", 600); err != nil {
			t.Fatal(err)
		}
		wantDecline(t, refund("ref_b", 500), "refund_exceeds_charge")
		wantDecline(t, refund("ref_b", 500), "refund_exceeds_charge")
		if err := refund("ref_c", 400); err != nil {
			t.Fatal(err)
		}
		wantDecline(t, refund("ref_d", 1), "refund_exceeds_charge")
		_, err := c.Refund(ctx, processing.Refund{Key: "ref_e", ChargeKey: "pay_never", Amount: 1, Currency: "DKK"})
		wantDecline(t, err, "charge_not_found")
		if got := p.Ledger(t).Refunds(); got["ref_a"] != 1 || got["ref_c"] != 1 || got["ref_b"]+got["ref_d"]+got["ref_e"] != 0 {
			t.Errorf("ledger refunds: got %v, want ref_a and ref_c once each", got)
		}
	})
	t.Run("ConcurrentSameKeyChargesOnce", func(t *testing.T) {
		c := withHeaders(p.URL, 2*time.Second, map[string]string{"X-Sim-Latency": "10ms"})
		recs := make([]processing.Receipt, 30)
		var wg sync.WaitGroup
		for i := range recs {
			wg.Go(func() {
				r, err := c.Charge(ctx, charge("pay_concurrent", 999, ""))
				if err != nil {
					t.Error(err)
				}
				recs[i] = r
			})
		}
		wg.Wait()
		for _, r := range recs {
			if r != recs[0] {
				t.Fatalf("got receipts %+v and %+v, want one", recs[0], r)
			}
		}
		wantCharges(t, p, "pay_concurrent", 1)
	})
	t.Run("ConcurrentRefundsNeverExceedTheCharge", func(t *testing.T) {
		mustCharge(t, c, charge("pay_many_refunds", 1000, ""))
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				key := fmt.Sprintf("ref_many_%d", i)
				_, _ = c.Refund(ctx, processing.Refund{Key: key, ChargeKey: "pay_many_refunds", Amount: 300, Currency: "DKK"})
			})
		}
		wg.Wait()
		var n int
		for _, m := range p.Ledger(t).Movements {
			if m.ChargeKey == "pay_many_refunds" {
				n++
			}
		}
		if n != 3 {
			t.Errorf("got %d refunds of 300 out of a charge of 1000, want 3", n)
		}
	})
}

// testBurn: a charge lost in flight (still in the simulator's latency when
// the look-up comes) cannot land after the look-up said "not found"; a
// re-drive reopens the key.
func testBurn(t *testing.T, p *simtest.Process) {
	const key = "pay_burn"
	ctx := context.Background()
	body, _ := json.Marshal(map[string]any{"idempotency_key": key, "amount": 300, "currency": "DKK"})
	late := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, p.URL+"/v1/charges", bytes.NewReader(body))
		req.Header.Set("X-Sim-Latency", "600ms")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		late <- res
	}()
	time.Sleep(150 * time.Millisecond) // the charge is in flight
	c := sim.New(p.URL, 2*time.Second)
	if rec, found, err := c.Lookup(ctx, key); err != nil || found {
		t.Fatalf("look-up: got %+v, %v, %v; want not found", rec, found, err)
	}
	res := <-late
	if res == nil {
		t.FailNow()
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusConflict || !strings.Contains(string(b), `"key_burnt"`) {
		t.Fatalf("the late charge: got %d %s, want 409 key_burnt", res.StatusCode, b)
	}
	_, err := c.Charge(ctx, charge(key, 300, ""))
	wantDecline(t, err, sim.CodeNotProcessed)
	wantCharges(t, p, key, 0)
	if _, found, _ := c.Lookup(ctx, key); found {
		t.Fatal("a second look-up found something, want nothing")
	}

	redrive := charge(key, 300, "")
	redrive.Drive = 1
	rec := mustCharge(t, c, redrive)
	if again := mustCharge(t, c, redrive); again != rec {
		t.Errorf("a second re-drive attempt: got %+v, want %+v", again, rec)
	}
	wantCharges(t, p, key, 1)
}

func TestPersistenceAcrossRestart(t *testing.T) {
	skipShort(t)
	p := simtest.Start(t, nil)
	c := sim.New(p.URL, 2*time.Second)
	ctx := context.Background()
	paid := mustCharge(t, c, charge("pay_kept", 1000, ""))
	if _, err := c.Refund(ctx, processing.Refund{Key: "ref_kept", ChargeKey: "pay_kept", Amount: 800, Currency: "DKK"}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Charge(ctx, charge("pay_declined", 50, "sim:decline:invalid_account"))
	wantDecline(t, err, "invalid_account")
	if _, found, err := c.Lookup(ctx, "pay_burnt"); err != nil || found {
		t.Fatalf("look-up: got %v, %v; want not found", found, err)
	}
	before := p.Ledger(t)

	p.Kill()
	p.Restart()
	if after := p.Ledger(t); !reflect.DeepEqual(after, before) {
		t.Fatalf("ledger after SIGKILL and restart:\n%+v\nwant\n%+v", after, before)
	}
	if again := mustCharge(t, c, charge("pay_kept", 1000, "")); again != paid {
		t.Errorf("charge after restart: got %+v, want %+v", again, paid)
	}
	_, err = c.Charge(ctx, charge("pay_declined", 50, ""))
	wantDecline(t, err, "invalid_account")
	_, err = c.Charge(ctx, charge("pay_burnt", 50, ""))
	wantDecline(t, err, sim.CodeNotProcessed)
	_, err = c.Refund(ctx, processing.Refund{Key: "ref_more", ChargeKey: "pay_kept", Amount: 201, Currency: "DKK"})
	wantDecline(t, err, "refund_exceeds_charge")
	wantCharges(t, p, "pay_kept", 1)

	p.Stop()
	if !strings.Contains(p.Output(), `"msg":"stopped"`) {
		t.Errorf("after SIGTERM the log does not say stopped:\n%s", p.Output())
	}
}

// TestRandomFaultsKeepTheLedgerExact drives keys through random faults the
// way the processor does — retry with the same key, look up when out of
// attempts — and checks the ledger holds one charge for each key settled
// as succeeded and none for any other.
func TestRandomFaultsKeepTheLedgerExact(t *testing.T) {
	skipShort(t)
	p := simtest.Start(t, map[string]string{
		"SIM_SEED": "42", "SIM_TRANSIENT_RATE": "0.3", "SIM_UNKNOWN_RATE": "0.2", "SIM_DECLINE_RATE": "0.15",
		"SIM_RETRY_AFTER": "0s", "SIM_LATENCY": "1ms", "SIM_LATENCY_JITTER": "2ms",
	})
	c := sim.New(p.URL, 250*time.Millisecond)
	const keys, attempts = 80, 4
	settled := make([]string, keys)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { settled[i] = drive(t, c, charge(fmt.Sprintf("pay_rand_%d", i), int64(100+i), ""), attempts) })
	}
	wg.Wait()
	charges := p.Ledger(t).Charges()
	counts := map[string]int{}
	for i, s := range settled {
		counts[s]++
		want := 0
		if s == "succeeded" {
			want = 1
		}
		if key := fmt.Sprintf("pay_rand_%d", i); charges[key] != want {
			t.Errorf("%s settled %s with %d charges in the ledger, want %d", key, s, charges[key], want)
		}
	}
	t.Logf("settled: %v", counts)
	if counts["succeeded"] == 0 || counts["declined"] == 0 {
		t.Errorf("got %v, want successes and declines (are the rates applied?)", counts)
	}
}

// drive settles one charge like the processor: attempts with the same key,
// then a look-up. It returns succeeded, declined or failed (nothing moved).
func drive(t *testing.T, c *sim.Client, ch processing.Charge, attempts int) string {
	ctx := context.Background()
	for range attempts {
		_, err := c.Charge(ctx, ch)
		if err == nil {
			return "succeeded"
		}
		if _, ok := processing.AsDecline(err); ok {
			return "declined"
		}
	}
	rec, found, err := c.Lookup(ctx, ch.Key)
	switch {
	case err != nil:
		t.Errorf("look-up %s: %v", ch.Key, err)
		return "unanswered"
	case found && rec.Declined:
		return "declined"
	case found:
		return "succeeded"
	}
	return "failed"
}
