package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkReconcilePass measures one `projector verify` pass, unpaced
// (PROJECTOR_RECONCILE_RATE=0), over BENCH_RECONCILE_ROWS payments
// (default 200,000) that the running projector has indexed: seconds per
// pass and per million payments.
func BenchmarkReconcilePass(b *testing.B) {
	rows := envInt("BENCH_RECONCILE_ROWS", 200_000)
	e := mustEnv(b)
	ctx := context.Background()
	w := e.seed(ctx, 50, 200, 0)
	for done := 0; done < rows; done += 50_000 {
		e.insertPayments(ctx, w, min(50_000, rows-done))
	}
	e.exec(ctx, "VACUUM ANALYZE payments")
	vars := e.vars("LOG_LEVEL", "warn", "PROJECTOR_RECONCILE_INTERVAL", "0", "PROJECTOR_RECONCILE_RATE", "0")
	in := e.start(vars)
	waitRole(b, in.addr, "active", 10*time.Minute)
	e.waitApplied(ctx, e.walLSN(ctx), time.Minute)
	b.ResetTimer()
	for range b.N {
		var out bytes.Buffer
		start := time.Now()
		if err := verify(ctx, func(k string) string { return vars[k] }, &out, nil); err != nil {
			b.Fatalf("verify: %v\n%s", err, out.String())
		}
		took := time.Since(start)
		b.ReportMetric(took.Seconds(), "s/pass")
		b.ReportMetric(took.Seconds()*1e6/float64(rows), "s/million")
		fmt.Printf("reconcile: %s", out.String())
	}
}
