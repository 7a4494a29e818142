package forecasting_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/forecasting/forecastingtest"
	"github.com/storecast/storecast/topics"
)

// latestDay is a StoreReader that only knows its latest day.
type latestDay struct {
	forecasting.StoreReader
	day topics.Date
	ok  bool
}

func (l latestDay) LatestDay(context.Context) (topics.Date, bool, error) { return l.day, l.ok, nil }

func TestModelMetrics(t *testing.T) {
	models := forecastingtest.NewModels("7")
	m := models.Default().Meta()
	m.TrainedThrough = topics.DateFromYMD(2015, 6, 1)
	m.LoadedAt = time.Unix(1_700_000_000, 500_000_000)
	m.Metrics = map[string]float64{"val_rmspe": 0.125}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(forecasting.NewModelMetrics(models, latestDay{day: topics.DateFromYMD(2015, 6, 19), ok: true}))
	want := `
# HELP storecast_model_as_of_timestamp_seconds Start of the as-of day forecasts are made from: the latest day of the store table (Unix seconds).
# TYPE storecast_model_as_of_timestamp_seconds gauge
storecast_model_as_of_timestamp_seconds 1.434672e+09
# HELP storecast_model_info 1 for the model that serves forecasts.
# TYPE storecast_model_info gauge
storecast_model_info{model_name="storecast-sales",model_version="7"} 1
# HELP storecast_model_loaded_timestamp_seconds When this process loaded the served model (Unix seconds).
# TYPE storecast_model_loaded_timestamp_seconds gauge
storecast_model_loaded_timestamp_seconds{model_name="storecast-sales",model_version="7"} 1.7000000005e+09
# HELP storecast_model_trained_through_timestamp_seconds Start of the last day of the served model's training data (Unix seconds).
# TYPE storecast_model_trained_through_timestamp_seconds gauge
storecast_model_trained_through_timestamp_seconds{model_name="storecast-sales",model_version="7"} 1.4331168e+09
# HELP storecast_model_validation_rmspe RMSPE the served model had on its validation period (the trainer's val_rmspe).
# TYPE storecast_model_validation_rmspe gauge
storecast_model_validation_rmspe{model_name="storecast-sales",model_version="7"} 0.125
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}

	// No model and an empty store table: no series.
	models.Set("")
	reg = prometheus.NewPedanticRegistry()
	reg.MustRegister(forecasting.NewModelMetrics(models, latestDay{}))
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
		t.Errorf("%d series without a model, %v; want 0", n, err)
	}
}
