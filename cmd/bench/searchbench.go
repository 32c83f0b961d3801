package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/query"
	"github.com/wildcat-payments/wildcat/internal/search"
)

// searchMix returns the query strings of typical analyst and UI searches:
// the default table view, date ranges, status/currency filters, amount
// ranges, a customer subset and free text — all scoped to the caller.
func (b *bench) searchMix(r *rand.Rand) url.Values { return b.searchKind(r, r.IntN(len(searchKinds))) }

// searchKinds names the searches of the mix, in searchKind's order.
var searchKinds = []string{"table view", "30 days + status", "currency + amount range, by amount",
	"two customers + 3 months", "free text", "one month, oldest first"}

// searchKind returns the search of the mix numbered kind.
func (b *bench) searchKind(r *rand.Rand, kind int) url.Values {
	v := url.Values{}
	now := time.Now().UTC()
	switch kind {
	case 0: // the table's first page
	case 1:
		v.Set("from", now.AddDate(0, 0, -30).Format(time.RFC3339))
		v.Set("status", "succeeded")
	case 2:
		v.Set("currency", currencies[r.IntN(len(currencies))])
		v.Set("amount_min", "100000")
		v.Set("amount_max", "5000000")
		v.Set("sort", "-amount")
	case 3:
		v.Add("customer_id", b.seedCustomers[r.IntN(len(b.seedCustomers))])
		v.Add("customer_id", b.seedCustomers[r.IntN(len(b.seedCustomers))])
		v.Set("from", now.AddDate(0, -3, 0).Format(time.RFC3339))
	case 4:
		v.Set("q", parties[r.IntN(len(parties))])
	case 5:
		v.Set("from", now.AddDate(0, -6, 0).Format(time.RFC3339))
		v.Set("to", now.AddDate(0, -5, 0).Format(time.RFC3339))
		v.Set("sort", "date")
	}
	v.Set("limit", "50")
	return v
}

// search: the query API at BENCH_SEARCH_CLIENTS clients vs the identical
// engine request (query.Service.PlanSearch + search.SearchBody, the
// code the API runs) sent straight to the engine by as many clients, over
// the seeded data set alone (the write scenarios' payments deleted first).
func (b *bench) search(ctx context.Context) error {
	if err := b.dropLoad(ctx); err != nil {
		return err
	}
	r, err := b.searchVsEngine(ctx)
	if err != nil {
		return err
	}
	b.add(r)
	return nil
}

// searchVsEngine measures the search mix through the query API beside the
// same engine requests sent straight to the engine, over whatever the
// index holds once the projector has caught up.
//
// long: one measurement (prepare, plan the same searches, warm up, baseline, product), read in order.
func (b *bench) searchVsEngine(ctx context.Context) (Result, error) {
	// Like the query API: no gzip between neighbours, so both sides read the same bytes.
	sc, err := search.Open(ctx, b.cfg.SearchURL, search.Options{Transport: search.Transport(false)})
	if err != nil {
		return Result{}, err
	}
	searcher := search.New(sc, b.cfg.IndexPrefix, prometheus.NewRegistry())
	svc := query.NewService(searcher, query.Options{})
	indexed, err := b.waitIndexed(ctx)
	if err != nil {
		return Result{}, err
	}
	if err := b.waitScopeSearchable(ctx, searcher); err != nil {
		return Result{}, err
	}
	inScope, err := b.searchScope(ctx, indexed)
	if err != nil {
		return Result{}, err
	}
	segments, err := b.segments(ctx)
	if err != nil {
		return Result{}, err
	}
	fmt.Fprintf(b.out, "  the payments index has %d segments\n", segments)

	// The same 200 searches on both sides: planned once (scope, filters)
	// by the code the API runs, then sent raw to the engine or via the API.
	r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	type planned struct {
		qs   string
		body []byte
	}
	plans := make([]planned, 0, 200)
	for len(plans) < cap(plans) {
		v := b.searchMix(r)
		req, err := query.ParseSearch(v, "")
		if err != nil {
			return Result{}, fmt.Errorf("parse %s: %w", v.Encode(), err)
		}
		q, ok, err := svc.PlanSearch(ctx, query.UserCaller(b.api.userID), req)
		if err != nil || !ok {
			return Result{}, fmt.Errorf("plan %s: ok=%v %v", v.Encode(), ok, err)
		}
		body, err := search.SearchBody(q)
		if err != nil {
			return Result{}, err
		}
		plans = append(plans, planned{v.Encode(), body})
	}

	engine := func(w int) string {
		p := plans[rand.IntN(len(plans))]
		st, _, err := sc.Do(ctx, http.MethodPost, search.SearchPath(b.cfg.IndexPrefix), p.body)
		return statusKind(st, err, 200)
	}
	api := func(w int) string {
		p := plans[rand.IntN(len(plans))]
		return searchRaw(ctx, b.api.reads, p.qs)
	}
	// Warm up (not recorded): the engine's JIT compiler needs a minute or
	// two of searches before a fresh node reaches its steady throughput
	// (measured: 150/s in the first 10 s, 700/s after 90 s), and neither
	// side should pay for that or for cold caches.
	b.warmUp(engine)
	drive(b.cfg.SearchClients, 5*time.Second, newRecorder(), api)

	base := newRecorder()
	baseElapsed := drive(b.cfg.SearchClients, b.cfg.Duration, base, engine)
	bs := base.stats(baseElapsed, 1)

	prod := newRecorder()
	elapsed := drive(b.cfg.SearchClients, b.cfg.Duration, prod, api)
	ps := prod.stats(elapsed, 1)
	ratio := 0.0
	if bs.P99Ms > 0 {
		ratio = ps.P99Ms / bs.P99Ms
	}
	return Result{Scenario: fmt.Sprintf("search, %d clients", b.cfg.SearchClients), Product: ps, Baseline: &bs, Ratio: ratio, ScopePayments: &inScope,
		Note: fmt.Sprintf("%s (%d segments); ratio = p99 API / p99 engine; the same 200 planned searches on both sides", scopeLine(inScope, indexed), segments)}, nil
}

