package ingest

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/metrics"
)

// Metrics are the producer's Prometheus series (listed in the package doc).
type Metrics struct {
	sent     *prometheus.CounterVec
	rejected *prometheus.CounterVec
	latency  prometheus.Histogram
}

// NewMetrics registers the producer's metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prometheus.BuildFQName(metrics.Namespace, "produce", "events_sent_total"),
			Help: "Events the broker acknowledged, by topic.",
		}, []string{"topic"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prometheus.BuildFQName(metrics.Namespace, "produce", "events_rejected_total"),
			Help: "Input rows sent to a dead-letter topic, by reason: the first bad field, or parse.",
		}, []string{"reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    prometheus.BuildFQName(metrics.Namespace, "produce", "send_latency_seconds"),
			Help:    "Time from handing an event to the producer to the broker's acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1 ms .. 8 s
		}),
	}
	for _, c := range []prometheus.Collector{m.sent, m.rejected, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register produce metrics: %w", err)
		}
	}
	return m, nil
}
