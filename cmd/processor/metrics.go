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

	webhookAttempts *prometheus.CounterVec
	webhookLatency  prometheus.Histogram
	webhookDisabled prometheus.Counter
	webhookGaveUp   prometheus.Counter
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
	m.webhookAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "processor_webhook_attempts_total",
		Help: "Webhook delivery attempts by outcome (delivered, failed)."}, []string{"outcome"})
	m.webhookLatency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "processor_webhook_delivery_seconds",
		Help:    "From the event's creation to the end of a delivery attempt that succeeded.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600}})
	m.webhookDisabled = prometheus.NewCounter(prometheus.CounterOpts{Name: "processor_webhook_endpoints_disabled_total",
		Help: "Webhook endpoints disabled after a run of failed attempts."})
	m.webhookGaveUp = prometheus.NewCounter(prometheus.CounterOpts{Name: "processor_webhook_deliveries_failed_total",
		Help: "Webhook deliveries given up after WEBHOOK_RETRY_MAX_AGE."})
	reg.MustRegister(m.attempts, m.outcomes, m.retries, m.deadLetters, m.provider, &queueCollector{pool: pool},
		m.webhookAttempts, m.webhookLatency, m.webhookDisabled, m.webhookGaveUp)
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

func (m *metrics) webhookHooks() processing.WebhookHooks {
	return processing.WebhookHooks{
		Attempt: func(r processing.WebhookResult, latency time.Duration) {
			if r.OK() {
				m.webhookAttempts.WithLabelValues("delivered").Inc()
				m.webhookLatency.Observe(latency.Seconds())
				return
			}
			m.webhookAttempts.WithLabelValues("failed").Inc()
		},
		Disabled: m.webhookDisabled.Inc,
		GaveUp:   m.webhookGaveUp.Inc,
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
