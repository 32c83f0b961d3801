// The reconciler's side of the engine (projection.ReconcileIndex): the
// count and fingerprint sum of id ranges, their documents' fingerprints
// and versions, and deletes that ignore versions. Ranges filter the id
// keyword, which is indexed; the fingerprint is read from doc values only,
// so no source is loaded or parsed.

package search

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

var _ projection.ReconcileIndex = (*Writer)(nil)

// idRange is the query matching the ids of r.
func idRange(r projection.IDRange) map[string]any {
	bounds := map[string]any{}
	if r.After != "" {
		bounds["gt"] = r.After
	}
	if r.Last != "" {
		bounds["lte"] = r.Last
	}
	if len(bounds) == 0 {
		return map[string]any{"match_all": map[string]any{}}
	}
	return map[string]any{"range": map[string]any{"id": bounds}}
}

// Sums implements projection.ReconcileIndex: one filters aggregation, a
// bucket per range, each with the sum of fp.
func (w *Writer) Sums(ctx context.Context, alias string, ranges []projection.IDRange) ([]projection.BucketSum, error) {
	filters := make([]any, len(ranges))
	for i, r := range ranges {
		filters[i] = idRange(r)
	}
	body := map[string]any{"size": 0, "track_total_hits": false, "aggs": map[string]any{"b": map[string]any{
		"filters": map[string]any{"filters": filters},
		"aggs":    map[string]any{"fp": map[string]any{"sum": map[string]any{"field": projection.FingerprintField}}},
	}}}
	var res struct {
		Aggregations struct {
			B struct {
				Buckets []struct {
					DocCount int64 `json:"doc_count"`
					FP       struct {
						Value float64 `json:"value"`
					} `json:"fp"`
				} `json:"buckets"`
			} `json:"b"`
		} `json:"aggregations"`
	}
	if err := w.search(ctx, alias, "filter_path=aggregations.b.buckets.doc_count,aggregations.b.buckets.fp", body, &res); err != nil {
		return nil, err
	}
	out := make([]projection.BucketSum, len(res.Aggregations.B.Buckets))
	for i, b := range res.Aggregations.B.Buckets {
		// Exact: fingerprints are below 2^31 and a bucket far below 2^22
		// documents, so the double sum is below 2^53.
		out[i] = projection.BucketSum{Count: b.DocCount, Sum: int64(math.Round(b.FP.Value))}
	}
	return out, nil
}

// reconcilePage is the most hits per request of Docs.
const reconcilePage = 5000

// Docs implements projection.ReconcileIndex: pages of ids, fp from doc
// values and versions, sorted by id (search_after).
func (w *Writer) Docs(ctx context.Context, alias string, r projection.IDRange) ([]projection.IndexedDoc, error) {
	var out []projection.IndexedDoc
	var after []any
	for {
		body := docsBody(idRange(r), reconcilePage)
		body["sort"] = []any{map[string]any{"id": "asc"}}
		if after != nil {
			body["search_after"] = after
		}
		page, last, err := w.docs(ctx, alias, body)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < reconcilePage {
			return out, nil
		}
		after = last
	}
}

// DocsByID implements projection.ReconcileIndex.
func (w *Writer) DocsByID(ctx context.Context, alias string, ids []string) ([]projection.IndexedDoc, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	docs, _, err := w.docs(ctx, alias, docsBody(map[string]any{"ids": map[string]any{"values": ids}}, len(ids)))
	return docs, err
}

func docsBody(query map[string]any, size int) map[string]any {
	return map[string]any{"query": query, "size": size, "_source": false, "version": true, "track_total_hits": false,
		"docvalue_fields": []string{projection.FingerprintField}}
}

// docs runs one search built by docsBody; it returns the hits and the sort
// values of the last.
func (w *Writer) docs(ctx context.Context, alias string, body map[string]any) ([]projection.IndexedDoc, []any, error) {
	var res struct {
		Hits struct {
			Hits []struct {
				ID      string             `json:"_id"`
				Version int64              `json:"_version"`
				Fields  map[string][]int64 `json:"fields"`
				Sort    []any              `json:"sort"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := w.search(ctx, alias, "filter_path=hits.hits._id,hits.hits._version,hits.hits.fields,hits.hits.sort", body, &res); err != nil {
		return nil, nil, err
	}
	out := make([]projection.IndexedDoc, len(res.Hits.Hits))
	var last []any
	for i, h := range res.Hits.Hits {
		d := projection.IndexedDoc{ID: h.ID, Version: uint64(max(h.Version, 0))}
		if fp := h.Fields[projection.FingerprintField]; len(fp) > 0 {
			d.FP, d.HasFP = fp[0], true
		}
		out[i], last = d, h.Sort
	}
	return out, last, nil
}

func (w *Writer) search(ctx context.Context, alias, filter string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("search: encode reconcile search: %w", err)
	}
	status, resp, err := w.Client.DoRaw(ctx, http.MethodPost, "/"+alias+"/_search?"+filter, "application/json", raw)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("search: reconcile search %s: HTTP %d: %s", alias, status, truncate(resp))
	}
	if err := json.Unmarshal(resp, out); err != nil {
		return fmt.Errorf("search: reconcile search %s: %w", alias, err)
	}
	return nil
}

// DeleteUnversioned implements projection.ReconcileIndex: deletes without
// a version, which the engine applies whatever version the document has,
// then a refresh.
func (w *Writer) DeleteUnversioned(ctx context.Context, alias string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, id := range ids {
		if err := enc.Encode(map[string]any{"delete": map[string]string{"_index": alias, "_id": id}}); err != nil {
			return fmt.Errorf("search: encode delete: %w", err)
		}
	}
	status, resp, err := w.Client.DoRaw(ctx, http.MethodPost, "/_bulk?require_alias=true&filter_path=errors,items.*.status,items.*.error.reason",
		"application/x-ndjson", buf.Bytes())
	if err != nil {
		return err
	}
	var res struct {
		Errors bool `json:"errors"`
	}
	if status != http.StatusOK || json.Unmarshal(resp, &res) != nil || res.Errors {
		return fmt.Errorf("search: delete %d document(s) of %s: HTTP %s: %s", len(ids), alias, strconv.Itoa(status), truncate(resp))
	}
	return w.expect(ctx, http.MethodPost, "/"+alias+"/_refresh", nil, http.StatusOK)
}
