package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
)

// Group commit of single-payment writes.
//
// Ingestion clients send many concurrent POST /v1/payments, each its own
// transaction. Per payment, most of the database's work is then per
// transaction: a commit record and its flush, a statement, a round trip,
// and a lock on the user's and the customer's rows for the foreign keys,
// which concurrent transactions must share through a MultiXact. The
// grouper runs at most Writers group transactions at a time; requests that
// arrive while they are busy queue and go together in the next group: one
// statement, one commit, one lock per parent row. An idle system sends a
// request at once (a group of one), so grouping adds no latency; a busy one
// trades per-transaction work for throughput.
//
// A group is all or nothing in the database but not for its members: if its
// statement fails (a duplicate payment_ref_id, an Idempotency-Key recorded
// or claimed concurrently, a lock timeout), every member is run again on its
// own, and gets exactly the answer it would have had without grouping.
// Members whose customer is not linked are simply not inserted; the others
// commit.

type grouper struct {
	s       *Store
	writers int
	max     int

	mu     sync.Mutex
	queue  []*groupItem
	active int // running writer goroutines

	size      prometheus.Histogram
	fallbacks prometheus.Counter

	beforeFlush func([]*groupItem) // tests: called with each group before it is written
}

type groupItem struct {
	ctx  context.Context
	w    command.PaymentWrite
	done chan groupResult // buffered: a writer never blocks on a caller that left
}

type groupResult struct {
	p   domain.Payment
	c   command.Commit
	err error
}

// groupTimeout bounds one group transaction; its members' own deadlines
// do not cancel it, since the others still wait for it.
const groupTimeout = 30 * time.Second

func newGrouper(s *Store, o StoreOptions) *grouper {
	g := &grouper{s: s, writers: o.GroupWriters, max: o.GroupMaxSize}
	if g.max <= 0 {
		g.max = 128
	}
	g.size = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "command_payment_group_size",
		Help:    "Single-payment requests written together in one group transaction.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	})
	g.fallbacks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "command_payment_group_fallbacks_total",
		Help: "Group transactions that failed and whose members were then written one by one.",
	})
	if o.Registerer != nil {
		o.Registerer.MustRegister(g.size, g.fallbacks)
	}
	return g
}

// create queues w (one payment) for the next group and waits for its result.
func (g *grouper) create(ctx context.Context, w command.PaymentWrite) ([]domain.Payment, command.Commit, error) {
	it := &groupItem{ctx: ctx, w: w, done: make(chan groupResult, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, it)
	if g.active < g.writers {
		g.active++
		go g.run()
	}
	g.mu.Unlock()
	select {
	case r := <-it.done:
		if r.err != nil {
			return nil, command.Commit{}, r.err
		}
		return []domain.Payment{r.p}, r.c, nil
	case <-ctx.Done():
		return nil, command.Commit{}, translate(ctx.Err(), "create payments")
	}
}

// run writes groups until the queue is empty.
func (g *grouper) run() {
	for {
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.active--
			g.mu.Unlock()
			return
		}
		n := min(len(g.queue), g.max)
		items := g.queue[:n:n]
		if n == len(g.queue) {
			g.queue = nil
		} else {
			g.queue = append([]*groupItem(nil), g.queue[n:]...)
		}
		g.mu.Unlock()
		g.flush(items)
	}
}

// flush writes one group and hands every member its result.
func (g *grouper) flush(items []*groupItem) {
	live := items[:0:0]
	for _, it := range items {
		if err := it.ctx.Err(); err != nil {
			it.done <- groupResult{err: translate(err, "create payments")}
			continue
		}
		live = append(live, it)
	}
	if len(live) == 0 {
		return
	}
	if g.beforeFlush != nil {
		g.beforeFlush(live)
	}
	g.size.Observe(float64(len(live)))
	if len(live) == 1 {
		live[0].done <- g.alone(live[0])
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(live[0].ctx), groupTimeout)
	defer cancel()
	results, err := g.s.createGroup(ctx, live)
	if err == nil {
		for i, it := range live {
			it.done <- results[i]
		}
		return
	}
	// The whole group rolled back: run each member on its own, concurrently
	// (the pool bounds how many at once), so each gets its own answer.
	g.fallbacks.Inc()
	var wg sync.WaitGroup
	for _, it := range live {
		wg.Go(func() { it.done <- g.alone(it) })
	}
	wg.Wait()
}

