package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/projection"
)

// Writes that arrive in separate flushes leave one segment each; once the
// writes pause, the projector merges the payments index back into one
// segment, and the index still equals the tables.
func TestCompactionAfterWritesPause(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	ctx := context.Background()
	w := e.seed(ctx, 2, 4, 0)
	in := e.start(e.vars("PROJECTOR_COMPACT_AFTER", "1s", "PROJECTOR_COMPACT_SEGMENTS", "1"))
	e.waitConsistent(ctx, 30*time.Second)

	for range 6 {
		e.insertPayments(ctx, w, 50)
		e.waitConsistent(ctx, 30*time.Second) // flushed and refreshed: a segment of its own
	}
	// On a slow machine a pause between two flushes is quiet enough for a
	// compaction already; in the end one segment remains.
	for deadline := time.Now().Add(60 * time.Second); e.segments(ctx) != 1 || metric(t, in.addr, "projector_compactions_total") < 1; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not compacted within 60s: %d segments, %v compactions", e.segments(ctx), metric(t, in.addr, "projector_compactions_total"))
		}
	}
	waitMetric(t, in.addr, "projector_payments_segments", 1)
	if _, _, body := readyzBody(in.addr); strings.Contains(body, "compaction") {
		t.Errorf("readyz still reports a compaction: %s", body)
	}
	e.waitConsistent(ctx, 30*time.Second)
}

// segments counts the searchable segments of the payments index that hold
// documents.
func (e *env) segments(ctx context.Context) int {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
		e.searchURL+"/_cat/segments/"+projection.PaymentsAlias(e.prefix)+"?format=json&h=docs.count,searchable", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var rows []struct {
		Docs       string `json:"docs.count"`
		Searchable string `json:"searchable"`
	}
	if err := json.NewDecoder(res.Body).Decode(&rows); err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		if r.Searchable == "true" && r.Docs != "0" {
			n++
		}
	}
	return n
}