// searchScope counts the payments the searches cover (those of the bench
// user's customers), prints the figure and warns if it is below the seed
// target: then the searches measure a smaller data set than intended.
func (b *bench) searchScope(ctx context.Context, indexed int) (int, error) {
	pool, err := b.pool(ctx, 1)
	if err != nil {
		return 0, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer pool.Close()
	n, err := countScope(ctx, pool, b.scope)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(b.out, "  %s\n", scopeLine(n, indexed))
	if n < b.cfg.SeedPayments {
		fmt.Fprintf(b.out, "  warning: the searching user's scope holds %d payments, below the seed target BENCH_SEED_PAYMENTS=%d;"+
			" the figure is not comparable: run the batch scenario first (BENCH_SCENARIOS=batch,search) to seed it\n", n, b.cfg.SeedPayments)
	}
	return n, nil
}

func scopeLine(inScope, indexed int) string {
	return fmt.Sprintf("%d payments in the searching user's scope, %d in the index", inScope, indexed)
}

// waitScopeSearchable waits (at most a minute) until the engine links all
// the bench user's customers to it: customers created just now (a new
// bench identity) are searchable only once the projector has indexed them,
// and the searches are planned, scope included, before measuring.
func (b *bench) waitScopeSearchable(ctx context.Context, searcher *search.Searcher) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ids, err := searcher.LinkedCustomerIDs(ctx, b.api.userID)
		if err != nil {
			return fmt.Errorf("look up the bench user's customers in the engine: %w", err)
		}
		missing := len(b.scope) - countIn(ids, b.scope)
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of the bench user's %d customers are still not searchable after a minute (is the projector running?)", missing, len(b.scope))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// countIn counts the elements of want that are in have.
func countIn(have, want []string) int {
	n := 0
	for _, w := range want {
		if slices.Contains(have, w) {
			n++
		}
	}
	return n
}

// waitIndexed waits (at most 10 minutes) until the index holds exactly as many
// payments as the table, so searches run on the whole seeded data set.
func (b *bench) waitIndexed(ctx context.Context) (int, error) {
	pool, err := b.pool(ctx, 1)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	var rows int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM payments").Scan(&rows); err != nil {
		return 0, fmt.Errorf("count payments: %w", err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var c struct {
			Count int `json:"count"`
		}
		if _, err := b.getJSON(ctx, b.cfg.SearchURL+"/"+projection.PaymentsAlias(b.cfg.IndexPrefix)+"/_count", &c); err != nil {
			return 0, err
		}
		if c.Count == rows || time.Now().After(deadline) { // equal: deletes must have reached the index too
			fmt.Fprintf(b.out, "  index holds %d of %d payments\n", c.Count, rows)
			return c.Count, nil
		}
		time.Sleep(time.Second)
	}
}

// segments counts the searchable segments of the payments index that hold
// documents: sorted, filtered searches pay per segment, so the figure says
// what layout was measured.
func (b *bench) segments(ctx context.Context) (int, error) {
	sc, err := search.Open(ctx, b.cfg.SearchURL, search.Options{})
	if err != nil {
		return 0, err
	}
	st, err := (&search.Writer{Client: sc}).Segments(ctx, projection.PaymentsAlias(b.cfg.IndexPrefix))
	return st.Live, err
}

// warmUp drives fn for at least a minute, in 10 s windows, until
// throughput stops growing (two windows in a row within 3 % of the best;
// the JIT compiles in steps, so one flat window says little) or three
// minutes have passed.
func (b *bench) warmUp(fn func(worker int) string) {
	const window = 10 * time.Second
	start := time.Now()
	best, flat := 0.0, 0
	for (flat < 2 || time.Since(start) < time.Minute) && time.Since(start) < 3*time.Minute {
		rec := newRecorder()
		rate := rec.stats(drive(b.cfg.SearchClients, window, rec, fn), 1).PerSec
		if rate > best*1.03 {
			flat = 0
		} else {
			flat++
		}
		best = max(best, rate)
	}
	fmt.Fprintf(b.out, "  warmed up in %.0fs (engine at %.0f searches/s)\n", time.Since(start).Seconds(), best)
}
