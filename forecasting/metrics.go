package forecasting

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/metrics"
)

// Metrics are the forecasting core's Prometheus series (listed in the
// package doc). A nil *Metrics records nothing.
type Metrics struct {
	predictions    *prometheus.CounterVec
	predicted      prometheus.Histogram
	cacheHits      prometheus.Counter
	predictionsObs sync.Map // model version → prometheus.Counter
}

// NewMetrics registers the core's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, "forecast", n) }
	m := &Metrics{
		predictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: name("predictions_total"), Help: "Forecasts computed, by model version.",
		}, []string{"model_version"}),
		predicted: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: name("predicted_sales"), Help: "Distribution of the predicted daily sales.",
			Buckets: []float64{0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10000, 12500, 15000, 20000, 30000, 50000},
		}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("prediction_cache_hits_total"), Help: "Forecasts answered from the prediction cache (same model, store state, days and inputs).",
		}),
	}
	reg.MustRegister(m.predictions, m.predicted, m.cacheHits)
	return m
}

// observe records forecast rows: their values and, per run of one model,
// their count by model version.
func (m *Metrics) observe(rows []Row) {
	if m == nil {
		return
	}
	for i := range rows {
		m.predicted.Observe(rows[i].Sales)
	}
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].Model == rows[i].Model {
			j++
		}
		version := rows[i].Model.Version
		c, ok := m.predictionsObs.Load(version)
		if !ok {
			c, _ = m.predictionsObs.LoadOrStore(version, m.predictions.WithLabelValues(version))
		}
		c.(prometheus.Counter).Add(float64(j - i))
		i = j
	}
}

func (m *Metrics) cacheHit(n int) {
	if m != nil && n > 0 {
		m.cacheHits.Add(float64(n))
	}
}
