package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/testenv"
)

// env is one test's world: its own database (migrated), index prefix and
// replication slot.
type env struct {
	t         testing.TB
	dbURL     string
	searchURL string
	prefix    string
	slot      string
	pool      *pgxpool.Pool
}

func mustEnv(t testing.TB) *env {
	t.Helper()
	dbURL := testenv.MustDatabase(t)
	searchURL, prefix := testenv.MustSearch(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatalf("pool: %v", err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool, testenv.Logger(t)); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return &env{t: t, dbURL: dbURL, searchURL: searchURL, prefix: prefix, slot: testenv.Name("wct_slot_"), pool: pool}
}

// vars is the projector's environment for this test.
func (e *env) vars(extra ...string) map[string]string {
	m := map[string]string{
		"DATABASE_URL":              e.dbURL,
		"SEARCH_URL":                e.searchURL,
		"INDEX_PREFIX":              e.prefix,
		"REPLICATION_SLOT":          e.slot,
		"PROJECTOR_ADDR":            "127.0.0.1:0",
		"PROJECTOR_MIN_BACKOFF":     "20ms",
		"PROJECTOR_MAX_BACKOFF":     "500ms",
		"PROJECTOR_STANDBY_POLL":    "200ms",
		"PROJECTOR_STATUS_INTERVAL": "1s",
		// Compaction merges segments in the background; its own test turns it on.
		"PROJECTOR_COMPACT_AFTER": "0",
		"LOG_LEVEL":               "info",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

// instance is an in-process projector (the real run wiring).
type instance struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
}

func (e *env) start(vars map[string]string) *instance {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	in := &instance{cancel: cancel, done: make(chan error, 1)}
	go func() {
		in.done <- run(ctx, func(k string) string { return vars[k] }, tlog{e.t}, func(a string) { addrc <- a })
	}()
	select {
	case in.addr = <-addrc:
	case err := <-in.done:
		e.t.Fatalf("projector exited: %v", err)
	case <-time.After(10 * time.Second):
		e.t.Fatal("projector did not listen")
	}
	e.t.Cleanup(in.stop)
	return in
}

func (in *instance) stop() {
	in.cancel()
	select {
	case <-in.done:
	case <-time.After(20 * time.Second):
	}
}

// readyz returns the status code and role of an instance.
func readyz(addr string) (int, string) {
	code, role, _ := readyzBody(addr)
	return code, role
}

func readyzBody(addr string) (int, string, string) {
	res, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0, "", err.Error()
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var body struct {
		Role string `json:"role"`
	}
	_ = json.Unmarshal(raw, &body)
	return res.StatusCode, body.Role, string(raw)
}

// metric returns the value of a metric series (name plus labels as printed).
func metric(t testing.TB, addr, series string) float64 {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return 0
}

// waitMetric waits until a metric series has the value want.
func waitMetric(t testing.TB, addr, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := metric(t, addr, series)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", series, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type tlog struct{ t testing.TB }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// subprocess runs the built binary.
type subprocess struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "projector-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "projector")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func (e *env) spawn(vars map[string]string) *subprocess {
	e.t.Helper()
	cmd := exec.Command(binary(e.t))
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start projector: %v", err)
	}
	p := &subprocess{cmd: cmd, out: &out}
	e.t.Cleanup(func() {
		if e.t.Failed() || os.Getenv("PROJECTOR_TEST_LOGS") != "" {
			e.t.Logf("projector pid %d output:\n%s", cmd.Process.Pid, out.String())
		}
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	return p
}

func (p *subprocess) kill9(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	_ = p.cmd.Wait()
}

// --- write-model data, written with plain SQL ---

type world struct {
	users     []string
	customers []string
}

func (e *env) seed(ctx context.Context, users, customers, payments int) world {
	e.t.Helper()
	var w world
	for i := range users {
		var id string
		e.must(e.pool.QueryRow(ctx, `INSERT INTO users (email, name, password_hash) VALUES ($1, $2, 'x') RETURNING id::text`,
			fmt.Sprintf("user%d-%s@example.com", i, testenv.Name("")), fmt.Sprintf("User %d", i)).Scan(&id))
		w.users = append(w.users, id)
	}
	for i := range customers {
		var id string
		e.must(e.pool.QueryRow(ctx, `INSERT INTO customers (name) VALUES ($1) RETURNING id::text`, fmt.Sprintf("Shop %d", i)).Scan(&id))
		w.customers = append(w.customers, id)
		e.exec(ctx, `INSERT INTO customer_users (customer_id, user_id) VALUES ($1, $2)`, id, w.users[i%len(w.users)])
	}
	e.insertPayments(ctx, w, payments)
	return w
}

// insertPayments inserts n payments in one statement.
func (e *env) insertPayments(ctx context.Context, w world, n int) {
	e.t.Helper()
	if n == 0 {
		return
	}
	e.exec(ctx, `INSERT INTO payments (customer_id, user_id, amount, currency, third_party, description, status)
		SELECT ($1::uuid[])[1 + i % cardinality($1::uuid[])], ($2::uuid[])[1 + i % cardinality($2::uuid[])],
		       1 + (random() * 1000000)::bigint, 'DKK', 'counterparty ' || i, 'test payment', 'pending'
		FROM generate_series(1, $3) AS i`, w.customers, w.users, n)
}

func (e *env) exec(ctx context.Context, sql string, args ...any) {
	e.t.Helper()
	if _, err := e.pool.Exec(ctx, sql, args...); err != nil {
		e.t.Fatalf("exec %q: %v", sql, err)
	}
}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// load runs random small write transactions until ctx ends: inserts,
// status updates, multi-row transactions, and with renames occasionally a
// customer rename (which re-projects many documents, and so would also
// repair losses: crash tests run without). It returns the number of
// transactions committed.
func (e *env) load(ctx context.Context, w world, seed uint64, renames bool) int {
	r := rand.New(rand.NewPCG(seed, seed+1))
	n := 0
	for ctx.Err() == nil {
		var err error
		k := r.IntN(20)
		if k == 19 && !renames {
			k = 0
		}
		switch {
		case k < 10:
			_, err = e.pool.Exec(ctx, `INSERT INTO payments (customer_id, user_id, amount, currency, third_party)
				VALUES ($1, $2, $3, 'EUR', 'load')`, w.customers[r.IntN(len(w.customers))], w.users[r.IntN(len(w.users))], 1+r.Int64N(1e9))
		case k < 15:
			_, err = e.pool.Exec(ctx, `UPDATE payments SET attempts = attempts + 1 + floor(random()*3)::int,
				updated_at = now() WHERE id = (SELECT id FROM payments ORDER BY random() LIMIT 1)`)
		case k < 19:
			err = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
				for range 3 {
					if _, err := tx.Exec(ctx, `UPDATE payments SET amount = amount + 1 WHERE id = (SELECT id FROM payments ORDER BY random() LIMIT 1)`); err != nil {
						return err
					}
				}
				_, err := tx.Exec(ctx, `INSERT INTO payments (customer_id, user_id, amount, currency, third_party)
					VALUES ($1, $2, 7, 'USD', 'in tx')`, w.customers[r.IntN(len(w.customers))], w.users[r.IntN(len(w.users))])
				return err
			})
		default:
			_, err = e.pool.Exec(ctx, `UPDATE customers SET name = $2, updated_at = now() WHERE id = $1`,
				w.customers[r.IntN(len(w.customers))], fmt.Sprintf("Shop renamed %d", r.IntN(1e6)))
		}
		if err == nil {
			n++
		}
	}
	return n
}

// --- comparing the index with PostgreSQL ---

// pgPayments returns "id|amount|status|customer name|attempts|failure
// code|amount refunded|event ids" per payment, sorted.
func (e *env) pgPayments(ctx context.Context) []string {
	e.t.Helper()
	rows, err := e.pool.Query(ctx, `SELECT p.id::text || '|' || p.amount || '|' || p.status || '|' || c.name
		|| '|' || p.attempts || '|' || coalesce(p.failure_code, '') || '|' || p.amount_refunded || '|' || ev.ids
		FROM payments p JOIN customers c ON c.id = p.customer_id
		CROSS JOIN LATERAL (SELECT '0' || coalesce(',' || string_agg(e.id::text, ',' ORDER BY e.id), '') AS ids
			FROM payment_events e WHERE e.payment_id = p.id) ev ORDER BY 1`)
	e.must(err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	e.must(err)
	return lines
}

// indexPayments returns the same lines from the payments alias.
func (e *env) indexPayments(ctx context.Context) ([]string, error) {
	var lines []string
	if err := e.scan(ctx, projection.PaymentsAlias(e.prefix), func(src json.RawMessage) error {
		var d projection.PaymentDoc
		if err := json.Unmarshal(src, &d); err != nil {
			return err
		}
		ids := make([]string, len(d.Events))
		for i, ev := range d.Events {
			ids[i] = strconv.FormatInt(ev.ID, 10)
		}
		code := ""
		if d.FailureCode != nil {
			code = *d.FailureCode
		}
		lines = append(lines, fmt.Sprintf("%s|%d|%s|%s|%d|%s|%d|%s", d.ID, d.Amount, d.Status, d.CustomerName,
			d.Attempts, code, d.AmountRefunded, strings.Join(ids, ",")))
		return nil
	}); err != nil {
		return nil, err
	}
	sort.Strings(lines)
	return lines, nil
}

// pgCustomers returns "id|name|user:name:email,..." per customer, sorted.
func (e *env) pgCustomers(ctx context.Context) []string {
	e.t.Helper()
	rows, err := e.pool.Query(ctx, `SELECT c.id::text || '|' || c.name || '|' ||
		coalesce(string_agg(u.id::text || ':' || u.name || ':' || u.email, ',' ORDER BY u.id), '')
		FROM customers c LEFT JOIN customer_users cu ON cu.customer_id = c.id LEFT JOIN users u ON u.id = cu.user_id
		GROUP BY c.id ORDER BY 1`)
	e.must(err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	e.must(err)
	return lines
}

func (e *env) indexCustomers(ctx context.Context) ([]string, error) {
	var lines []string
	if err := e.scan(ctx, projection.CustomersAlias(e.prefix), func(src json.RawMessage) error {
		var d projection.CustomerDoc
		if err := json.Unmarshal(src, &d); err != nil {
			return err
		}
		var us []string
		for i, u := range d.Users {
			if d.UserIDs[i] != u.ID {
				return fmt.Errorf("customer %s: user_ids %v do not match users", d.ID, d.UserIDs)
			}
			us = append(us, u.ID+":"+u.Name+":"+u.Email)
		}
		lines = append(lines, d.ID+"|"+d.Name+"|"+strings.Join(us, ","))
		return nil
	}); err != nil {
		return nil, err
	}
	sort.Strings(lines)
	return lines, nil
}

// scan pages through every document of index (search_after on id).
func (e *env) scan(ctx context.Context, index string, fn func(json.RawMessage) error) error {
	var after []any
	for {
		q := map[string]any{"size": 5000, "sort": []any{map[string]any{"id": "asc"}}, "query": map[string]any{"match_all": map[string]any{}}}
		if after != nil {
			q["search_after"] = after
		}
		body, _ := json.Marshal(q)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.searchURL+"/"+index+"/_search", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("search %s: HTTP %d: %s", index, res.StatusCode, raw)
		}
		var out struct {
			Hits struct {
				Hits []struct {
					Source json.RawMessage `json:"_source"`
					Sort   []any           `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return err
		}
		for _, h := range out.Hits.Hits {
			if err := fn(h.Source); err != nil {
				return err
			}
		}
		if len(out.Hits.Hits) < 5000 {
			return nil
		}
		after = out.Hits.Hits[len(out.Hits.Hits)-1].Sort
	}
}

func checksum(lines []string) string {
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// waitConsistent waits until the index equals PostgreSQL (count and
// checksum of payments, and the customer access documents).
func (e *env) waitConsistent(ctx context.Context, timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var want, got []string
	var err error
	for {
		want = e.pgPayments(ctx)
		got, err = e.indexPayments(ctx)
		if err == nil && checksum(want) == checksum(got) {
			wc := e.pgCustomers(ctx)
			gc, cerr := e.indexCustomers(ctx)
			if cerr == nil && checksum(wc) == checksum(gc) {
				e.t.Logf("index equals PostgreSQL: %d payments (checksum %s), %d customers", len(want), checksum(want), len(wc))
				return
			}
			want, got, err = wc, gc, cerr
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		e.t.Fatalf("index not readable: %v", err)
	}
	st, _ := e.state(ctx)
	e.t.Fatalf("index differs from PostgreSQL after %s (published position %s, server WAL %s): want %d docs (checksum %s), got %d (checksum %s); first differences: %v",
		timeout, st.LSN, domain.FormatLSN(e.walLSN(ctx)), len(want), checksum(want), len(got), checksum(got), diff(want, got, 5))
}

func diff(want, got []string, max int) []string {
	w := map[string]bool{}
	for _, l := range want {
		w[l] = true
	}
	g := map[string]bool{}
	for _, l := range got {
		g[l] = true
	}
	var out []string
	for _, l := range want {
		if !g[l] && len(out) < max {
			out = append(out, "missing "+l)
		}
	}
	for _, l := range got {
		if !w[l] && len(out) < 2*max {
			out = append(out, "unexpected "+l)
		}
	}
	return out
}

// state returns the published applied position.
func (e *env) state(ctx context.Context) (projection.StateDoc, bool) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.searchURL+"/"+projection.StateIndex(e.prefix)+"/_doc/"+projection.StateDocID, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return projection.StateDoc{}, false
	}
	defer res.Body.Close()
	var doc struct {
		Found  bool                `json:"found"`
		Source projection.StateDoc `json:"_source"`
	}
	_ = json.NewDecoder(res.Body).Decode(&doc)
	return doc.Source, doc.Found
}

// walLSN returns pg_current_wal_lsn().
func (e *env) walLSN(ctx context.Context) uint64 {
	e.t.Helper()
	var s string
	e.must(e.pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&s))
	return parseLSN(e.t, s)
}

// slotConfirmed returns the slot's confirmed_flush_lsn (0 before it exists).
func (e *env) slotConfirmed(ctx context.Context) uint64 {
	e.t.Helper()
	var s *string
	err := e.pool.QueryRow(ctx, `SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1`, e.slot).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) || s == nil {
		return 0
	}
	e.must(err)
	return parseLSN(e.t, *s)
}

func parseLSN(t testing.TB, s string) uint64 {
	t.Helper()
	lsn, err := domain.ParseLSN(s)
	if err != nil {
		t.Fatal(err)
	}
	return lsn
}

// waitApplied waits until the published applied position reaches lsn.
func (e *env) waitApplied(ctx context.Context, lsn uint64, timeout time.Duration) time.Duration {
	e.t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if st, ok := e.state(ctx); ok && st.AppliedLSN >= lsn {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, _ := e.state(ctx)
	e.t.Fatalf("applied position %s did not reach %s within %s", st.LSN, domain.FormatLSN(lsn), timeout)
	return 0
}

// proxy is a TCP proxy to the search engine that the test can cut.
type proxy struct {
	t      testing.TB
	target string
	mu     sync.Mutex
	ln     net.Listener
	addr   string
	conns  map[net.Conn]bool
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	p := &proxy{t: t, target: strings.TrimPrefix(target, "http://"), conns: map[net.Conn]bool{}}
	p.open("127.0.0.1:0")
	t.Cleanup(p.close)
	return p
}

func (p *proxy) url() string { return "http://" + p.addr }

func (p *proxy) open(addr string) {
	p.t.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(ln, c)
		}
	}()
}

// pipe forwards c, accepted on ln, to the target. A connection whose
// listener was closed (cut) before it got here is closed, not forwarded.
func (p *proxy) pipe(ln net.Listener, c net.Conn) {
	p.mu.Lock()
	if p.ln != ln {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns[c] = true
	p.mu.Unlock()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if !p.conns[c] { // cut while dialing: the connection must not outlive the cut
		p.mu.Unlock()
		up.Close()
		c.Close()
		return
	}
	p.conns[up] = true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

// close stops listening and cuts every connection.
func (p *proxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// reopen listens again on the same address.
func (p *proxy) reopen() { p.open(p.addr) }
