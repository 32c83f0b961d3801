// The query API's side of the engine: query.Searcher with scoped payment
// searches, the callers' customers, exact summaries and the projector's
// applied position. It reads only the read-model contract of
// internal/projection.

package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/query"
)

const (
	maxCurrencies   = 500   // > the number of ISO 4217 codes
	maxStatuses     = 20    // > the number of statuses
	maxFailureCodes = 1000  // distinct failure codes in one summary
	customerPage    = 10000 // the engines' default max_result_window
	exactSumPage    = 5000
	maxErrorDetail  = 512
)

// Transport returns the HTTP transport for the query API's engine client:
// a connection pool sized for many concurrent searches and, unless
// compress is set, no gzip. Responses of a nearby engine are small;
// compressing and inflating them costs both sides CPU on every request
// (about a tenth of the query API's CPU in profiles). Pass it as
// Options.Transport.
func Transport(compress bool) *http.Transport {
	t := NewTransport()
	t.DisableCompression = !compress
	return t
}

// Searcher reads the read model. It is safe for concurrent use.
type Searcher struct {
	client  *Client
	prefix  string
	latency *prometheus.HistogramVec
}

var (
	_ query.Searcher  = (*Searcher)(nil)
	_ query.KeyFinder = (*Searcher)(nil)
)

// New returns a Searcher over the indices with the given prefix
// (INDEX_PREFIX). If reg is not nil, the latency of every engine request is
// observed in query_search_duration_seconds{operation}.
func New(c *Client, prefix string, reg prometheus.Registerer) *Searcher {
	s := &Searcher{client: c, prefix: prefix}
	if reg != nil {
		s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "query_search_duration_seconds",
			Help:    "Latency of search-engine requests made by the query API, by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"operation"})
		reg.MustRegister(s.latency)
	}
	return s
}

// do sends one engine request and returns the body of a 2xx answer. Engine
// outages, overload and timeouts become EUNAVAILABLE (503 with
// Retry-After); a missing index means the projector has not created the
// read model yet (also EUNAVAILABLE); anything else is an internal error.
func (s *Searcher) do(ctx context.Context, op, method, path string, body []byte, okStatus ...int) (int, []byte, error) {
	start := time.Now()
	var payload any
	if body != nil {
		payload = body
	}
	status, out, err := s.client.Do(ctx, method, path, payload)
	if s.latency != nil {
		s.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
	}
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return 0, nil, fmt.Errorf("search: %s: %w", op, err)
		}
		return 0, nil, &domain.Error{Code: domain.EUNAVAILABLE, RetryAfter: 1,
			Message: "The search engine is not answering; retry shortly."}
	}
	switch {
	case status >= 200 && status < 300:
		return status, out, nil
	case contains(okStatus, status):
		return status, out, nil
	case status == http.StatusNotFound && bytes.Contains(out, []byte("index_not_found_exception")):
		return status, nil, &domain.Error{Code: domain.EUNAVAILABLE, Reason: "read_model_unavailable", RetryAfter: 1,
			Message: "The read model has not been created yet; retry shortly."}
	case bytes.Contains(out, []byte("Unknown time-zone ID")):
		// A zone Go knows but the engine's Java does not (an old alias).
		return status, nil, &domain.Error{Code: domain.EINVALID, Message: "tz: the search engine does not know this time zone",
			Fields: []domain.FieldError{{Field: "tz", Message: "is not a time zone the search engine knows; use a canonical IANA name such as Europe/Copenhagen"}}}
	case bytes.Contains(out, []byte("too_many_buckets_exception")):
		return status, nil, &domain.Error{Code: domain.EUNPROCESSABLE, Reason: "too_many_buckets",
			Message: "The summary would have too many histogram buckets; narrow the date range or the currencies."}
	case status == http.StatusTooManyRequests || status >= 500:
		return status, nil, &domain.Error{Code: domain.EUNAVAILABLE, RetryAfter: 1,
			Message: "The search engine is overloaded or unavailable; retry shortly."}
	default:
		if len(out) > maxErrorDetail {
			out = out[:maxErrorDetail]
		}
		return status, nil, fmt.Errorf("search: %s: engine answered %d: %s", op, status, out)
	}
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// hitsResponse is the part of a search response we read.
type hitsResponse struct {
	Hits struct {
		Total struct {
			Value    int64  `json:"value"`
			Relation string `json:"relation"`
		} `json:"total"`
		Hits []struct {
			Source json.RawMessage   `json:"_source"`
			Sort   []json.RawMessage `json:"sort"`
		} `json:"hits"`
	} `json:"hits"`
}

