package views_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"strings"
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

// testModelEvent returns a model event over the real feature schema: one
// tree splitting on promo (log1p sales lo without, hi with promo).
func testModelEvent(version string, lo, hi float64) *topics.ModelEvent {
	names := features.Names()
	promo := -1
	for i, n := range names {
		if n == "promo" {
			promo = i
		}
	}
	infos := strings.TrimSpace(strings.Repeat("none ", len(names)))
	text := fmt.Sprintf(`tree
version=v3
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=%d
objective=regression
feature_names=%s
feature_infos=%s
tree_sizes=10

Tree=0
num_leaves=2
num_cat=0
split_feature=%d
split_gain=0
threshold=0.5
decision_type=10
left_child=-1
right_child=-2
leaf_value=%g %g
shrinkage=1


end of trees
`, len(names)-1, strings.Join(names, " "), infos, promo, math.Log1p(lo), math.Log1p(hi))
	sum := sha256.Sum256([]byte(text))
	return &topics.ModelEvent{
		V: topics.ModelEventVersion, Name: "storecast-sales", Version: version, RunID: "run-" + version,
		FeatureNames: names, FeatureSchema: features.SchemaVersion, Format: topics.FormatLightGBMText,
		Transform: "log1p", SHA256: hex.EncodeToString(sum[:]), Artifact: []byte(text), At: time.Now().UTC(),
	}
}

func produce(t *testing.T, cfg kafka.Config, topic, key string, value []byte) {
	t.Helper()
	p, err := sarama.NewSyncProducer(cfg.Brokers, cfg.IdempotentProducer(true))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(value)}); err != nil {
		t.Fatal(err)
	}
}

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
	produce(t, cfg, string(names.Models), "storecast-sales", enc(testModelEvent("1", 4000, 6000)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- feed.Run(ctx) }()
	defer func() { cancel(); <-done }()
	eventually(t, "recovery", feed.Recovered)
	if models.Default() == nil || models.Default().Meta().Version != "1" {
		t.Fatalf("after recovery: %v", models.Default())
	}
	x := make([]float64, features.NumFeatures)
	if y, _ := models.Default().Predict(x); math.Abs(y-4000) > 0.01 {
		t.Errorf("predict without promo = %v, want 4000", y)
	}

	// A corrupt artifact is refused; version 1 keeps serving.
	bad := testModelEvent("2", 1, 1)
	bad.Artifact[len(bad.Artifact)/2] ^= 0xff
	produce(t, cfg, string(names.Models), "storecast-sales", enc(bad))
	produce(t, cfg, string(names.Models), "storecast-sales", []byte(`{"v":1,`))
	eventually(t, "the refusals", func() bool { _, refused := registry.Stats(); return refused == 1 })
	if v := models.Default().Meta().Version; v != "1" {
		t.Fatalf("after a refused model: version %s serves", v)
	}

	// A valid new model swaps in.
	produce(t, cfg, string(names.Models), "storecast-sales", enc(testModelEvent("3", 5000, 9000)))
	eventually(t, "version 3", func() bool { return models.Default().Meta().Version == "3" })
	for outcome, want := range map[string]float64{"loaded": 2, "refused": 2} {
		if got := counterValue(t, reg, "storecast_model_events_total", outcome); got != want {
			t.Errorf("model events %s = %v, want %v", outcome, got, want)
		}
	}
}

// counterValue returns the value of the series of name with outcome (0
// when there is none).
func counterValue(t *testing.T, g prometheus.Gatherer, name, outcome string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
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
	produce(t, cfg, string(names.TrainResults), "req-1", res)
	eventually(t, "the result", func() bool { r, ok := tracker.Status("req-1"); return ok && r.Status == topics.TrainSucceeded })
}
