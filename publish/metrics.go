package publish

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/metrics"
)

// ForecastLogMetrics are the forecast log's Prometheus series (listed in
// the package doc).
type ForecastLogMetrics struct {
	logQueue    prometheus.Gauge
	logWait     prometheus.Histogram
	logBlocked  prometheus.Counter
	logProduced prometheus.Counter
	logErrors   prometheus.Counter
	logRefused  prometheus.Counter
	logRetried  prometheus.Counter
	logDropped  *prometheus.CounterVec
}

// NewForecastLogMetrics registers the forecast log's metrics on reg.
func NewForecastLogMetrics(reg prometheus.Registerer) *ForecastLogMetrics {
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, "forecast_log", n) }
	m := &ForecastLogMetrics{
		logQueue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: name("queue_depth"), Help: "Forecasts held until Kafka acknowledges them: queued, in flight, or waiting to be produced again.",
		}),
		logWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: name("enqueue_wait_seconds"), Help: "Time a request waited for room in the forecast log queue (only when it was full).",
			Buckets: []float64{.0001, .001, .005, .01, .05, .1, .5, 1, 2},
		}),
		logBlocked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("blocked_total"), Help: "Forecasts that found the forecast log queue full and waited.",
		}),
		logProduced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("produced_total"), Help: "Forecasts acknowledged by Kafka on forecast_results.",
		}),
		logErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("errors_total"), Help: "Produce attempts Kafka failed (each forecast is then retried, or dropped when the error is permanent).",
		}),
		logRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("refused_total"), Help: "Forecasts not served (503) because the forecast log's hold stayed full.",
		}),
		logRetried: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("retried_total"), Help: "Forecasts produced again after Kafka failed them.",
		}),
		logDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: name("dropped_total"), Help: "Served forecasts never logged, by reason: best_effort (hold full with --log-best-effort), refused_by_kafka (a permanent error), shutdown (still held after the flush timeout).",
		}, []string{"reason"}),
	}
	for _, r := range []string{"best_effort", "refused_by_kafka", "shutdown"} {
		m.logDropped.WithLabelValues(r)
	}
	reg.MustRegister(m.logQueue, m.logWait, m.logBlocked, m.logProduced, m.logErrors, m.logRefused, m.logRetried, m.logDropped)
	return m
}

// The recording methods accept a nil receiver (a log without metrics).

func (m *ForecastLogMetrics) setHeld(n int) {
	if m != nil {
		m.logQueue.Set(float64(n))
	}
}

func (m *ForecastLogMetrics) blocked() {
	if m != nil {
		m.logBlocked.Inc()
	}
}

func (m *ForecastLogMetrics) waited(d time.Duration) {
	if m != nil {
		m.logWait.Observe(d.Seconds())
	}
}

func (m *ForecastLogMetrics) refused(n int) {
	if m != nil {
		m.logRefused.Add(float64(n))
	}
}

func (m *ForecastLogMetrics) produced() {
	if m != nil {
		m.logProduced.Inc()
	}
}

func (m *ForecastLogMetrics) errored() {
	if m != nil {
		m.logErrors.Inc()
	}
}

func (m *ForecastLogMetrics) retried(n int) {
	if m != nil {
		m.logRetried.Add(float64(n))
	}
}

func (m *ForecastLogMetrics) dropped(reason string, n int) {
	if m != nil {
		m.logDropped.WithLabelValues(reason).Add(float64(n))
	}
}
