package simulator

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Errors of the engine; the HTTP layer maps each to a status.
var (
	// ErrKeyBurnt: a look-up found nothing under the key, so nothing may
	// ever move under it (unless a re-drive reopens it).
	ErrKeyBurnt = errors.New("simulator: key burnt by a negative look-up")
	// ErrKeyMismatch: the key was used before with another amount,
	// currency or charge.
	ErrKeyMismatch = errors.New("simulator: idempotency key reused with different parameters")
)

// ChargeRequest is one charge.
type ChargeRequest struct {
	Key        string
	PaymentID  string
	Reference  string
	ThirdParty string
	Amount     int64
	Currency   string
	// Drive counts the re-drives of the payment by hand (0 for the first
	// drive). A burnt key is reopened only by a newer drive than the one it
	// was burnt in: a slow request of the drive whose look-up burnt the key
	// stays refused, so "nothing moved" remains true for that drive.
	Drive int
}

// RefundRequest is one refund of an earlier charge.
type RefundRequest struct {
	Key       string
	ChargeKey string
	RefundID  string
	Amount    int64
	Currency  string
}

// Result is the outcome recorded under a key.
type Result struct {
	Entry    Entry
	Replayed bool // the key had an outcome already; nothing new was recorded
}

// Simulator is the provider's state: the ledger, the idempotency records
// and the burnt keys. It is safe for concurrent use: every request holds
// the lock of its key (and a refund that of its charge) from reading the
// key's record to making its own outcome durable.
type Simulator struct {
	locks keyLocks
	mu    sync.Mutex // guards st and the file writes
	st    state
	file  *ledgerFile // nil: memory only
	now   func() time.Time
}

// Open returns a Simulator. With a non-empty path its ledger is the
// append-only file there, replayed now and extended (fsynced) before each
// answer that depends on it.
func Open(path string, opts ...Option) (*Simulator, error) {
	s := &Simulator{st: newState(), now: func() time.Time { return time.Now().UTC() }}
	if path != "" {
		f, err := openLedger(path, &s.st)
		if err != nil {
			return nil, err
		}
		s.file = f
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Option configures Open.
type Option func(*Simulator)

// WithoutFsync writes ledger lines without waiting for the disk: they
// survive the simulator's own crash (SIGKILL: the kernel has them), not the
// machine's. For benchmarks that measure the platform, not this disk's
// fsync latency (SIM_FSYNC=false).
func WithoutFsync() Option {
	return func(s *Simulator) {
		if s.file != nil {
			s.file.noSync = true
		}
	}
}

// Close closes the ledger file.
func (s *Simulator) Close() error {
	if s.file == nil {
		return nil
	}
	return s.file.close()
}

// Charge records the outcome of a charge whose key has none yet: a
// decline with declineCode if it is not empty, a movement otherwise. A key
// with an outcome returns it (Replayed). Errors: ErrKeyBurnt,
// ErrKeyMismatch, or a failure to persist (the outcome is then unknown).
func (s *Simulator) Charge(req ChargeRequest, declineCode string) (Result, error) {
	sl := slot{KindCharge, req.Key}
	defer s.locks.lock(sl)()
	if prev, burnt := s.recorded(sl); prev != nil {
		if prev.Amount != req.Amount || prev.Currency != req.Currency {
			return Result{}, ErrKeyMismatch
		}
		return Result{Entry: *prev, Replayed: true}, nil
	} else if burnt {
		if req.Drive <= s.drive(sl) {
			return Result{}, ErrKeyBurnt
		}
		if err := s.commit(event{Op: opReopen, Kind: KindCharge, Key: req.Key, Drive: req.Drive, At: s.now()}); err != nil {
			return Result{}, err
		}
	}
	e := &Entry{Kind: KindCharge, Key: req.Key, Amount: req.Amount, Currency: req.Currency, PaymentID: req.PaymentID,
		Reference: req.Reference, ThirdParty: req.ThirdParty, CreatedAt: s.now()}
	if declineCode != "" {
		e.Status, e.Code, e.Message = StatusDeclined, declineCode, declineMessage(declineCode)
	} else {
		e.Status, e.ID = StatusSucceeded, movementID(KindCharge, req.Key)
	}
	if err := s.commit(event{Op: opRecord, Entry: e, At: e.CreatedAt}); err != nil {
		return Result{}, err
	}
	return Result{Entry: *e}, nil
}

// Refund records the outcome of a refund whose key has none yet, as
// Charge. Besides declineCode it declines a refund of a charge that did not
// succeed (charge_not_found), in another currency (currency_mismatch) or
// beyond what is left of the charge (refund_exceeds_charge).
func (s *Simulator) Refund(req RefundRequest, declineCode string) (Result, error) {
	sl := slot{KindRefund, req.Key}
	defer s.locks.lock(sl)()
	// The charge's lock serialises the refunds of one charge, so their sum
	// is checked and extended atomically. Lock order: refund, then charge.
	defer s.locks.lock(slot{KindCharge, req.ChargeKey})()
	prev, burnt := s.recorded(sl)
	switch {
	case prev != nil && (prev.Amount != req.Amount || prev.Currency != req.Currency || prev.ChargeKey != req.ChargeKey):
		return Result{}, ErrKeyMismatch
	case prev != nil:
		return Result{Entry: *prev, Replayed: true}, nil
	case burnt:
		return Result{}, ErrKeyBurnt
	}
	e := &Entry{Kind: KindRefund, Key: req.Key, ChargeKey: req.ChargeKey, Amount: req.Amount, Currency: req.Currency,
		RefundID: req.RefundID, CreatedAt: s.now()}
	if declineCode == "" {
		declineCode = s.refundRefusal(req)
	}
	if declineCode != "" {
		e.Status, e.Code, e.Message = StatusDeclined, declineCode, declineMessage(declineCode)
	} else {
		e.Status, e.ID = StatusSucceeded, movementID(KindRefund, req.Key)
	}
	if err := s.commit(event{Op: opRecord, Entry: e, At: e.CreatedAt}); err != nil {
		return Result{}, err
	}
	return Result{Entry: *e}, nil
}

// refundRefusal returns why the refund cannot be made, or "". The caller
// holds the charge's lock.
func (s *Simulator) refundRefusal(req RefundRequest) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	charge := s.st.byKey[slot{KindCharge, req.ChargeKey}]
	switch {
	case charge == nil || !charge.Succeeded():
		return "charge_not_found"
	case charge.Currency != req.Currency:
		return "currency_mismatch"
	case s.st.refunded[req.ChargeKey]+req.Amount > charge.Amount:
		return "refund_exceeds_charge"
	}
	return ""
}

// Lookup returns what is recorded under key. When nothing is, it burns the
// key first — durably — so that a request still in flight under it (a
// delayed duplicate of a lost one) can never move money afterwards: "not
// found" stays true.
func (s *Simulator) Lookup(kind Kind, key string) (Entry, bool, error) {
	sl := slot{kind, key}
	defer s.locks.lock(sl)()
	prev, burnt := s.recorded(sl)
	if prev != nil {
		return *prev, true, nil
	}
	if !burnt {
		if err := s.commit(event{Op: opBurn, Kind: kind, Key: key, At: s.now()}); err != nil {
			return Entry{}, false, err
		}
	}
	return Entry{}, false, nil
}

// Ledger returns every recorded entry in order, and the burnt keys
// sorted.
func (s *Simulator) Ledger() (entries []Entry, burnt []BurntKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	entries = make([]Entry, len(s.st.entries))
	for i, e := range s.st.entries {
		entries[i] = *e
	}
	for sl := range s.st.burnt {
		burnt = append(burnt, BurntKey{Kind: sl.kind, Key: sl.key})
	}
	slices.SortFunc(burnt, func(a, b BurntKey) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key))
	})
	return entries, burnt
}

