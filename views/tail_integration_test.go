package views_test

import (
	"context"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
	"github.com/storecast/storecast/views"
)

func client(t *testing.T, cfg kafka.Config) sarama.Client {
	t.Helper()
	sc := cfg.Sarama()
	sc.Consumer.Return.Errors = true
	c, err := sarama.NewClient(cfg.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}

func TestIntegrationModelFeedHotSwap(t *testing.T) {
	t.Parallel()
	cfg := testkit.Kafka(t)
	names := testkit.Names(t, cfg)
	log := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	registry, models := forecasting.NewRegistryModels(features.Names(), log)
	feed := views.NewModelFeed(client(t, cfg), string(names.Models), registry, log, views.NewModelFeedMetrics(reg))

	// A model published before the server starts is loaded during recovery.
	enc := func(ev *topics.ModelEvent) []byte { b, _ := topics.ModelEventCodec{}.Encode(ev); return b }
	testkit.Produce(t, cfg, string(names.Models), "storecast-sales", enc(testkit.ModelEvent("1", 4000, 6000)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- feed.Run(ctx) }()
	defer func() { cancel(); <-done }()
	eventually(t, "recovery", feed.Recovered)
	if models.Default() == nil || models.Default().Meta().Version != "1" {
		t.Fatalf("after recovery: %v", models.Default())
	}
	x := make([]float64, features.NumFeatures)
	if y, _ := models.Default().Predict(x, 1); math.Abs(y.Sales-4000) > 0.01 {
		t.Errorf("predict without promo = %v, want 4000", y)
	}

	// A corrupt artifact is refused; version 1 keeps serving.
	bad := testkit.ModelEvent("2", 1, 1)
	bad.Artifact[len(bad.Artifact)/2] ^= 0xff
	testkit.Produce(t, cfg, string(names.Models), "storecast-sales", enc(bad))
	testkit.Produce(t, cfg, string(names.Models), "storecast-sales", []byte(`{"v":1,`))
	eventually(t, "the refusals", func() bool { _, refused := registry.Stats(); return refused == 1 })
	if v := models.Default().Meta().Version; v != "1" {
		t.Fatalf("after a refused model: version %s serves", v)
	}

	// A valid new model swaps in.
	testkit.Produce(t, cfg, string(names.Models), "storecast-sales", enc(testkit.ModelEvent("3", 5000, 9000)))
	eventually(t, "version 3", func() bool { return models.Default().Meta().Version == "3" })
	for outcome, want := range map[string]float64{"loaded": 2, "refused": 2} {
		if got := testkit.Metric(t, reg, "storecast_model_events_total", "outcome", outcome); got != want {
			t.Errorf("model events %s = %v, want %v", outcome, got, want)
		}
	}
}

func TestIntegrationResultFeed(t *testing.T) {
	t.Parallel()
	cfg := testkit.Kafka(t)
	names := testkit.Names(t, cfg)
	log := slog.New(slog.DiscardHandler)
	tracker := views.NewResultTracker()
	feed := views.NewResultFeed(client(t, cfg), string(names.TrainResults), tracker, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- feed.Run(ctx) }()
	defer func() { cancel(); <-done }()
	eventually(t, "recovery", feed.Recovered)

	res, _ := topics.TrainResultCodec{}.Encode(&topics.TrainResult{V: 1, ID: "req-1", Status: topics.TrainSucceeded, Version: "5", At: time.Now()})
	testkit.Produce(t, cfg, string(names.TrainResults), "req-1", res)
	eventually(t, "the result", func() bool { r, ok := tracker.Status("req-1"); return ok && r.Status == topics.TrainSucceeded })
}