// paymentHits is a search response decoded in one pass, straight into
// documents (no second parse of raw _source). The sort values of payment
// searches are all longs (SearchBody).
type paymentHits struct {
	Hits struct {
		Total struct {
			Value    int64  `json:"value"`
			Relation string `json:"relation"`
		} `json:"total"`
		Hits []paymentHit `json:"hits"`
	} `json:"hits"`
}

type paymentHit struct {
	Source projection.PaymentDoc `json:"_source"`
	Sort   []int64               `json:"sort"`
}

// Search implements query.Searcher.
func (s *Searcher) Search(ctx context.Context, q query.SearchQuery) (query.SearchResult, error) {
	body, err := SearchBody(q)
	if err != nil {
		return query.SearchResult{}, err
	}
	_, out, err := s.do(ctx, "search", http.MethodPost, SearchPath(s.prefix), body)
	if err != nil {
		return query.SearchResult{}, err
	}
	return decodeSearch(out, q.Size)
}

// decodeSearch reads a payment search response of at most size hits.
func decodeSearch(out []byte, size int) (query.SearchResult, error) {
	var res paymentHits
	res.Hits.Hits = make([]paymentHit, 0, size) // decoded in place, not grown hit by hit
	if err := unmarshal(out, &res); err != nil {
		return query.SearchResult{}, fmt.Errorf("search: decode search: %w", err)
	}
	// "eq": an exact count; "gte": the engine stopped counting at the
	// query's TotalLimit and the value is a lower bound.
	var exact bool
	switch res.Hits.Total.Relation {
	case "eq":
		exact = true
	case "gte":
	default:
		return query.SearchResult{}, fmt.Errorf("search: search: unknown total relation %q", res.Hits.Total.Relation)
	}
	ps := make([]query.Payment, len(res.Hits.Hits))
	for i, h := range res.Hits.Hits {
		var err error
		ps[i].PaymentView = h.Source.PaymentView
		if ps[i].Key, err = decodeSortKey(h.Sort, h.Source.ID); err != nil {
			return query.SearchResult{}, err
		}
	}
	return query.SearchResult{Payments: ps, Total: res.Hits.Total.Value, TotalExact: exact}, nil
}

// decodeSortKey reads the key of the hit with id from the sort values the
// engine returns, [value, id_hi, id_lo]: the value is a long (epoch
// milliseconds for date, minor units for amount); id_hi and id_lo must be
// id's (projection.IDSortKey).
func decodeSortKey(vals []int64, id string) (query.SortKey, error) {
	if len(vals) != 3 {
		return query.SortKey{}, fmt.Errorf("search: sort values %d, want 3", len(vals))
	}
	hi, lo, err := projection.IDSortKey(id)
	if err != nil || hi != vals[1] || lo != vals[2] {
		return query.SortKey{}, fmt.Errorf("search: document %q carries the sort key of another id (%d, %d)", id, vals[1], vals[2])
	}
	return query.SortKey{Value: vals[0], ID: id}, nil
}

