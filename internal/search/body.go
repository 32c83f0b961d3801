package search

import (
	"encoding/json"
	"fmt"

	"github.com/bytedance/sonic"

	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/query"
)

// Engine request bodies. They are built from Go values on every request
// (no text templates to re-parse) and use only APIs that Elasticsearch 8
// and OpenSearch 2 share: bool/term/terms/range/multi_match, sort,
// search_after, track_total_hits and aggregations.

// sourcePayment asks the engine for each document's stored source without
// the event timeline: the payment documents hold the fields a query.Payment
// needs, the two sort longs id_hi and id_lo (internal/shapetest) and the
// timeline, which only GET /v1/payments/{id}/events returns. Leaving it out
// keeps responses lean (a settled payment has several events); the engine
// then parses and filters every source it returns, which an includes list
// would cost as well.
var sourcePayment = map[string]any{"excludes": []string{"events"}}

// textFields are searched by the free-text filter q.
var textFields = []string{"third_party", "description", "customer_name"}

// SearchPath returns the request path of a payment search for the index
// prefix, including the filter_path that trims the response to what the
// query API reads: POST it with SearchBody for the same answer the query
// API gets.
func SearchPath(prefix string) string {
	return "/" + projection.PaymentsAlias(prefix) + "/_search?filter_path=hits.total,hits.hits._source,hits.hits.sort"
}

// SearchBody returns the exact engine request body the query API sends for
// q (build q with query.Service.PlanSearch). Benchmarks send it raw to
// SearchPath to compare the API with the engine alone.
func SearchBody(q query.SearchQuery) ([]byte, error) {
	if !q.Sort.Valid() {
		return nil, fmt.Errorf("search: invalid sort %q", q.Sort)
	}
	order := "asc"
	if q.Sort.Desc() {
		order = "desc"
	}
	// track_total_hits: an exact count of every match makes the engine
	// visit them all and turns off its sort optimizations; counting up to
	// a limit lets it stop early and skip non-competitive segments.
	var trackTotal any = true
	if q.TotalLimit > 0 {
		trackTotal = q.TotalLimit
	}
	body := map[string]any{
		"size":             q.Size,
		"track_total_hits": trackTotal,
		"_source":          sourcePayment,
		"query":            boolQuery(q.Filter),
		// The id breaks ties, so every sort key is unique and search_after
		// neither repeats nor skips. It is compared as two longs
		// (projection.IDSortKey, in the id's own order): numeric doc values
		// sort much faster than a keyword.
		"sort": []any{
			map[string]any{q.Sort.Field(): map[string]any{"order": order}},
			map[string]any{"id_hi": map[string]any{"order": order}},
			map[string]any{"id_lo": map[string]any{"order": order}},
		},
	}
	if q.After != nil {
		hi, lo, err := projection.IDSortKey(q.After.ID)
		if err != nil {
			return nil, fmt.Errorf("search: cursor: %w", err)
		}
		body["search_after"] = []any{q.After.Value, hi, lo}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("search: encode search: %w", err)
	}
	return b, nil
}

