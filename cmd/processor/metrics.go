package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildcat-payments/wildcat/internal/postgres"
	"github.com/wildcat-payments/wildcat/internal/processing"
)

// metrics are the processor's Prometheus series (docs/processing.md,
// Operations).
type metrics struct {
	attempts    *prometheus.CounterVec
	outcomes    *prometheus.CounterVec
	retries     *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	provider    *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, pool *pgxpool.Pool) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "processor_attempts_total",
			Help: "Attempts started, by kind (payment, refund)."}, []string{"kind"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "processor_outcomes_total",
			Help: "Attempt outcomes by kind, outcome (succeeded, failed, retry, dead_letter) and code."}, []string{"kind", "outcome", "code"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "processor_retries_total",
			Help: "Transient failures that were scheduled for a retry, by kind and code."}, []string{"kind", "code"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "processor_dead_letters_total",
			Help: "Payments and refunds whose retries ran out (failed with retries_exhausted)."}, []string{"kind"}),
		provider: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "processor_provider_seconds",
			Help:    "Provider call latency by kind and operation (charge, refund, lookup).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"kind", "op"}),
	}
	reg.MustRegister(m.attempts, m.outcomes, m.retries, m.deadLetters, m.provider, &queueCollector{pool: pool})
	return m
}

func (m *metrics) hooks() processing.Hooks {
	return processing.Hooks{
		Attempt: func(kind string) { m.attempts.WithLabelValues(kind).Inc() },
		Outcome: func(kind, outcome, code string) {
			m.outcomes.WithLabelValues(kind, outcome, code).Inc()
			switch outcome {
			case "retry":
				m.retries.WithLabelValues(kind, code).Inc()
			case "dead_letter":
				m.deadLetters.WithLabelValues(kind).Inc()
			}
		},
		ProviderRT: func(kind, op string, d time.Duration) { m.provider.WithLabelValues(kind, op).Observe(d.Seconds()) },
	}
}

// queueCollector reads the queue's depth and oldest job age from River's
// table at scrape time.
type queueCollector struct{ pool *pgxpool.Pool }

var (
	queueDepthDesc = prometheus.NewDesc("processor_queue_depth", "Jobs due and not yet taken (all processors).", nil, nil)
	queueAgeDesc   = prometheus.NewDesc("processor_queue_oldest_seconds", "Age of the oldest due job not yet taken.", nil, nil)
)

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- queueAgeDesc
}

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depth, age, err := postgres.PendingJobs(ctx, q.pool)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepthDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(depth))
	ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, age.Seconds())
}
