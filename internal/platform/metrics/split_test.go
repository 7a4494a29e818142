package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/storecast/storecast/internal/platform/metrics"
)

func TestSplitExposesEverySeriesOnce(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	req := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "req_total", Help: "h"}, []string{"server"})
	trainOnly := prometheus.NewCounter(prometheus.CounterOpts{Name: "train_total", Help: "h"})
	other := prometheus.NewGauge(prometheus.GaugeOpts{Name: "other", Help: "h"})
	reg.MustRegister(req, trainOnly, other)
	req.WithLabelValues("forecast").Add(3)
	req.WithLabelValues("train").Add(1)
	trainOnly.Inc()
	other.Set(5)

	train, forecast := metrics.Split(reg, func(family string, m *dto.Metric) bool {
		return family == "train_total" || metrics.HasLabel(m, "server", "train")
	})
	tests := []struct {
		name string
		g    prometheus.Gatherer
		want string
	}{
		{"train", train, `
# HELP req_total h
# TYPE req_total counter
req_total{server="train"} 1
# HELP train_total h
# TYPE train_total counter
train_total 1
`},
		{"forecast", forecast, `
# HELP other h
# TYPE other gauge
other 5
# HELP req_total h
# TYPE req_total counter
req_total{server="forecast"} 3
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := testutil.GatherAndCompare(tt.g, strings.NewReader(tt.want)); err != nil {
				t.Error(err)
			}
		})
	}
}
