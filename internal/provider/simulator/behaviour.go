package simulator

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Behaviour is how the simulator misbehaves by default (SIM_* variables).
type Behaviour struct {
	Latency       time.Duration // added to every charge and refund
	Jitter        time.Duration // plus a uniform extra in [0, Jitter)
	TransientRate float64       // 429/503: nothing moved
	UnknownRate   float64       // money moved, answer lost
	DeclineRate   float64       // charges only
	DeclineCodes  []string
	RetryAfter    time.Duration // sent with 429 (whole seconds, rounded up); 0 sends none
	HangMax       time.Duration // how long a hanging answer waits for the client to give up
	Seed          uint64        // with HasSeed, decisions are reproducible
	HasSeed       bool
}

// The fates of a request.
const (
	FateSuccess   = "success"
	FateDecline   = "decline"
	FateTransient = "transient"
	FateUnknown   = "unknown"
)

// How an unknown outcome loses its answer.
const (
	Lose502   = "502"
	Lose504   = "504"
	LoseClose = "close" // the connection is closed without a response
	LoseHang  = "hang"  // no answer until the client gives up
)

// Fate is what happens to one request.
type Fate struct {
	Kind   string // FateSuccess, FateDecline, FateTransient, FateUnknown
	Code   string // decline code
	Status int    // transient: 429 or 503
	Lose   string // unknown: Lose502, Lose504, LoseClose, LoseHang
}

// Decider draws fates: from a test header, else from a magic third party,
// else from the Behaviour's rates. It is safe for concurrent use.
type Decider struct {
	b        Behaviour
	mu       sync.Mutex
	rng      *rand.Rand
	attempts map[slot]int // attempts per key, for sim:transient:<n> and sim:unknown:<n>
}

// NewDecider returns a Decider for b.
func NewDecider(b Behaviour) *Decider {
	seed := b.Seed
	if !b.HasSeed {
		seed = rand.Uint64()
	}
	if len(b.DeclineCodes) == 0 {
		b.DeclineCodes = []string{"insufficient_funds"}
	}
	return &Decider{b: b, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), attempts: map[slot]int{}}
}

// Behaviour returns the configured behaviour.
func (d *Decider) Behaviour() Behaviour { return d.b }

// Latency returns the delay of one request: header (X-Sim-Latency) if not
// empty, else the configured latency plus jitter.
func (d *Decider) Latency(header string) (time.Duration, error) {
	if header != "" {
		l, err := time.ParseDuration(header)
		if err != nil || l < 0 {
			return 0, fmt.Errorf("X-Sim-Latency: %q is not a duration", header)
		}
		return l, nil
	}
	l := d.b.Latency
	if d.b.Jitter > 0 {
		d.mu.Lock()
		l += time.Duration(d.rng.Int64N(int64(d.b.Jitter)))
		d.mu.Unlock()
	}
	return l, nil
}

// Decide returns the fate of a request of kind under key. header is the
// X-Sim-Outcome header, thirdParty the charge's third party ("" for
// refunds). Random declines only hit charges.
func (d *Decider) Decide(kind Kind, key, header, thirdParty string) (Fate, error) {
	if header != "" {
		return d.parseHeader(header)
	}
	if rest, ok := strings.CutPrefix(thirdParty, "sim:"); ok {
		return d.magic(slot{kind, key}, rest)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.rng.Float64()
	switch {
	case u < d.b.TransientRate:
		return d.transient(0), nil
	case u < d.b.TransientRate+d.b.UnknownRate:
		return Fate{Kind: FateUnknown, Lose: []string{Lose502, Lose504, LoseClose, LoseHang}[d.rng.IntN(4)]}, nil
	case kind == KindCharge && u < d.b.TransientRate+d.b.UnknownRate+d.b.DeclineRate:
		return d.decline(""), nil
	}
	return Fate{Kind: FateSuccess}, nil
}

// parseHeader reads X-Sim-Outcome: success, decline[:code],
// transient[:429|503], unknown[:502|504|close|hang].
func (d *Decider) parseHeader(h string) (Fate, error) {
	name, arg, _ := strings.Cut(strings.TrimSpace(h), ":")
	d.mu.Lock()
	defer d.mu.Unlock()
	switch name {
	case FateSuccess:
		if arg == "" {
			return Fate{Kind: FateSuccess}, nil
		}
	case FateDecline:
		return d.decline(arg), nil
	case FateTransient:
		if f, ok := d.transientArg(arg); ok {
			return f, nil
		}
	case FateUnknown:
		if f, ok := d.unknownArg(arg, true); ok {
			return f, nil
		}
	}
	return Fate{}, fmt.Errorf("X-Sim-Outcome: %q is not success, decline[:code], transient[:429|503] or unknown[:502|504|close|hang]", h)
}

// magic reads a third party's part after "sim:": success, decline:<code>,
// transient:<n>[:429|503], unknown:<n>[:502|504|close|hang]. The last two
// fail the first n attempts under the key and succeed afterwards; an
// unknown outcome picks among 502, 504 and close unless told (a hang would
// make every end-to-end test wait for the processor's timeout).
func (d *Decider) magic(sl slot, rest string) (Fate, error) {
	parts := strings.Split(rest, ":")
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case parts[0] == FateSuccess && len(parts) == 1:
		return Fate{Kind: FateSuccess}, nil
	case parts[0] == FateDecline && len(parts) == 2 && parts[1] != "":
		return d.decline(parts[1]), nil
	case (parts[0] == FateTransient || parts[0] == FateUnknown) && (len(parts) == 2 || len(parts) == 3):
		n, err := strconv.Atoi(parts[1])
		if err != nil || n < 0 {
			break
		}
		arg := ""
		if len(parts) == 3 {
			arg = parts[2]
		}
		d.attempts[sl]++
		if d.attempts[sl] > n {
			return Fate{Kind: FateSuccess}, nil
		}
		if f, ok := d.transientArg(arg); ok && parts[0] == FateTransient {
			return f, nil
		}
		if f, ok := d.unknownArg(arg, false); ok && parts[0] == FateUnknown {
			return f, nil
		}
	}
	return Fate{}, fmt.Errorf("third_party %q: after sim: want success, decline:<code>, transient:<n>[:429|503] or unknown:<n>[:502|504|close|hang]", "sim:"+rest)
}

func (d *Decider) decline(code string) Fate {
	if code == "" {
		code = d.b.DeclineCodes[d.rng.IntN(len(d.b.DeclineCodes))]
	}
	return Fate{Kind: FateDecline, Code: code}
}

func (d *Decider) transient(status int) Fate {
	if status == 0 {
		status = []int{429, 503}[d.rng.IntN(2)]
	}
	return Fate{Kind: FateTransient, Status: status}
}

func (d *Decider) transientArg(arg string) (Fate, bool) {
	switch arg {
	case "":
		return d.transient(0), true
	case "429", "503":
		s, _ := strconv.Atoi(arg)
		return d.transient(s), true
	}
	return Fate{}, false
}

func (d *Decider) unknownArg(arg string, hang bool) (Fate, bool) {
	switch arg {
	case "":
		modes := []string{Lose502, Lose504, LoseClose}
		if hang {
			modes = append(modes, LoseHang)
		}
		return Fate{Kind: FateUnknown, Lose: modes[d.rng.IntN(len(modes))]}, true
	case Lose502, Lose504, LoseClose, LoseHang:
		return Fate{Kind: FateUnknown, Lose: arg}, true
	}
	return Fate{}, false
}