// BurntKey is a key closed by a negative look-up.
type BurntKey struct {
	Kind Kind   `json:"kind"`
	Key  string `json:"idempotency_key"`
}

// drive returns the drive the key was last reopened for (0: never).
func (s *Simulator) drive(sl slot) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.drives[sl]
}

func (s *Simulator) recorded(sl slot) (*Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.byKey[sl], s.st.burnt[sl]
}

// commit makes ev durable, then visible. The caller holds ev's key lock,
// so nobody reads that key in between. Concurrent commits share fsyncs:
// each Sync flushes every line written before it.
func (s *Simulator) commit(ev event) error {
	if s.file != nil {
		line, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("simulator: encode ledger line: %w", err)
		}
		s.mu.Lock()
		n, err := s.file.write(append(line, '\n'))
		s.mu.Unlock()
		if err != nil {
			return err
		}
		// A failed fsync leaves the line in the file (it may yet reach the
		// disk), so it is applied too; the caller answers with an error,
		// an unknown outcome, and a retry gets the recorded one.
		err = s.file.sync(n)
		defer s.apply(ev)
		return err
	}
	s.apply(ev)
	return nil
}

func (s *Simulator) apply(ev event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.apply(ev)
}

func declineMessage(code string) string {
	switch code {
	case "insufficient_funds":
		return "the account has insufficient funds"
	case "do_not_honor":
		return "the issuer declined the transaction"
	case "invalid_account":
		return "the account is invalid or closed"
	case "charge_not_found":
		return "no succeeded charge under charge_key"
	case "currency_mismatch":
		return "the refund's currency differs from the charge's"
	case "refund_exceeds_charge":
		return "the refunds would exceed the charge"
	}
	return "declined: " + code
}

// keyLocks is one mutex per key in use.
type keyLocks struct {
	mu sync.Mutex
	m  map[slot]*keyLock
}

type keyLock struct {
	sync.Mutex
	refs int
}

// lock locks sl's mutex and returns its unlock.
func (k *keyLocks) lock(sl slot) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[slot]*keyLock{}
	}
	l := k.m[sl]
	if l == nil {
		l = &keyLock{}
		k.m[sl] = l
	}
	l.refs++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.m, sl)
		}
		k.mu.Unlock()
	}
}
