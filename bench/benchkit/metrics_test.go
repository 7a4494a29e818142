package benchkit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

const exposition = `# HELP storecast_kafka_consumer_group_lag Records behind.
# TYPE storecast_kafka_consumer_group_lag gauge
storecast_kafka_consumer_group_lag{group="storecast-features",partition="0",topic="sales"} 3
storecast_kafka_consumer_group_lag{group="storecast-features",partition="1",topic="sales"} 4
storecast_kafka_consumer_group_lag{group="storecast-forecast",partition="0",topic="requests"} 100
storecast_kafka_consumer_group_lag{partition="0",subgroup="storecast-features",topic="x"} 1000
storecast_forecast_predictions_total 42
storecast_forecast_predictions_total_other 7
`

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(exposition))
	}))
	defer srv.Close()
	ctx := context.Background()

	got, err := Scrape(ctx, srv.URL, "storecast_forecast_predictions_total", "storecast_kafka_consumer_group_lag", "absent")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"storecast_forecast_predictions_total": 42, // not the _other family sharing its prefix
		"storecast_kafka_consumer_group_lag":   1107,
		"absent":                               0,
	} {
		if got[name] != want {
			t.Errorf("Scrape %s = %v, want %v", name, got[name], want)
		}
	}

	for _, tc := range []struct {
		group string
		sum   float64
		found bool
	}{
		{"storecast-features", 7, true}, // not subgroup="storecast-features"
		{"storecast-forecast", 100, true},
		{"storecast-sink", 0, false},
	} {
		sum, found, err := ScrapeLabeled(ctx, srv.URL, "storecast_kafka_consumer_group_lag", "group", tc.group)
		if err != nil || sum != tc.sum || found != tc.found {
			t.Errorf("ScrapeLabeled group=%s = %v, %v, %v; want %v, %v", tc.group, sum, found, err, tc.sum, tc.found)
		}
	}
}