// Payment implements query.Searcher. It searches (rather than GETs by _id)
// so that it sees exactly what searches see and needs no assumption about
// document ids.
func (s *Searcher) Payment(ctx context.Context, id string, customerIDs []string) (query.Payment, bool, error) {
	body, err := json.Marshal(map[string]any{
		"size":             1,
		"track_total_hits": false,
		"_source":          sourcePayment,
		"query":            byIDInScope(id, customerIDs),
	})
	if err != nil {
		return query.Payment{}, false, fmt.Errorf("search: encode payment: %w", err)
	}
	_, out, err := s.do(ctx, "payment", http.MethodPost, "/"+projection.PaymentsAlias(s.prefix)+"/_search?filter_path=hits.hits._source", body)
	if err != nil {
		return query.Payment{}, false, err
	}
	var res paymentHits
	if err := unmarshal(out, &res); err != nil {
		return query.Payment{}, false, fmt.Errorf("search: decode payment: %w", err)
	}
	if len(res.Hits.Hits) == 0 {
		return query.Payment{}, false, nil
	}
	return query.Payment{PaymentView: res.Hits.Hits[0].Source.PaymentView}, true, nil
}

// byIDInScope matches the payment with id if its customer is one of
// customerIDs.
func byIDInScope(id string, customerIDs []string) map[string]any {
	return map[string]any{"bool": map[string]any{"filter": []any{
		map[string]any{"term": map[string]any{"id": id}},
		map[string]any{"terms": map[string]any{"customer_id": customerIDs}},
	}}}
}

