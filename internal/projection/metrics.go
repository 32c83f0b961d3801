package projection

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the projector's Prometheus series (docs/projector.md lists
// them with their meaning).
type metrics struct {
	docs         *prometheus.CounterVec
	txs          prometheus.Counter
	bulk         *prometheus.HistogramVec
	conflicts    prometheus.Counter
	deadLetters  prometheus.Counter
	retries      prometheus.Counter
	resyncs      prometheus.Counter
	retainedWAL  prometheus.Gauge
	backfillRate prometheus.Gauge
	backfillDocs prometheus.Counter
	merges       prometheus.Counter
	compactions  prometheus.Counter
	segments     prometheus.Gauge
	role         *prometheus.GaugeVec
	appliedLSN   prometheus.Gauge
	rebuilds     prometheus.Counter
	rebuilding   prometheus.Gauge

	reconcileMismatches *prometheus.CounterVec
	reconcileLastPass   prometheus.Gauge
	reconcilePasses     prometheus.Counter
	reconcileDuration   prometheus.Gauge
	reconcileDocs       prometheus.Counter
}

// newMetrics declares and registers every series.
//
// long: one declaration per series, read as a table; splitting it would
// only scatter the table.
func newMetrics(reg prometheus.Registerer, p *Projector) *metrics {
	m := &metrics{
		docs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "projector_documents_indexed_total",
			Help: "Documents written to the search engine while streaming, by operation (index, delete). rate() gives documents/s.",
		}, []string{"op"}),
		txs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "projector_transactions_applied_total",
			Help: "Committed transactions whose effects are indexed and acknowledged.",
		}),
		bulk: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "projector_bulk_duration_seconds",
			Help:    "Duration of bulk requests, by phase (stream, backfill).",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"phase"}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "projector_version_conflicts_total",
			Help: "Bulk items answered with a version conflict: the same or a newer version was indexed already (replays).",
		}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "projector_dead_letters_total",
			Help: "Documents that could not be indexed and were written to projector_dead_letters.",
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "projector_retries_total",
			Help: "Search-engine requests repeated after a failure.",
		}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "projector_resyncs_total",
			Help: "Rebuilds of the read model after a TRUNCATE, a schema change or a missing index.",
		}),
		retainedWAL: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "projector_slot_retained_wal_bytes",
			Help: "WAL the slot keeps on the server: pg_current_wal_lsn() - restart_lsn (polled, also by standbys).",
		}),
		backfillRate: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "projector_backfill_documents_per_second",
			Help: "Throughput of the last (or running) backfill.",
		}),
		backfillDocs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "projector_backfill_documents_total",
			Help: "Documents copied by backfills.",
		}),
		merges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "projector_backfill_merges_total",
			Help: "Backfilled payments indices merged down to one segment per 2 GiB after activation.",
		}),
		compactions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "projector_compactions_total",
			Help: "Merges of the payments index down to few segments once writes were quiet (PROJECTOR_COMPACT_AFTER).",
		}),
		segments: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "projector_payments_segments",
			Help: "Searchable segments of the payments index that hold documents (polled by the compactor).",
		}),
		role: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "projector_role",
			Help: "1 for the current role of this instance (starting, waiting, standby, backfilling, active).",
		}, []string{"role"}),
		appliedLSN: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "projector_applied_lsn",
			Help: "Position up to which every committed change is indexed and searchable.",
		}),
		rebuilds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "projector_rebuilds_total",
			Help: "Rebuilds beside the stream completed (aliases swapped to a new generation built while streaming went on).",
		}),
		rebuilding: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "projector_rebuild_running",
			Help: "1 while a new generation is built beside the stream.",
		}),
	}
	m.reconcile()
	for _, index := range []string{"payments", "customers"} {
		m.reconcileMismatches.WithLabelValues(index)
	}
	reg.MustRegister(m.reconcileMismatches, m.reconcileLastPass, m.reconcilePasses, m.reconcileDuration, m.reconcileDocs)
	reg.MustRegister(m.docs, m.txs, m.bulk, m.conflicts, m.deadLetters, m.retries, m.resyncs, m.retainedWAL,
		m.backfillRate, m.backfillDocs, m.merges, m.compactions, m.segments, m.role, m.appliedLSN, m.rebuilds, m.rebuilding,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "projector_lag_seconds",
			Help: "Age of the oldest committed change that is not searchable yet (0 when caught up).",
		}, p.lagSeconds),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "projector_lag_bytes",
			Help: "Server WAL end minus the slot's confirmed position.",
		}, p.lagBytes),
	)
	return m
}

// reconcile declares the reconciler's series (reconcile.go).
func (m *metrics) reconcile() {
	m.reconcileMismatches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "projector_reconcile_mismatches_total",
		Help: "Indexed documents found to differ from the write model (missing, stray or other content) and re-projected, by index (payments, customers).",
	}, []string{"index"})
	m.reconcileLastPass = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "projector_reconcile_last_pass_timestamp_seconds",
		Help: "Unix time at which the last full reconciliation pass completed (0: none yet).",
	})
	m.reconcilePasses = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "projector_reconcile_passes_total",
		Help: "Completed reconciliation passes.",
	})
	m.reconcileDuration = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "projector_reconcile_pass_duration_seconds",
		Help: "Duration of the last completed reconciliation pass.",
	})
	m.reconcileDocs = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "projector_reconcile_documents_total",
		Help: "Write-model documents compared with the index by reconciliation passes.",
	})
}