// alone writes one member in its own transaction, as without grouping.
func (g *grouper) alone(it *groupItem) groupResult {
	ps, c, err := g.s.createPayments(it.ctx, it.w)
	if err != nil {
		return groupResult{err: err}
	}
	return groupResult{p: ps[0], c: c}
}

// sqlInsertGroup inserts one payment per member (each with its own user
// and Idempotency-Key claim) where the member's user is linked to
// its customer, and returns the inserted payments with their member's
// ordinal. The key records are those sqlInsertPayment writes.
const sqlInsertGroup = `WITH input AS MATERIALIZED (
    SELECT t.ord, t.user_id, t.customer_id, coalesce(t.payment_ref_id, uuid_v7()) AS payment_ref_id, t.amount,
           t.currency, t.third_party, t.description, coalesce(t.date, now()) AS date, t.key, t.hash, t.ttl, t.api_key_id
    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                $8::timestamptz[], $9::text[], $10::bytea[], $11::bigint[], $12::uuid[])
         WITH ORDINALITY AS t(user_id, customer_id, payment_ref_id, amount, currency, third_party, description,
                              date, key, hash, ttl, api_key_id, ord)
), ins AS (
    INSERT INTO payments (payment_ref_id, customer_id, user_id, amount, currency, third_party, description, date, api_key_id)
    SELECT payment_ref_id, customer_id, user_id, amount, currency, third_party, description, date, api_key_id
    FROM input i
    WHERE CASE WHEN i.api_key_id IS NULL
               THEN EXISTS (SELECT 1 FROM customer_users cu WHERE cu.customer_id = i.customer_id AND cu.user_id = i.user_id)
               ELSE EXISTS (SELECT 1 FROM api_keys k WHERE k.id = i.api_key_id AND k.customer_id = i.customer_id AND k.revoked_at IS NULL)
          END
    ORDER BY ord
    RETURNING ` + paymentColumns + `
), out AS MATERIALIZED (
    SELECT input.ord, input.key, input.hash, input.ttl, ins.* FROM ins JOIN input USING (customer_id, payment_ref_id)
), idem AS (
    INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, payment_ids, expires_at)
    SELECT user_id, key, hash, 201, ARRAY[id], now() + ttl * interval '1 millisecond'
    FROM out WHERE key IS NOT NULL
    ORDER BY ord
)
SELECT ord, ` + paymentColumns + ` FROM out ORDER BY ord`

// createGroup writes the members' payments in one transaction and returns
// one result per member: its payment, or *NotLinkedError if its user is not
// linked to its customer. Any error means nothing was written.
func (s *Store) createGroup(ctx context.Context, items []*groupItem) ([]groupResult, error) {
	n := len(items)
	payments, users := make([]command.NewPayment, n), make([]string, n)
	keys, hashes, ttls, apiKeys := make([]*string, n), make([][]byte, n), make([]*int64, n), make([]*string, n)
	for i, it := range items {
		payments[i], users[i] = it.w.Payments[0], it.w.UserID
		if it.w.APIKeyID != "" {
			apiKeys[i] = &it.w.APIKeyID
		}
		if c := it.w.Idempotency; c != nil {
			ttl := c.TTL.Milliseconds()
			keys[i], hashes[i], ttls[i] = &c.Key, c.RequestHash, &ttl
		}
	}
	cols := paymentArrays(payments)
	results := make([]groupResult, n)
	inserted := make([]bool, n)
	var ids []string
	c, err := s.writeEnqueue(ctx, "create payments", func(b *pgx.Batch) {
		b.Queue(sqlInsertGroup, users, cols.customerIDs, cols.refIDs, cols.amounts, cols.currencies, cols.thirdParties,
			cols.descriptions, cols.dates, keys, hashes, ttls, apiKeys)
	}, func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ord int
			var p domain.Payment
			if err := rows.Scan(append([]any{&ord}, paymentDest(&p)...)...); err != nil {
				return err
			}
			results[ord-1].p, inserted[ord-1] = p, true
			ids = append(ids, p.ID)
		}
		return rows.Err()
	}, func(ctx context.Context, tx pgx.Tx) error {
		return s.jobs.Payments(ctx, tx, ids)
	})
	if err != nil {
		return nil, err
	}
	for i := range results {
		if inserted[i] {
			results[i].c = c
		} else { // the link check let it through nowhere: nothing of it was written
			results[i].err = &command.NotLinkedError{Indexes: []int{0}}
		}
	}
	return results, nil
}