// Events implements query.Searcher: the same scoped search as Payment,
// fetching only the document's timeline.
func (s *Searcher) Events(ctx context.Context, id string, customerIDs []string) ([]domain.PaymentEvent, bool, error) {
	body, err := json.Marshal(map[string]any{
		"size":             1,
		"track_total_hits": false,
		"_source":          []string{"events"},
		"query":            byIDInScope(id, customerIDs),
	})
	if err != nil {
		return nil, false, fmt.Errorf("search: encode events: %w", err)
	}
	_, out, err := s.do(ctx, "events", http.MethodPost, "/"+projection.PaymentsAlias(s.prefix)+"/_search?filter_path=hits.hits._source", body)
	if err != nil {
		return nil, false, err
	}
	var res struct {
		Hits struct {
			Hits []struct {
				Source struct {
					Events []projection.EventDoc `json:"events"`
				} `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := unmarshal(out, &res); err != nil {
		return nil, false, fmt.Errorf("search: decode events: %w", err)
	}
	if len(res.Hits.Hits) == 0 {
		return nil, false, nil
	}
	docs := res.Hits.Hits[0].Source.Events
	evs := make([]domain.PaymentEvent, len(docs))
	for i, e := range docs {
		evs[i] = e.PaymentEvent(id)
	}
	return evs, true, nil
}

// LinkedCustomerIDs implements query.Searcher with one small search on
// the customers index (paged by id for users with very many customers).
func (s *Searcher) LinkedCustomerIDs(ctx context.Context, userID string) ([]string, error) {
	var ids []string
	err := s.linked(ctx, "scope", map[string]any{"term": map[string]any{"user_ids": userID}}, []string{"id"}, func(d projection.CustomerDoc) {
		ids = append(ids, d.ID)
	})
	return ids, err
}

// customerFields are what the customers list reads of an access document
// (never its API keys).
var customerFields = []string{"id", "name", "email", "users"}

// LinkedCustomers implements query.Searcher.
func (s *Searcher) LinkedCustomers(ctx context.Context, userID string) ([]query.Customer, error) {
	cs := []query.Customer{}
	err := s.linked(ctx, "customers", map[string]any{"term": map[string]any{"user_ids": userID}}, customerFields, func(d projection.CustomerDoc) {
		cs = append(cs, customer(d))
	})
	return cs, err
}

// CustomersByID implements query.Searcher.
func (s *Searcher) CustomersByID(ctx context.Context, ids []string) ([]query.Customer, error) {
	cs := []query.Customer{}
	if len(ids) == 0 {
		return cs, nil
	}
	err := s.linked(ctx, "customers", map[string]any{"terms": map[string]any{"id": ids}}, customerFields, func(d projection.CustomerDoc) {
		cs = append(cs, customer(d))
	})
	return cs, err
}

func customer(d projection.CustomerDoc) query.Customer {
	c := query.Customer{ID: d.ID, Name: d.Name, Email: d.Email, Users: make([]query.User, len(d.Users))}
	for i, u := range d.Users {
		c.Users[i] = query.User{ID: u.ID, Name: u.Name, Email: u.Email}
	}
	return c
}

// APIKey implements query.KeyFinder: the live API key with prefix, from
// the access document of its customer (one small search of the indexed
// api_keys.prefix); found is false when no customer has it (unknown or
// revoked).
func (s *Searcher) APIKey(ctx context.Context, prefix string) (key query.StoredKey, found bool, err error) {
	body, err := json.Marshal(map[string]any{
		"size":             2,
		"track_total_hits": false,
		"_source":          []string{"id", "api_keys"},
		"query":            map[string]any{"bool": map[string]any{"filter": []any{map[string]any{"term": map[string]any{"api_keys.prefix": prefix}}}}},
	})
	if err != nil {
		return query.StoredKey{}, false, fmt.Errorf("search: encode api key: %w", err)
	}
	_, out, err := s.do(ctx, "api_key", http.MethodPost, "/"+projection.CustomersAlias(s.prefix)+"/_search?filter_path=hits.hits._source", body)
	if err != nil {
		return query.StoredKey{}, false, err
	}
	var res struct {
		Hits struct {
			Hits []struct {
				Source projection.CustomerDoc `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := unmarshal(out, &res); err != nil {
		return query.StoredKey{}, false, fmt.Errorf("search: decode api key: %w", err)
	}
	for _, h := range res.Hits.Hits {
		for _, k := range h.Source.APIKeys {
			if k.Prefix == prefix {
				return query.StoredKey{ID: k.ID, Name: k.Name, CustomerID: h.Source.ID, Hash: k.Hash, Scopes: k.Scopes}, true, nil
			}
		}
	}
	return query.StoredKey{}, false, nil
}

// linked walks the access documents matching clause in id order, paged.
func (s *Searcher) linked(ctx context.Context, op string, clause map[string]any, fields []string, each func(projection.CustomerDoc)) error {
	after := ""
	for {
		req := map[string]any{
			"size":             customerPage,
			"track_total_hits": false,
			"_source":          fields,
			"query":            map[string]any{"bool": map[string]any{"filter": []any{clause}}},
			"sort":             []any{map[string]any{"id": map[string]any{"order": "asc"}}},
		}
		if after != "" {
			req["search_after"] = []any{after}
		}
		body, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("search: encode %s: %w", op, err)
		}
		_, out, err := s.do(ctx, op, http.MethodPost, "/"+projection.CustomersAlias(s.prefix)+"/_search?filter_path=hits.hits._source", body)
		if err != nil {
			return err
		}
		var res hitsResponse
		if err := unmarshal(out, &res); err != nil {
			return fmt.Errorf("search: decode %s: %w", op, err)
		}
		for _, h := range res.Hits.Hits {
			var d projection.CustomerDoc
			if err := unmarshal(h.Source, &d); err != nil {
				return fmt.Errorf("search: decode customer: %w", err)
			}
			each(d)
			after = d.ID
		}
		if len(res.Hits.Hits) < customerPage {
			return nil
		}
	}
}

// AppliedLSN implements query.Searcher with a realtime GET of the state
// document; a missing index or document means nothing is applied yet.
func (s *Searcher) AppliedLSN(ctx context.Context) (uint64, error) {
	path := "/" + projection.StateIndex(s.prefix) + "/_doc/" + projection.StateDocID + "?_source=applied_lsn"
	status, out, err := s.do(ctx, "applied_lsn", http.MethodGet, path, nil, http.StatusNotFound)
	if err != nil {
		return 0, err
	}
	if status == http.StatusNotFound {
		return 0, nil
	}
	var res struct {
		Found  bool `json:"found"`
		Source struct {
			AppliedLSN json.Number `json:"applied_lsn"`
		} `json:"_source"`
	}
	if err := unmarshal(out, &res); err != nil {
		return 0, fmt.Errorf("search: decode state: %w", err)
	}
	if !res.Found || res.Source.AppliedLSN == "" {
		return 0, nil
	}
	lsn, err := strconv.ParseUint(res.Source.AppliedLSN.String(), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("search: state applied_lsn %q: %w", res.Source.AppliedLSN, err)
	}
	return lsn, nil
}
