package search

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/query"
)

// Exact sums.
//
// The engines' sum aggregation adds doubles, even over a long field. Every
// amount is a positive integer ≤ 10^15 < 2^53, so each is exactly a
// double, and every partial sum below 2^53 is computed exactly (the
// compensated summation the engines use adds a zero correction while no
// rounding happens). Once the true sum reaches 2^53 the computed one is ≥
// 2^53 too, because rounding is monotone and 2^53 is a double. Hence: a
// returned sum below 2^53 is exact; a sum at or above it may not be, and
// that currency is recomputed exactly by streaming its matching payments
// (amount, currency and date only) with search_after and adding int64s in
// Go, with overflow detection. Sums need 9 or more payments at the maximum
// amount to reach 2^53, so the slow path is rare, and it is exercised by
// the tests.
const exactLimit = 1 << 53

// exact converts an aggregation's double to int64 when it is provably the
// exact sum (see above).
func exact(v json.Number) (int64, bool) {
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f < 0 || f >= exactLimit || f != math.Trunc(f) {
		return 0, false
	}
	return int64(f), true
}

type termsAgg struct {
	SumOtherDocCount int64 `json:"sum_other_doc_count"`
	Buckets          []struct {
		Key      string `json:"key"`
		DocCount int64  `json:"doc_count"`
		Sum      struct {
			Value json.Number `json:"value"`
		} `json:"sum"`
	} `json:"buckets"`
}

type summaryResponse struct {
	Hits struct {
		Total struct {
			Value    int64  `json:"value"`
			Relation string `json:"relation"`
		} `json:"total"`
	} `json:"hits"`
	Aggregations struct {
		ByCurrency termsAgg `json:"by_currency"`
		ByStatus   termsAgg `json:"by_status"`
		ByCode     termsAgg `json:"by_failure_code"`
		ByDay      struct {
			Buckets []struct {
				Key        string   `json:"key_as_string"`
				DocCount   int64    `json:"doc_count"`
				ByCurrency termsAgg `json:"by_currency"`
			} `json:"buckets"`
		} `json:"by_day"`
	} `json:"aggregations"`
}

// Summarize implements query.Searcher: one aggregation request, plus an
// exact recomputation of any currency whose double sum may be inexact.
func (s *Searcher) Summarize(ctx context.Context, f query.Filter, loc *time.Location) (query.Summary, error) {
	body, err := summaryBody(f, loc.String())
	if err != nil {
		return query.Summary{}, err
	}
	path := "/" + projection.PaymentsAlias(s.prefix) + "/_search?filter_path=hits.total,aggregations"
	_, out, err := s.do(ctx, "summary", http.MethodPost, path, body)
	if err != nil {
		return query.Summary{}, err
	}
	var res summaryResponse
	if err := unmarshal(out, &res); err != nil {
		return query.Summary{}, fmt.Errorf("search: decode summary: %w", err)
	}
	if res.Hits.Total.Relation != "eq" {
		return query.Summary{}, fmt.Errorf("search: summary: total is %q, want an exact count", res.Hits.Total.Relation)
	}
	sum, inexact, err := summaryOf(res)
	if err != nil || len(inexact) == 0 {
		return sum, err
	}
	slices.Sort(inexact)
	total, perDay, err := s.exactSums(ctx, f, inexact, loc)
	if err != nil {
		return query.Summary{}, err
	}
	for _, c := range inexact {
		sum.SumByCurrency[c] = total[c]
	}
	for i := range sum.Histogram {
		d := &sum.Histogram[i]
		for _, c := range inexact {
			if _, ok := d.SumByCurrency[c]; ok {
				d.SumByCurrency[c] = perDay[d.Date][c]
			}
		}
	}
	return sum, nil
}

