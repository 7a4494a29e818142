package publish

import (
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
}

// NewForecastLogMetrics registers the forecast log's metrics on reg.
func NewForecastLogMetrics(reg prometheus.Registerer) *ForecastLogMetrics {
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, "forecast_log", n) }
	m := &ForecastLogMetrics{
		logQueue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: name("queue_depth"), Help: "Forecasts waiting to be produced to forecast_results.",
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
			Name: name("errors_total"), Help: "Forecasts Kafka refused after retries (lost from forecast_results).",
		}),
		logRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("refused_total"), Help: "Forecasts not served because the forecast log queue stayed full.",
		}),
	}
	reg.MustRegister(m.logQueue, m.logWait, m.logBlocked, m.logProduced, m.logErrors, m.logRefused)
	return m
}
