package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/search"
)

// verify runs one reconciliation pass (projection.Reconciler) of this
// INDEX_PREFIX's read model against the write model and prints what
// differs; with -repair it also asks the active projector to re-project
// those documents. It fails when anything differs, so scripts can alert.
// The pass waits for the projector's published position, so a projector
// must be streaming.
func verify(ctx context.Context, getenv func(string) string, stdout io.Writer, args []string) error {
	repair := false
	for _, a := range args {
		if a != "-repair" {
			return fmt.Errorf("unknown argument %q (usage: projector verify [-repair])", a)
		}
		repair = true
	}
	cfg, pool, err := openTool(ctx, getenv)
	if err != nil {
		return err
	}
	defer pool.Close()
	client, err := search.Open(ctx, cfg.SearchURL, search.Options{})
	if err != nil {
		return err
	}
	w := &search.Writer{Client: client, Prefix: cfg.IndexPrefix}
	r := &projection.Reconciler{
		Source: &postgres.ProjectorSource{Pool: pool}, Index: w, Prefix: cfg.IndexPrefix,
		Batch: cfg.ReconcileBatch, Rate: cfg.ReconcileRate,
		Logger: slog.New(slog.DiscardHandler),
		Applied: func(ctx context.Context) (uint64, error) {
			st, _, err := w.State(ctx)
			return st.AppliedLSN, err
		},
	}
	if repair {
		r.Repair = &postgres.ProjectorStore{Pool: pool}
	}
	res, err := r.Pass(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "compared %d document(s) in %d bucket(s), %d compared id by id, in %.2fs (%.2fs of it the engine's sums)\n",
		res.Documents, res.Buckets, res.Narrowed, res.Took.Seconds(), res.Engine.Seconds())
	for _, m := range res.Mismatches {
		future := ""
		if m.Future {
			future = " (version beyond the WAL: deleted first)"
		}
		fmt.Fprintf(stdout, "%s %s %s version %s%s\n", m.Index, m.ID, m.Reason, domain.FormatLSN(m.Version), future)
	}
	if len(res.Mismatches) == 0 {
		return nil
	}
	if repair {
		return fmt.Errorf("%d document(s) differed; re-projected through the active projector", len(res.Mismatches))
	}
	return fmt.Errorf("%d document(s) differ (run with -repair to re-project them)", len(res.Mismatches))
}