// summaryOf reads the aggregation response into a summary, and names the
// currencies whose double sums may be inexact (recomputed by exactSums).
func summaryOf(res summaryResponse) (query.Summary, []string, error) {
	sum := query.Summary{
		Count:         res.Hits.Total.Value,
		SumByCurrency: map[string]int64{},
		CountByStatus: map[string]int64{},
		Histogram:     make([]query.Day, 0, len(res.Aggregations.ByDay.Buckets)),

		CountByFailureCode: map[string]int64{},
	}
	var inexact []string
	sums := func(agg termsAgg, into map[string]int64) error {
		if agg.SumOtherDocCount != 0 {
			return fmt.Errorf("search: summary: %d documents outside the currency buckets", agg.SumOtherDocCount)
		}
		for _, b := range agg.Buckets {
			v, ok := exact(b.Sum.Value)
			if !ok && !slices.Contains(inexact, b.Key) {
				inexact = append(inexact, b.Key)
			}
			into[b.Key] = v
		}
		return nil
	}
	if err := sums(res.Aggregations.ByCurrency, sum.SumByCurrency); err != nil {
		return query.Summary{}, nil, err
	}
	if res.Aggregations.ByStatus.SumOtherDocCount != 0 {
		return query.Summary{}, nil, fmt.Errorf("search: summary: documents outside the status buckets")
	}
	for _, st := range domain.Statuses {
		sum.CountByStatus[string(st)] = 0
	}
	for _, b := range res.Aggregations.ByStatus.Buckets {
		sum.CountByStatus[b.Key] = b.DocCount
	}
	if res.Aggregations.ByCode.SumOtherDocCount != 0 {
		return query.Summary{}, nil, &domain.Error{Code: domain.EUNPROCESSABLE, Reason: "too_many_failure_codes",
			Message: fmt.Sprintf("The payments have more than %d distinct failure codes; narrow the filters.", maxFailureCodes)}
	}
	for _, b := range res.Aggregations.ByCode.Buckets {
		sum.CountByFailureCode[b.Key] = b.DocCount
	}
	sum.SuccessRate = query.SuccessRate(sum.CountByStatus)
	for _, b := range res.Aggregations.ByDay.Buckets {
		d := query.Day{Date: b.Key, Count: b.DocCount, SumByCurrency: map[string]int64{}}
		if err := sums(b.ByCurrency, d.SumByCurrency); err != nil {
			return query.Summary{}, nil, err
		}
		sum.Histogram = append(sum.Histogram, d)
	}
	return sum, inexact, nil

}

// exactSums streams the payments matching f in the given currencies and
// adds their amounts as integers, in total and per calendar day in loc.
func (s *Searcher) exactSums(ctx context.Context, f query.Filter, currencies []string, loc *time.Location) (map[string]int64, map[string]map[string]int64, error) {
	f.Currencies = currencies // already within f's currencies: they came from its buckets
	total := map[string]int64{}
	perDay := map[string]map[string]int64{}
	path := "/" + projection.PaymentsAlias(s.prefix) + "/_search?filter_path=hits.hits._source,hits.hits.sort"
	after := ""
	for {
		body, err := streamBody(f, exactSumPage, after)
		if err != nil {
			return nil, nil, err
		}
		_, out, err := s.do(ctx, "summary_exact", http.MethodPost, path, body)
		if err != nil {
			return nil, nil, err
		}
		var res struct {
			Hits struct {
				Hits []struct {
					Source struct {
						Amount   int64     `json:"amount"`
						Currency string    `json:"currency"`
						Date     time.Time `json:"date"`
					} `json:"_source"`
					Sort []string `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := unmarshal(out, &res); err != nil {
			return nil, nil, fmt.Errorf("search: decode exact sums: %w", err)
		}
		for _, h := range res.Hits.Hits {
			src := h.Source
			// The index stores dates in milliseconds; bucket the same way.
			day := time.UnixMilli(src.Date.UnixMilli()).In(loc).Format(time.DateOnly)
			if perDay[day] == nil {
				perDay[day] = map[string]int64{}
			}
			if err := addExact(total, src.Currency, src.Amount); err != nil {
				return nil, nil, err
			}
			if err := addExact(perDay[day], src.Currency, src.Amount); err != nil {
				return nil, nil, err
			}
			if len(h.Sort) == 1 {
				after = h.Sort[0]
			}
		}
		if len(res.Hits.Hits) < exactSumPage {
			return total, perDay, nil
		}
	}
}

// addExact adds v to m[c], refusing a sum past int64.
func addExact(m map[string]int64, c string, v int64) error {
	sum, carry := bits.Add64(uint64(m[c]), uint64(v), 0)
	if carry != 0 || sum > math.MaxInt64 {
		return &domain.Error{Code: domain.EUNPROCESSABLE, Reason: "sum_out_of_range",
			Message: fmt.Sprintf("The sum of the %s payments exceeds %d minor units; narrow the filters.", c, int64(math.MaxInt64))}
	}
	m[c] = int64(sum)
	return nil
}
