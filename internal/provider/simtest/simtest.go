// Package simtest runs the real cmd/provider-sim as a child process for
// tests: built once per test binary, started on a free loopback port with
// its own ledger file, restartable after SIGKILL, stopped with SIGTERM when
// the test ends. Tests read its ledger to check what money moved.
package simtest

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"sort"
	"testing"

	"github.com/wildcat-payments/wildcat/internal/provider/simulator"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

// Process is a running simulator. Call its methods from the test's own
// goroutine: they fail the test through tb.
type Process struct {
	URL        string // http://127.0.0.1:<port>
	LedgerFile string
	proc       *testenv.Process
}

// Start builds (once) and starts cmd/provider-sim with env on top of the
// defaults SIM_ADDR (a free loopback port), SIM_LEDGER_FILE (in a temporary
// directory) and SIM_LATENCY=0s, and waits until /readyz answers. The
// simulator is stopped with SIGTERM when the test ends.
func Start(tb testing.TB, env map[string]string) *Process {
	tb.Helper()
	vars := map[string]string{
		"SIM_ADDR":        testenv.FreeAddr(tb),
		"SIM_LEDGER_FILE": filepath.Join(tb.TempDir(), "ledger.jsonl"),
		"SIM_LATENCY":     "0s",
	}
	for k, v := range env {
		vars[k] = v
	}
	list := make([]string, 0, len(vars))
	for k, v := range vars {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	url := "http://" + vars["SIM_ADDR"]
	p := &Process{URL: url, LedgerFile: vars["SIM_LEDGER_FILE"],
		proc: testenv.MustStart(tb, testenv.MustBuild(tb, "./cmd/provider-sim"), list, url+"/readyz")}
	tb.Cleanup(p.Stop)
	return p
}

// Kill sends SIGKILL and waits until the process is gone.
func (p *Process) Kill() { p.proc.Kill() }

// Stop sends SIGTERM and waits until the process has exited.
func (p *Process) Stop() { p.proc.Stop() }

// Restart starts the simulator again (after Kill or Stop) on the same
// address with the same ledger file, and waits until it is ready.
func (p *Process) Restart() { p.proc.Restart() }

// Runs is how many times the simulator was started.
func (p *Process) Runs() int { return p.proc.Runs }

// Output is everything the simulator logged so far.
func (p *Process) Output() string { return p.proc.Output() }

// Ledger is what GET /v1/ledger answers.
type Ledger struct {
	Movements []simulator.Entry    `json:"movements"` // charges and refunds that moved money
	Declines  []simulator.Entry    `json:"declines"`
	Burnt     []simulator.BurntKey `json:"burnt"`
}

// Charges counts the charges in the ledger per idempotency key.
func (l Ledger) Charges() map[string]int { return l.count(simulator.KindCharge) }

// Refunds counts the refunds in the ledger per idempotency key.
func (l Ledger) Refunds() map[string]int { return l.count(simulator.KindRefund) }

func (l Ledger) count(kind simulator.Kind) map[string]int {
	n := map[string]int{}
	for _, e := range l.Movements {
		if e.Kind == kind {
			n[e.Key]++
		}
	}
	return n
}

// Ledger reads the simulator's ledger; it fails the test if it cannot.
func (p *Process) Ledger(tb testing.TB) Ledger {
	tb.Helper()
	res, err := http.Get(p.URL + "/v1/ledger")
	if err != nil {
		tb.Fatalf("simtest: GET /v1/ledger: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("simtest: GET /v1/ledger: HTTP %d", res.StatusCode)
	}
	var l Ledger
	if err := json.NewDecoder(res.Body).Decode(&l); err != nil {
		tb.Fatalf("simtest: decode ledger: %v", err)
	}
	return l
}
