package forecasting

import (
	"context"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/metrics"
)

// ModelMetrics is a Prometheus collector of the served all-stores model
// and the data it forecasts from, read at scrape time (listed in the
// package doc). Ages are left to PromQL: time() - the timestamp.
type ModelMetrics struct {
	models Models
	stores StoreReader

	info, trainedThrough, loaded, validation, asOf *prometheus.Desc
}

var _ prometheus.Collector = (*ModelMetrics)(nil)

// NewModelMetrics returns the collector over models and stores (stores may
// be nil: no as-of series); register it on the component's registry.
func NewModelMetrics(models Models, stores StoreReader) *ModelMetrics {
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, "model", n) }
	l := []string{"model_name", "model_version"}
	return &ModelMetrics{
		models: models, stores: stores,
		info:           prometheus.NewDesc(name("info"), "1 for the model that serves forecasts.", l, nil),
		trainedThrough: prometheus.NewDesc(name("trained_through_timestamp_seconds"), "Start of the last day of the served model's training data (Unix seconds).", l, nil),
		loaded:         prometheus.NewDesc(name("loaded_timestamp_seconds"), "When this process loaded the served model (Unix seconds).", l, nil),
		validation:     prometheus.NewDesc(name("validation_rmspe"), "RMSPE the served model had on its validation period (the trainer's val_rmspe).", l, nil),
		asOf:           prometheus.NewDesc(name("as_of_timestamp_seconds"), "Start of the as-of day forecasts are made from: the latest day of the store table (Unix seconds).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *ModelMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.info, c.trainedThrough, c.loaded, c.validation, c.asOf} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *ModelMetrics) Collect(ch chan<- prometheus.Metric) {
	if m := c.models.Default(); m != nil {
		meta := m.Meta()
		lv := []string{meta.Name, meta.Version}
		ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, lv...)
		ch <- prometheus.MustNewConstMetric(c.trainedThrough, prometheus.GaugeValue, float64(meta.TrainedThrough.Time().Unix()), lv...)
		ch <- prometheus.MustNewConstMetric(c.loaded, prometheus.GaugeValue, float64(meta.LoadedAt.UnixNano())/1e9, lv...)
		if v, ok := meta.Metrics["val_rmspe"]; ok && !math.IsNaN(v) {
			ch <- prometheus.MustNewConstMetric(c.validation, prometheus.GaugeValue, v, lv...)
		}
	}
	if c.stores != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if d, ok, err := c.stores.LatestDay(ctx); err == nil && ok {
			ch <- prometheus.MustNewConstMetric(c.asOf, prometheus.GaugeValue, float64(d.Time().Unix()))
		}
	}
}
