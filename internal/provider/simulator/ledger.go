package simulator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The operations of a ledger file line.
const (
	opRecord = "record" // an Entry: a movement or a decline
	opBurn   = "burn"   // a look-up found nothing: the key is closed
	opReopen = "reopen" // a re-drive reopened a burnt key
)

// event is one line of the ledger file: everything that changes what the
// simulator answers, so that replaying the file rebuilds it exactly.
type event struct {
	Op    string    `json:"op"`
	Entry *Entry    `json:"entry,omitempty"`
	Kind  Kind      `json:"kind,omitempty"`
	Key   string    `json:"key,omitempty"`
	Drive int       `json:"drive,omitempty"` // reopen: the drive the key is reopened for
	At    time.Time `json:"at"`
}

// state is what the events add up to.
type state struct {
	entries  []*Entry // in the order they were recorded
	byKey    map[slot]*Entry
	burnt    map[slot]bool
	drives   map[slot]int     // the drive a reopened key is open for; a burn closes it for that drive and every older one
	refunded map[string]int64 // charge key → sum of its succeeded refunds
}

func newState() state {
	return state{byKey: map[slot]*Entry{}, burnt: map[slot]bool{}, drives: map[slot]int{}, refunded: map[string]int64{}}
}

func (st *state) apply(ev event) {
	switch ev.Op {
	case opRecord:
		e := ev.Entry
		st.entries = append(st.entries, e)
		st.byKey[slot{e.Kind, e.Key}] = e
		if e.Kind == KindRefund && e.Succeeded() {
			st.refunded[e.ChargeKey] += e.Amount
		}
	case opBurn:
		st.burnt[slot{ev.Kind, ev.Key}] = true
	case opReopen:
		delete(st.burnt, slot{ev.Kind, ev.Key})
		st.drives[slot{ev.Kind, ev.Key}] = ev.Drive
	}
}

// ledgerFile is the append-only JSON-lines file behind the state. A line
// is written and fsynced before the request it records is answered.
type ledgerFile struct {
	f *os.File

	// Group fsync: written counts lines written (under the simulator's
	// mutex); a syncer fsyncs once for every line written before it
	// started, and callers whose line that covered return without an
	// fsync of their own. Without it, concurrent requests queued one fsync
	// each on the file and capped the simulator near 1/fsync-time.
	mu      sync.Mutex
	cond    *sync.Cond
	written uint64
	synced  uint64
	syncing bool
	noSync  bool // WithoutFsync
}

// openLedger opens (creating) the file at path and replays it into st. A
// torn last line — a write cut by a crash, never acknowledged — is cut
// off; a malformed line anywhere else is an error.
func openLedger(path string, st *state) (*ledgerFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("simulator: open ledger: %w", err)
	}
	good, err := replay(f, st)
	if err == nil {
		err = truncateTo(f, good)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path)) // the file's creation survives a crash too
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("simulator: ledger %s: %w", path, err)
	}
	l := &ledgerFile{f: f}
	l.cond = sync.NewCond(&l.mu)
	return l, nil
}

// replay applies every complete line of r to st and returns the offset
// just past the last good line.
func replay(r io.Reader, st *state) (int64, error) {
	br := bufio.NewReader(r)
	var good int64
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return good, nil // a last line without its newline is torn
		}
		if err != nil {
			return good, err
		}
		var ev event
		if uerr := json.Unmarshal(line, &ev); uerr != nil || !ev.valid() {
			if _, perr := br.Peek(1); errors.Is(perr, io.EOF) {
				return good, nil // torn last line
			}
			return good, fmt.Errorf("line %d is malformed: %q", n, bytes.TrimSpace(line))
		}
		st.apply(ev)
		good += int64(len(line))
	}
}

func (ev event) valid() bool {
	switch ev.Op {
	case opRecord:
		return ev.Entry != nil && ev.Entry.Key != "" && (ev.Entry.Kind == KindCharge || ev.Entry.Kind == KindRefund)
	case opBurn, opReopen:
		return ev.Key != "" && (ev.Kind == KindCharge || ev.Kind == KindRefund)
	}
	return false
}

func truncateTo(f *os.File, size int64) error {
	fi, err := f.Stat()
	if err != nil || fi.Size() == size {
		return err
	}
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// write appends one line and returns its number, for sync. Callers
// serialise writes; sync is separate so that concurrent requests share
// fsyncs.
func (l *ledgerFile) write(line []byte) (uint64, error) {
	if _, err := l.f.Write(line); err != nil {
		return 0, fmt.Errorf("simulator: write ledger: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.written++
	return l.written, nil
}

// sync returns once line n is on disk: after an fsync that started after
// it was written, its own or another caller's.
func (l *ledgerFile) sync(n uint64) error {
	if l.noSync {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.synced < n {
		if l.syncing {
			l.cond.Wait()
			continue
		}
		l.syncing = true
		upTo := l.written
		l.mu.Unlock()
		err := l.f.Sync()
		l.mu.Lock()
		l.syncing = false
		l.cond.Broadcast()
		if err != nil {
			return fmt.Errorf("simulator: fsync ledger: %w", err)
		}
		l.synced = max(l.synced, upTo)
	}
	return nil
}

func (l *ledgerFile) close() error { return l.f.Close() }
