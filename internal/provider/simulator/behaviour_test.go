package simulator

import (
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name, header, thirdParty string
		want                     []Fate // one per attempt under the same key
		wantErr                  bool
	}{
		{name: "NoRatesSucceed", want: []Fate{{Kind: FateSuccess}}},
		{name: "HeaderDecline", header: "decline:do_not_honor", want: []Fate{{Kind: FateDecline, Code: "do_not_honor"}}},
		{name: "HeaderDeclineDrawsACode", header: "decline", want: []Fate{{Kind: FateDecline, Code: "invalid_account"}}},
		{name: "HeaderTransient429", header: "transient:429", want: []Fate{{Kind: FateTransient, Status: 429}}},
		{name: "HeaderUnknownHang", header: "unknown:hang", want: []Fate{{Kind: FateUnknown, Lose: LoseHang}}},
		{name: "HeaderWins", header: "success", thirdParty: "sim:decline:x", want: []Fate{{Kind: FateSuccess}}},
		{name: "HeaderNonsense", header: "maybe", wantErr: true},
		{name: "MagicDecline", thirdParty: "sim:decline:insufficient_funds",
			want: []Fate{{Kind: FateDecline, Code: "insufficient_funds"}, {Kind: FateDecline, Code: "insufficient_funds"}}},
		{name: "MagicTransientFirstN", thirdParty: "sim:transient:2:503",
			want: []Fate{{Kind: FateTransient, Status: 503}, {Kind: FateTransient, Status: 503}, {Kind: FateSuccess}}},
		{name: "MagicUnknownFirstN", thirdParty: "sim:unknown:1:504",
			want: []Fate{{Kind: FateUnknown, Lose: Lose504}, {Kind: FateSuccess}, {Kind: FateSuccess}}},
		{name: "MagicNonsense", thirdParty: "sim:unknown:x", wantErr: true},
		{name: "OrdinaryThirdParty", thirdParty: "Acme simulations", want: []Fate{{Kind: FateSuccess}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecider(Behaviour{DeclineCodes: []string{"invalid_account"}, Seed: 1, HasSeed: true})
			if tc.wantErr {
				if _, err := d.Decide(KindCharge, "k", tc.header, tc.thirdParty); err == nil {
					t.Fatal("got no error, want one")
				}
				return
			}
			for i, want := range tc.want {
				got, err := d.Decide(KindCharge, "k", tc.header, tc.thirdParty)
				if err != nil || got != want {
					t.Fatalf("attempt %d: got %+v, %v; want %+v", i+1, got, err, want)
				}
			}
		})
	}
}

func TestDecideRates(t *testing.T) {
	d := NewDecider(Behaviour{TransientRate: 0.2, UnknownRate: 0.1, DeclineRate: 0.3, DeclineCodes: []string{"a", "b"}, Seed: 7, HasSeed: true})
	const n = 20000
	counts := map[string]int{}
	for range n {
		f, _ := d.Decide(KindCharge, "k", "", "")
		counts[f.Kind]++
	}
	for kind, want := range map[string]float64{FateTransient: 0.2, FateUnknown: 0.1, FateDecline: 0.3, FateSuccess: 0.4} {
		if got := float64(counts[kind]) / n; got < want-0.02 || got > want+0.02 {
			t.Errorf("%s: got a share of %.3f, want %.2f±0.02", kind, got, want)
		}
	}
	t.Run("RefundsAreNotDeclinedAtRandom", func(t *testing.T) {
		for range 1000 {
			if f, _ := d.Decide(KindRefund, "r", "", ""); f.Kind == FateDecline {
				t.Fatal("got a random refund decline")
			}
		}
	})
	t.Run("SameSeedSameFates", func(t *testing.T) {
		a := NewDecider(Behaviour{TransientRate: 0.5, Jitter: time.Second, Seed: 3, HasSeed: true})
		b := NewDecider(Behaviour{TransientRate: 0.5, Jitter: time.Second, Seed: 3, HasSeed: true})
		for i := range 100 {
			fa, _ := a.Decide(KindCharge, "k", "", "")
			fb, _ := b.Decide(KindCharge, "k", "", "")
			la, _ := a.Latency("")
			lb, _ := b.Latency("")
			if fa != fb || la != lb {
				t.Fatalf("draw %d: got %+v/%s and %+v/%s, want equal", i, fa, la, fb, lb)
			}
		}
	})
}
