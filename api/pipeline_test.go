package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/history"
	"github.com/storecast/storecast/inspect"
	"github.com/storecast/storecast/mlflow"
	"github.com/storecast/storecast/topics"
)

// fakePipeline answers like inspect.Inspector over one sales topic with a
// dead letter; topic "broken" fails like an unreachable broker.
type fakePipeline struct{}

func (fakePipeline) Topics(context.Context) ([]inspect.Topic, error) {
	return []inspect.Topic{{Name: "sale_rossman_store", CleanupPolicy: "delete", Records: 3, SizeBytes: 300,
		Partitions: []inspect.Partition{{ID: 0, Oldest: 0, Newest: 3, SizeBytes: 300}}}}, nil
}

func (fakePipeline) Groups(context.Context) ([]inspect.Group, error) {
	return []inspect.Group{{Name: "storecast-features", State: "Stable", Members: 1, Lag: 1,
		Partitions: []inspect.GroupPartition{{Topic: "sale_rossman_store", Partition: 0, Committed: 2, Newest: 3, Lag: 1}}}}, nil
}

func (fakePipeline) Messages(_ context.Context, topic string, q inspect.Query) ([]inspect.Message, error) {
	switch {
	case topic == "broken":
		return nil, errors.New("kafka: client has run out of available brokers")
	case topic != "sale_rossman_store":
		return nil, fmt.Errorf("%w: %s", inspect.ErrUnknownTopic, topic)
	case q.Partition != nil && *q.Partition > 0:
		return nil, fmt.Errorf("%w: no partition %d", inspect.ErrBadQuery, *q.Partition)
	}
	return []inspect.Message{{Partition: 0, Offset: 2, Key: "1", Timestamp: time.Date(2015, 6, 19, 0, 0, 0, 0, time.UTC),
		Encoding: "json", Value: json.RawMessage(`{"store":1}`), Size: 11}}, nil
}

func (fakePipeline) DeadLetters(context.Context) ([]inspect.DeadLetterCount, error) {
	return []inspect.DeadLetterCount{{Topic: "sale_rossman_store.dlq", Total: 1, Reasons: map[string]int{"sales": 1}}}, nil
}

type fakeHistory struct{}

func (fakeHistory) StoreSales(_ context.Context, store int, rg history.Range) (history.StoreSales, error) {
	if store == 666 {
		return history.StoreSales{}, errors.New("connection refused")
	}
	actual := 5200
	out := history.StoreSales{StoreID: store,
		Days:      []topics.Sale{{V: 1, Store: store, DayOfWeek: 4, Date: topics.DateFromYMD(2015, 6, 18), Sales: 5200, Customers: 510, Open: 1, StateHoliday: "0"}},
		Forecasts: []history.Forecast{{Date: "2015-06-18", PredictedSales: 5150, ModelName: "m", ModelVersion: "2", AsOf: "2015-06-11", Horizon: 7, ActualSales: &actual}}}
	if !rg.From.IsZero() && rg.From.After(time.Date(2015, 6, 18, 0, 0, 0, 0, time.UTC)) {
		out.Days, out.Forecasts = []topics.Sale{}, []history.Forecast{}
	}
	return out, nil
}

func (fakeHistory) RecentAccuracy(_ context.Context, days int) ([]history.Accuracy, error) {
	if days == 666 {
		return nil, errors.New("connection refused")
	}
	return []history.Accuracy{{ModelVersion: "2", HorizonWeek: 1, Forecasts: 10, RMSPE: 0.1, MAPE: 0.08, Bias: 0.01, FirstDay: "2015-06-01", LastDay: "2015-06-18"}}, nil
}

type fakeVersions struct{}

func (fakeVersions) Versions(_ context.Context, limit int) ([]mlflow.Version, error) {
	vs := []mlflow.Version{
		{Name: "storecast-sales", Version: "2", RunID: "r2", Status: "READY", Aliases: []string{"champion"}, CreatedAt: time.Unix(2, 0).UTC(), TrainedThrough: "2015-06-19", Metrics: map[string]float64{"val_rmspe": 0.12}},
		{Name: "storecast-sales", Version: "1", RunID: "r1", Status: "READY", Aliases: []string{}, CreatedAt: time.Unix(1, 0).UTC(), Metrics: map[string]float64{}},
	}
	return vs[:min(limit, len(vs))], nil
}

