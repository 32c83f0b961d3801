// The projector's side of the engine: versioned indices behind the
// read-model aliases, bulk writes with external versions (the commit LSN),
// refresh, the published applied position, and the alias swap that
// completes a backfill.

package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

// Writer writes the read model. It is safe for concurrent use.
type Writer struct {
	Client *Client
	Prefix string
	// WaitFor makes bulk requests wait for the next scheduled refresh
	// (refresh=wait_for) instead of Refresh forcing one.
	WaitFor bool
	// ObserveBulk, if set, receives the duration and size of every bulk
	// request.
	ObserveBulk func(d time.Duration, docs int)
}

var _ projection.IndexWriter = (*Writer)(nil)

// Bulk implements projection.Index: ops address the aliases and fail with
// ItemMissingIndex when an alias does not exist (require_alias), so a
// deleted index is never recreated with a dynamic mapping.
func (w *Writer) Bulk(ctx context.Context, ops []projection.IndexOp) ([]projection.ItemResult, error) {
	q := "require_alias=true"
	if w.WaitFor {
		q += "&refresh=wait_for"
	}
	return w.bulk(ctx, ops, q)
}

// BulkDirect writes ops to concrete indices (a backfill into indices that
// are not behind the aliases yet).
func (w *Writer) BulkDirect(ctx context.Context, ops []projection.IndexOp) ([]projection.ItemResult, error) {
	return w.bulk(ctx, ops, "")
}

type action struct {
	Index       string `json:"_index"`
	ID          string `json:"_id"`
	Version     uint64 `json:"version"`
	VersionType string `json:"version_type"`
}

func (w *Writer) bulk(ctx context.Context, ops []projection.IndexOp, query string) ([]projection.ItemResult, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	body, err := bulkBody(ops)
	if err != nil {
		return nil, err
	}
	// Only what classify needs: the full response of a large bulk costs the
	// engine noticeably more to render.
	path := "/_bulk?filter_path=items.*.status,items.*.error.type,items.*.error.reason"
	if query != "" {
		path += "&" + query
	}
	start := time.Now()
	status, resp, err := w.Client.DoRaw(ctx, http.MethodPost, path, "application/x-ndjson", body)
	if err != nil {
		return nil, err
	}
	if w.ObserveBulk != nil {
		w.ObserveBulk(time.Since(start), len(ops))
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("search: bulk: HTTP %d: %s", status, truncate(resp))
	}
	return bulkResults(resp, len(ops))
}

