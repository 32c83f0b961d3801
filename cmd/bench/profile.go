package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/query"
	"github.com/wildcat-payments/wildcat/internal/search"
)

// profile: where the engine spends a search's time. Each kind of search of
// the mix is planned as the API plans it and sent to the engine with the
// profile API on, BENCH_PROFILE_RUNS times (after as many unrecorded runs):
// the median took, and from the profile of the median run the time in the
// query tree (by node type), in collectors (sorting, top-N) and rewriting,
// summed over shards. Issue 17 asks for the cause of search latency at
// several million payments to be found this way before anything changes.
//
// long: one measurement per kind (plan, warm, profile, summarise), read in order.
func (b *bench) profile(ctx context.Context) error {
	sc, err := search.Open(ctx, b.cfg.SearchURL, search.Options{Transport: search.Transport(false)})
	if err != nil {
		return err
	}
	svc := query.NewService(search.New(sc, b.cfg.IndexPrefix, prometheus.NewRegistry()), query.Options{})
	var count struct {
		Count int `json:"count"`
	}
	if _, err := b.getJSON(ctx, b.cfg.SearchURL+"/"+projection.PaymentsAlias(b.cfg.IndexPrefix)+"/_count", &count); err != nil {
		return err
	}
	indexed := count.Count // as it is: profiles are taken whatever the engine is doing
	r := rand.New(rand.NewPCG(1, 2))
	for kind, name := range searchKinds {
		req, err := query.ParseSearch(b.searchKind(r, kind), "")
		if err != nil {
			return err
		}
		q, ok, err := svc.PlanSearch(ctx, query.UserCaller(b.api.userID), req)
		if err != nil || !ok {
			return fmt.Errorf("plan %s: ok=%v %v", name, ok, err)
		}
		body, err := search.SearchBody(q)
		if err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		m["profile"] = true
		body, _ = json.Marshal(m)
		var runs []profiled
		for i := range 2 * b.cfg.ProfileRuns {
			// The API's request, without its filter_path: the profile is wanted.
			path, _, _ := strings.Cut(search.SearchPath(b.cfg.IndexPrefix), "?")
			st, raw, err := sc.Do(ctx, http.MethodPost, path, body)
			if err != nil || st != http.StatusOK {
				return fmt.Errorf("profile %s: HTTP %d %v: %.300s", name, st, err, raw)
			}
			if i >= b.cfg.ProfileRuns { // the first half warms caches up
				p, err := parseProfile(raw)
				if err != nil {
					return err
				}
				runs = append(runs, p)
			}
		}
		sort.Slice(runs, func(i, j int) bool { return runs[i].took < runs[j].took })
		med := runs[len(runs)/2]
		b.add(Result{Scenario: "profile: " + name, Product: Stats{Count: len(runs), P50Ms: float64(med.took), MaxMs: float64(runs[len(runs)-1].took)},
			Note: fmt.Sprintf("%d payments indexed; median run: %s", indexed, med.summary())})
	}
	return nil
}

// profiled is one profiled search, summed over its shards.
type profiled struct {
	took      int64            // ms, as the engine reports it
	byType    map[string]int64 // query node type → ns (top-level nodes' own time, children included)
	collector int64            // ns
	rewrite   int64            // ns
	aggs      int64            // ns
	shards    int
}

func parseProfile(raw []byte) (profiled, error) {
	var out struct {
		Took    int64 `json:"took"`
		Profile struct {
			Shards []struct {
				Searches []struct {
					Query []struct {
						Type string `json:"type"`
						Time int64  `json:"time_in_nanos"`
					} `json:"query"`
					RewriteTime int64 `json:"rewrite_time"`
					Collector   []struct {
						Time int64 `json:"time_in_nanos"`
					} `json:"collector"`
				} `json:"searches"`
				Aggregations []struct {
					Type string `json:"type"`
					Time int64  `json:"time_in_nanos"`
				} `json:"aggregations"`
			} `json:"shards"`
		} `json:"profile"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return profiled{}, err
	}
	p := profiled{took: out.Took, byType: map[string]int64{}, shards: len(out.Profile.Shards)}
	for _, sh := range out.Profile.Shards {
		for _, s := range sh.Searches {
			for _, q := range s.Query {
				p.byType[q.Type] += q.Time
			}
			p.rewrite += s.RewriteTime
			for _, c := range s.Collector {
				p.collector += c.Time
			}
		}
		for _, a := range sh.Aggregations {
			p.aggs += a.Time
		}
	}
	return p, nil
}

// summary names where the time went, largest first.
func (p profiled) summary() string {
	parts := []string{fmt.Sprintf("took %d ms over %d shard(s)", p.took, p.shards)}
	types := make([]string, 0, len(p.byType))
	for t := range p.byType {
		types = append(types, t)
	}
	slices.SortFunc(types, func(a, b string) int { return int(p.byType[b] - p.byType[a]) })
	for _, t := range types {
		parts = append(parts, fmt.Sprintf("query %s %.1f ms", t, ms(time.Duration(p.byType[t]))))
	}
	parts = append(parts, fmt.Sprintf("collectors %.1f ms", ms(time.Duration(p.collector))), fmt.Sprintf("rewrite %.2f ms", ms(time.Duration(p.rewrite))),
		fmt.Sprintf("aggregations %.1f ms", ms(time.Duration(p.aggs))))
	return strings.Join(parts, ", ")
}