func withPipeline(_ *harness, fc *ForecastConfig, _ *TrainConfig) {
	fc.Pipeline, fc.History, fc.Versions = fakePipeline{}, fakeHistory{}, fakeVersions{}
}

func TestPipelineEndpoints(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPipeline)
	bare := newHarness(t)
	tests := []struct {
		name   string
		h      *harness
		target string
		status int
		field  string
	}{
		{"topics", h, "/v1/topics", http.StatusOK, ""},
		{"messages", h, "/v1/topics/sale_rossman_store/messages", http.StatusOK, ""},
		{"messages of a partition by key", h, "/v1/topics/sale_rossman_store/messages?partition=0&key=1&limit=200", http.StatusOK, ""},
		{"groups", h, "/v1/groups", http.StatusOK, ""},
		{"dead letters", h, "/v1/dead-letters", http.StatusOK, ""},
		{"sales", h, "/v1/sales/1", http.StatusOK, ""},
		{"sales in a range", h, "/v1/sales/1?from=2015-06-01&to=2015-06-30", http.StatusOK, ""},
		{"model versions", h, "/v1/models", http.StatusOK, ""},
		{"accuracy", h, "/v1/accuracy", http.StatusOK, ""},
		{"accuracy days out of range", h, "/v1/accuracy?days=0", http.StatusBadRequest, "days"},
		{"accuracy with postgres down", h, "/v1/accuracy?days=666", http.StatusServiceUnavailable, ""},
		{"model versions limit too large", h, "/v1/models?limit=500", http.StatusBadRequest, "limit"},
		{"no registry configured", bare, "/v1/models", http.StatusServiceUnavailable, ""},

		{"limit too large", h, "/v1/topics/sale_rossman_store/messages?limit=201", http.StatusBadRequest, "limit"},
		{"limit not a number", h, "/v1/topics/sale_rossman_store/messages?limit=x", http.StatusBadRequest, "limit"},
		{"negative offset", h, "/v1/topics/sale_rossman_store/messages?offset=-1", http.StatusBadRequest, "offset"},
		{"key too long", h, "/v1/topics/sale_rossman_store/messages?key=" + strings.Repeat("k", 257), http.StatusBadRequest, "key"},
		{"key of 256 characters", h, "/v1/topics/sale_rossman_store/messages?key=" + url.QueryEscape(strings.Repeat("é", 256)), http.StatusOK, ""},
		{"negative partition", h, "/v1/topics/sale_rossman_store/messages?partition=-1", http.StatusBadRequest, "partition"},
		{"partition the topic lacks", h, "/v1/topics/sale_rossman_store/messages?partition=3", http.StatusBadRequest, "partition"},
		{"bad from date", h, "/v1/sales/1?from=2015-13-01", http.StatusBadRequest, "from"},
		{"store 0", h, "/v1/sales/0", http.StatusBadRequest, "id"},

		{"a topic outside the deployment", h, "/v1/topics/other/messages", http.StatusNotFound, ""},

		{"kafka down", h, "/v1/topics/broken/messages", http.StatusServiceUnavailable, ""},
		{"postgres down", h, "/v1/sales/666", http.StatusServiceUnavailable, ""},
		{"no inspector configured", bare, "/v1/topics", http.StatusServiceUnavailable, ""},
		{"no history configured", bare, "/v1/sales/1", http.StatusServiceUnavailable, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.h.do("f", "GET", tc.target, "")
			if r.Code != tc.status {
				t.Fatalf("GET %s: %d %s, want %d", tc.target, r.Code, r.body, tc.status)
			}
			if tc.field != "" {
				if got := r.json(t)["field"]; got != tc.field {
					t.Fatalf("GET %s: field %v, want %s", tc.target, got, tc.field)
				}
			}
		})
	}
	// Empty lists encode as [], not null.
	got := h.do("f", "GET", "/v1/sales/1?from=2015-07-01", "").json(t)
	if days, ok := got["days"].([]any); !ok || len(days) != 0 {
		t.Fatalf("days %v, want []", got["days"])
	}
}