// bulkBody renders ops as a _bulk request: an action line per op, then the
// document of an index op.
func bulkBody(ops []projection.IndexOp) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, op := range ops {
		kind := "index"
		if op.Doc == nil {
			kind = "delete"
		}
		if err := enc.Encode(map[string]action{kind: {Index: op.Index, ID: op.ID, Version: op.Version, VersionType: "external"}}); err != nil {
			return nil, fmt.Errorf("search: encode bulk: %w", err)
		}
		if op.Doc != nil {
			buf.Write(op.Doc)
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes(), nil
}

// bulkResults classifies each of the n items of a _bulk response.
func bulkResults(body []byte, n int) ([]projection.ItemResult, error) {
	var res struct {
		Items []map[string]struct {
			Status int    `json:"status"`
			Result string `json:"result"`
			Error  *struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"error"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("search: bulk: decode response: %w", err)
	}
	if len(res.Items) != n {
		return nil, fmt.Errorf("search: bulk: %d items answered for %d sent", len(res.Items), n)
	}
	out := make([]projection.ItemResult, n)
	for i, item := range res.Items {
		for _, r := range item {
			msg := ""
			if r.Error != nil {
				msg = r.Error.Type + ": " + r.Error.Reason
			}
			out[i] = projection.ItemResult{Status: classify(r.Status, r.Error != nil, msg), Error: msg}
		}
	}
	return out, nil
}

func classify(status int, hasErr bool, msg string) projection.ItemStatus {
	switch {
	case status >= 200 && status < 300:
		return projection.ItemApplied
	case status == http.StatusNotFound && !hasErr:
		return projection.ItemApplied // delete of a document that is not there
	case status == http.StatusConflict:
		return projection.ItemConflict
	case status == http.StatusNotFound && strings.HasPrefix(msg, "index_not_found_exception"):
		return projection.ItemMissingIndex
	case status == http.StatusTooManyRequests || status >= 500:
		return projection.ItemRetry
	case strings.HasPrefix(msg, "cluster_block_exception"):
		// A read-only block (disk flood stage, maintenance) affects every
		// document alike: wait for it to lift rather than dead-letter all.
		return projection.ItemRetry
	}
	return projection.ItemFailed
}

// Refresh implements projection.Index.
func (w *Writer) Refresh(ctx context.Context, aliases []string) error {
	if w.WaitFor || len(aliases) == 0 {
		return nil
	}
	return w.expect(ctx, http.MethodPost, "/"+strings.Join(aliases, ",")+"/_refresh", nil, http.StatusOK)
}

// PublishState implements projection.Index. The state document is written
// with the applied LSN as external version, so a stale projector can never
// move it backwards (its conflict is ignored).
func (w *Writer) PublishState(ctx context.Context, st projection.StateDoc) error {
	body, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("search: encode state: %w", err)
	}
	path := fmt.Sprintf("/%s/_doc/%s?version=%d&version_type=external", projection.StateIndex(w.Prefix), projection.StateDocID, st.AppliedLSN)
	status, resp, err := w.Client.DoRaw(ctx, http.MethodPut, path, "application/json", body)
	if err != nil {
		return err
	}
	if status == http.StatusOK || status == http.StatusCreated || status == http.StatusConflict {
		return nil
	}
	return fmt.Errorf("search: publish state: HTTP %d: %s", status, truncate(resp))
}

// State returns the published state, or ok=false when there is none.
func (w *Writer) State(ctx context.Context) (st projection.StateDoc, ok bool, err error) {
	status, body, err := w.Client.DoRaw(ctx, http.MethodGet, "/"+projection.StateIndex(w.Prefix)+"/_doc/"+projection.StateDocID, "", nil)
	if err != nil {
		return st, false, err
	}
	if status == http.StatusNotFound {
		return st, false, nil
	}
	if status != http.StatusOK {
		return st, false, fmt.Errorf("search: get state: HTTP %d: %s", status, truncate(body))
	}
	var doc struct {
		Source projection.StateDoc `json:"_source"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return st, false, fmt.Errorf("search: get state: %w", err)
	}
	return doc.Source, true, nil
}

// EnsureStateIndex creates the state index when it does not exist.
func (w *Writer) EnsureStateIndex(ctx context.Context) error {
	return w.createIndex(ctx, projection.StateIndex(w.Prefix), []byte(projection.StateMapping))
}

// Current returns the concrete indices behind the payments and customers
// aliases ("" where an alias does not exist).
func (w *Writer) Current(ctx context.Context) (payments, customers string, err error) {
	if payments, _, err = w.behind(ctx, projection.PaymentsAlias(w.Prefix)); err != nil {
		return "", "", err
	}
	if customers, _, err = w.behind(ctx, projection.CustomersAlias(w.Prefix)); err != nil {
		return "", "", err
	}
	return payments, customers, nil
}

// behind returns the index an alias points to (the first, sorted), and
// whether name is a concrete index rather than an alias.
func (w *Writer) behind(ctx context.Context, name string) (string, bool, error) {
	status, body, err := w.Client.DoRaw(ctx, http.MethodGet, "/"+name+"/_alias", "", nil)
	if err != nil {
		return "", false, err
	}
	if status == http.StatusNotFound {
		return "", false, nil
	}
	if status != http.StatusOK {
		return "", false, fmt.Errorf("search: get alias %s: HTTP %d: %s", name, status, truncate(body))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return "", false, fmt.Errorf("search: get alias %s: %w", name, err)
	}
	if _, concrete := m[name]; concrete {
		return "", true, nil
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "", false, nil
	}
	return names[0], false, nil
}

// NewGeneration creates empty payments and customers indices named after
// suffix (the slot's consistent point), with the contract's mappings and
// refreshes disabled and an asynchronous translog for the bulk load
// (Activate restores both and flushes). Left-over indices of earlier,
// unfinished backfills (not behind an alias) are deleted first.
func (w *Writer) NewGeneration(ctx context.Context, suffix string) (projection.Generation, error) {
	if err := w.deleteLeftovers(ctx); err != nil {
		return projection.Generation{}, err
	}
	g := projection.Generation{
		Payments:  fmt.Sprintf("%s_%s_%s", projection.PaymentsAlias(w.Prefix), projection.MappingVersion, suffix),
		Customers: fmt.Sprintf("%s_%s_%s", projection.CustomersAlias(w.Prefix), projection.MappingVersion, suffix),
	}
	// Index creation waits for the shard to start; create both at once.
	errs := make(chan error, 2)
	for _, ix := range []struct{ name, mapping string }{{g.Payments, projection.PaymentsMapping}, {g.Customers, projection.CustomersMapping}} {
		go func() {
			// gc_deletes: a generation built beside the stream (rebuild.go)
			// receives the stream's deletes before the copy reaches their
			// documents; their tombstones must outlive the copy.
			body, err := withSettings(ix.mapping, map[string]any{"refresh_interval": "-1", "translog.durability": "async", "gc_deletes": "12h"})
			if err == nil {
				err = w.createIndex(ctx, ix.name, body)
			}
			errs <- err
		}()
	}
	return g, errors.Join(<-errs, <-errs)
}

func (w *Writer) deleteLeftovers(ctx context.Context) error {
	pay, cust, err := w.Current(ctx)
	if err != nil {
		return err
	}
	pattern := fmt.Sprintf("%s_%s_*,%s_%s_*", projection.PaymentsAlias(w.Prefix), projection.MappingVersion,
		projection.CustomersAlias(w.Prefix), projection.MappingVersion)
	status, body, err := w.Client.DoRaw(ctx, http.MethodGet, "/_cat/indices/"+pattern+"?format=json&h=index&expand_wildcards=all", "", nil)
	if err != nil {
		return err
	}
	if status == http.StatusNotFound {
		return nil
	}
	if status != http.StatusOK {
		return fmt.Errorf("search: list indices: HTTP %d: %s", status, truncate(body))
	}
	var rows []struct {
		Index string `json:"index"`
	}
	if err := json.Unmarshal(body, &rows); err != nil {
		return fmt.Errorf("search: list indices: %w", err)
	}
	var stale []string
	for _, r := range rows {
		if r.Index != pay && r.Index != cust {
			stale = append(stale, r.Index)
		}
	}
	return w.deleteIndices(ctx, stale)
}

func (w *Writer) deleteIndices(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	status, body, err := w.Client.DoRaw(ctx, http.MethodDelete, "/"+strings.Join(names, ","), "", nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK && status != http.StatusNotFound {
		return fmt.Errorf("search: delete %v: HTTP %d: %s", names, status, truncate(body))
	}
	return nil
}

// Segments returns the searchable segments of index (an alias or a
// concrete index) that hold live documents. Segments a merge has replaced
// but the reader still lists, and emptied ones, are not counted.
func (w *Writer) Segments(ctx context.Context, index string) (projection.SegmentStats, error) {
	status, body, err := w.Client.DoRaw(ctx, http.MethodGet,
		"/_cat/segments/"+index+"?format=json&bytes=b&h=docs.count,size,searchable", "", nil)
	if err != nil {
		return projection.SegmentStats{}, err
	}
	if status != http.StatusOK {
		return projection.SegmentStats{}, fmt.Errorf("search: segments of %s: HTTP %d: %s", index, status, truncate(body))
	}
	var rows []struct {
		Docs       string `json:"docs.count"`
		Size       string `json:"size"`
		Searchable string `json:"searchable"`
	}
	if err := json.Unmarshal(body, &rows); err != nil {
		return projection.SegmentStats{}, fmt.Errorf("search: segments of %s: %w", index, err)
	}
	var st projection.SegmentStats
	for _, r := range rows {
		if r.Searchable != "true" || r.Docs == "0" {
			continue
		}
		size, err := strconv.ParseInt(r.Size, 10, 64)
		if err != nil {
			return projection.SegmentStats{}, fmt.Errorf("search: segments of %s: size %q: %w", index, r.Size, err)
		}
		st.Live++
		st.Bytes += size
	}
	return st, nil
}

// ForceMerge merges index down to at most maxSegments segments and
// returns when the engine has done so.
func (w *Writer) ForceMerge(ctx context.Context, index string, maxSegments int) error {
	return w.expect(ctx, http.MethodPost, fmt.Sprintf("/%s/_forcemerge?max_num_segments=%d", index, maxSegments), nil, http.StatusOK)
}

// Activate makes g live: Settle, then Swap.
func (w *Writer) Activate(ctx context.Context, g projection.Generation) error {
	if err := w.Settle(ctx, g); err != nil {
		return err
	}
	return w.Swap(ctx, g)
}

// Settle gives a generation built for a backfill the contract's settings:
// the refresh interval, a durable translog (flushed, so the async one is on
// disk before the backfill is recorded as complete) and the default
// gc_deletes; then refreshes it.
func (w *Writer) Settle(ctx context.Context, g projection.Generation) error {
	both := g.Payments + "," + g.Customers
	var settings struct {
		Settings struct {
			RefreshInterval string `json:"refresh_interval"`
		} `json:"settings"`
	}
	if err := json.Unmarshal([]byte(projection.PaymentsMapping), &settings); err != nil {
		return fmt.Errorf("search: mapping: %w", err)
	}
	if err := w.expect(ctx, http.MethodPut, "/"+both+"/_settings", map[string]any{"index": map[string]any{
		"refresh_interval": settings.Settings.RefreshInterval, "translog.durability": "request", "gc_deletes": nil}}, http.StatusOK); err != nil {
		return err
	}
	if err := w.expect(ctx, http.MethodPost, "/"+both+"/_flush", nil, http.StatusOK); err != nil {
		return err
	}
	return w.expect(ctx, http.MethodPost, "/"+both+"/_refresh", nil, http.StatusOK)
}

// Relax lets indices of an older mapping version accept documents with
// fields their strict mapping does not know (kept in the source, not
// indexed), so that they keep receiving changes while a rebuild builds the
// new version beside them.
func (w *Writer) Relax(ctx context.Context, indices ...string) error {
	return w.expect(ctx, http.MethodPut, "/"+strings.Join(indices, ",")+"/_mapping", map[string]any{"dynamic": false}, http.StatusOK)
}

// Swap moves both aliases to g in one atomic request and deletes the
// indices that were behind them before.
func (w *Writer) Swap(ctx context.Context, g projection.Generation) error {
	var actions []map[string]any
	var old []string
	for _, p := range []struct{ alias, index string }{
		{projection.PaymentsAlias(w.Prefix), g.Payments},
		{projection.CustomersAlias(w.Prefix), g.Customers},
	} {
		prev, concrete, err := w.behind(ctx, p.alias)
		if err != nil {
			return err
		}
		switch {
		case concrete:
			actions = append(actions, map[string]any{"remove_index": map[string]any{"index": p.alias}})
		case prev != "" && prev != p.index:
			actions = append(actions, map[string]any{"remove": map[string]any{"index": prev, "alias": p.alias}})
			old = append(old, prev)
		}
		actions = append(actions, map[string]any{"add": map[string]any{"index": p.index, "alias": p.alias}})
	}
	if err := w.expect(ctx, http.MethodPost, "/_aliases", map[string]any{"actions": actions}, http.StatusOK); err != nil {
		return err
	}
	return w.deleteIndices(ctx, old)
}

// DeleteAll deletes the aliases' indices, the state index and left-overs
// (tests and resets).
func (w *Writer) DeleteAll(ctx context.Context) error {
	pay, cust, err := w.Current(ctx)
	if err != nil {
		return err
	}
	if err := w.deleteLeftovers(ctx); err != nil {
		return err
	}
	var names []string
	for _, n := range []string{pay, cust} {
		if n != "" {
			names = append(names, n)
		}
	}
	return w.deleteIndices(ctx, append(names, projection.StateIndex(w.Prefix)))
}

func withSettings(mapping string, set map[string]any) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(mapping), &m); err != nil {
		return nil, fmt.Errorf("search: mapping: %w", err)
	}
	settings, _ := m["settings"].(map[string]any)
	if settings == nil {
		settings = map[string]any{}
		m["settings"] = settings
	}
	for k, v := range set {
		settings[k] = v
	}
	return json.Marshal(m)
}

func (w *Writer) createIndex(ctx context.Context, name string, body []byte) error {
	status, resp, err := w.Client.DoRaw(ctx, http.MethodPut, "/"+name, "application/json", body)
	if err != nil {
		return err
	}
	if status == http.StatusOK {
		return nil
	}
	if status == http.StatusBadRequest && bytes.Contains(resp, []byte("resource_already_exists_exception")) {
		return nil
	}
	return fmt.Errorf("search: create index %s: HTTP %d: %s", name, status, truncate(resp))
}

func (w *Writer) expect(ctx context.Context, method, path string, body any, want int) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return fmt.Errorf("search: encode %s %s: %w", method, path, err)
		}
	}
	status, resp, err := w.Client.DoRaw(ctx, method, path, "application/json", raw)
	if err != nil {
		return err
	}
	if status != want {
		return fmt.Errorf("search: %s %s: HTTP %d: %s", method, path, status, truncate(resp))
	}
	return nil
}

func truncate(b []byte) string {
	const max = 512
	if len(b) > max {
		return string(b[:max]) + "…(" + strconv.Itoa(len(b)) + " bytes)"
	}
	return string(b)
}

// ProjectorEngine is the projector's port to the search engine (projection.Engine).
// It opens the client on first use, so a projector can start before the
// engine answers, and keeps it. It is safe for concurrent use.
type ProjectorEngine struct {
	URL    string // credentials as for Open: basic auth in the userinfo
	APIKey string // or an API key (Options.APIKey)
	Prefix string
	// OnOpen, when set, is told which engine answered the first time.
	OnOpen func(Engine)

	mu     sync.Mutex
	client *Client
}

var _ projection.Engine = (*ProjectorEngine)(nil)

func (e *ProjectorEngine) open(ctx context.Context) (*Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client != nil {
		return e.client, nil
	}
	c, err := Open(ctx, e.URL, Options{APIKey: e.APIKey})
	if err != nil {
		return nil, err
	}
	if e.OnOpen != nil {
		e.OnOpen(c.Engine)
	}
	e.client = c
	return c, nil
}

// Writer implements projection.Engine.
func (e *ProjectorEngine) Writer(ctx context.Context, opts projection.WriterOptions) (projection.IndexWriter, error) {
	c, err := e.open(ctx)
	if err != nil {
		return nil, err
	}
	return &Writer{Client: c, Prefix: e.Prefix, WaitFor: opts.WaitFor, ObserveBulk: opts.ObserveBulk}, nil
}

// Health implements projection.Engine. It asks for the health of the
// aliases' indices only: another tenant's red index must not make the
// projector unready. Before the engine first answered it fails without
// trying (the projector's session is connecting).
func (e *ProjectorEngine) Health(ctx context.Context, aliases ...string) error {
	e.mu.Lock()
	c := e.client
	e.mu.Unlock()
	if c == nil {
		return errors.New("search: not connected yet")
	}
	status, body, err := c.Do(ctx, http.MethodGet, "/_cluster/health/"+strings.Join(aliases, ",")+"?filter_path=status", nil)
	if err != nil {
		return err
	}
	switch {
	case status == http.StatusNotFound:
		return nil // not backfilled yet; the engine answers
	case status != http.StatusOK:
		return fmt.Errorf("search: health: HTTP %d", status)
	case bytes.Contains(body, []byte(`"red"`)):
		return errors.New("search: the read-model indices are red")
	}
	return nil
}