// boolQuery translates a filter. Everything but free text is in filter
// context (cacheable, not scored). Free text goes through multi_match,
// which analyzes it as plain words: it can never become query syntax
// (unlike query_string). cross_fields with operator "and" requires every
// word in at least one of the fields.
func boolQuery(f query.Filter) map[string]any {
	filters := []any{}
	terms := func(field string, vals []string) {
		if len(vals) > 0 {
			filters = append(filters, map[string]any{"terms": map[string]any{field: vals}})
		}
	}
	terms("customer_id", f.CustomerIDs)
	terms("user_id", f.UserIDs)
	terms("executed_by.id", f.ExecutedBy)
	statuses := make([]string, len(f.Statuses))
	for i, s := range f.Statuses {
		statuses[i] = string(s)
	}
	terms("status", statuses)
	terms("currency", f.Currencies)
	terms("failure_code", f.FailureCodes)
	if f.PaymentRefID != "" {
		filters = append(filters, map[string]any{"term": map[string]any{"payment_ref_id": f.PaymentRefID}})
	}
	if f.From != nil || f.To != nil {
		// Epoch milliseconds: the index's precision, with nothing for the
		// engine to parse or round.
		r := map[string]any{"format": "epoch_millis"}
		if f.From != nil {
			r["gte"] = f.From.UnixMilli()
		}
		if f.To != nil {
			r["lt"] = f.To.UnixMilli()
		}
		filters = append(filters, map[string]any{"range": map[string]any{"date": r}})
	}
	if f.AmountMin != nil || f.AmountMax != nil {
		r := map[string]any{}
		if f.AmountMin != nil {
			r["gte"] = *f.AmountMin
		}
		if f.AmountMax != nil {
			r["lte"] = *f.AmountMax
		}
		filters = append(filters, map[string]any{"range": map[string]any{"amount": r}})
	}
	if f.Refunded != nil {
		if *f.Refunded {
			filters = append(filters, map[string]any{"range": map[string]any{"amount_refunded": map[string]any{"gt": 0}}})
		} else {
			filters = append(filters, map[string]any{"term": map[string]any{"amount_refunded": 0}})
		}
	}
	b := map[string]any{"filter": filters}
	if f.Text != "" {
		b["must"] = []any{map[string]any{"multi_match": map[string]any{
			"query":    f.Text,
			"type":     "cross_fields",
			"fields":   textFields,
			"operator": "and",
		}}}
	}
	return map[string]any{"bool": b}
}

// summaryBody aggregates count per status and per failure code, sum per currency and a per-day
// histogram in loc. Sums come back as doubles; Summarize checks each is
// exact (see exact) and recomputes the others.
func summaryBody(f query.Filter, zone string) ([]byte, error) {
	byCurrency := map[string]any{
		"terms": map[string]any{"field": "currency", "size": maxCurrencies},
		"aggs":  map[string]any{"sum": map[string]any{"sum": map[string]any{"field": "amount"}}},
	}
	// Days without payments are buckets too (min_doc_count 0): between the
	// first and the last payment, and across from..to when both are given.
	byDay := map[string]any{
		"field":             "date",
		"calendar_interval": "day",
		"time_zone":         zone,
		"format":            "yyyy-MM-dd",
		"min_doc_count":     0,
	}
	if first, last, ok := query.HistogramBounds(f); ok {
		byDay["extended_bounds"] = map[string]any{"min": first.UnixMilli(), "max": last.UnixMilli()}
	}
	body := map[string]any{
		"size":             0,
		"track_total_hits": true,
		"query":            boolQuery(f),
		"aggs": map[string]any{
			"by_currency": byCurrency,
			"by_status":   map[string]any{"terms": map[string]any{"field": "status", "size": maxStatuses}},
			// Payments without a failure code are not in any bucket.
			"by_failure_code": map[string]any{"terms": map[string]any{"field": "failure_code", "size": maxFailureCodes}},
			"by_day": map[string]any{
				"date_histogram": byDay,
				"aggs":           map[string]any{"by_currency": byCurrency},
			},
		},
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("search: encode summary: %w", err)
	}
	return b, nil
}

// streamBody pages through every payment matching f by id, reading only
// what an exact sum needs.
func streamBody(f query.Filter, size int, afterID string) ([]byte, error) {
	body := map[string]any{
		"size":             size,
		"track_total_hits": false,
		"_source":          []string{"amount", "currency", "date"},
		"query":            boolQuery(f),
		"sort":             []any{map[string]any{"id": map[string]any{"order": "asc"}}},
	}
	if afterID != "" {
		body["search_after"] = []any{afterID}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("search: encode stream: %w", err)
	}
	return b, nil
}

// unmarshal decodes the engine's responses. Search pages are the query
// API's hot path and decoding them with encoding/json was a quarter of its
// CPU; sonic (gin's optional codec), rejecting control characters in
// strings as encoding/json does, decodes a 50-hit page about four times
// faster (TestUnmarshalMatchesEncodingJSON). Decoded strings point into
// the response body instead of being copied (a dozen allocations per hit
// fewer): bodies are never reused, so the strings stay valid, and they keep
// the body alive only as long as they are used.
var unmarshal = sonic.Config{ValidateString: true}.Froze().Unmarshal
