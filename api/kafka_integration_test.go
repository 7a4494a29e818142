package api

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
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
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
	m := NewMetrics(prometheus.NewRegistry())
	registry, models := NewRegistryModels(features.Names(), log, m)
	feed := NewModelFeed(client(t, cfg), string(names.Models), registry, log, m)

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
}

func TestIntegrationResultFeedAndTrainEmitter(t *testing.T) {
	t.Parallel()
	cfg := testkit.Kafka(t)
	names := testkit.Names(t, cfg)
	log := slog.New(slog.DiscardHandler)
	tracker := NewResultTracker()
	feed := NewResultFeed(client(t, cfg), string(names.TrainResults), tracker, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- feed.Run(ctx) }()
	defer func() { cancel(); <-done }()
	eventually(t, "recovery", feed.Recovered)

	p, err := sarama.NewSyncProducer(cfg.Brokers, cfg.IdempotentProducer(true))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	em := NewKafkaTrainEmitter(p, string(names.TrainRequests))
	req := &topics.TrainRequest{V: 1, ID: "req-1", RequestedBy: "test", Store: 3, At: time.Now().UTC()}
	if err := em.EmitTrainRequest(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	// The request is on train_requests, keyed by its id.
	got := consumeAll(t, cfg, string(names.TrainRequests), 1)
	if string(got[0].Key) != "req-1" || !strings.Contains(string(got[0].Value), `"store_id":3`) {
		t.Errorf("train request record %s = %s", got[0].Key, got[0].Value)
	}

	res, _ := topics.TrainResultCodec{}.Encode(&topics.TrainResult{V: 1, ID: "req-1", Status: topics.TrainSucceeded, Version: "5", At: time.Now()})
	produce(t, cfg, string(names.TrainResults), "req-1", res)
	eventually(t, "the result", func() bool { r, ok := tracker.Status("req-1"); return ok && r.Status == topics.TrainSucceeded })
}

func TestIntegrationForecastLogProducesEveryForecast(t *testing.T) {
	t.Parallel()
	cfg := testkit.Kafka(t)
	names := testkit.Names(t, cfg)
	p, err := sarama.NewAsyncProducer(cfg.Brokers, cfg.IdempotentProducer(true))
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(prometheus.NewRegistry())
	fl := NewKafkaForecastLog(p, KafkaLogConfig{Topic: string(names.ForecastResults), Queue: 1024}, slog.New(slog.DiscardHandler), m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fl.Run(ctx) }()
	const n = 20_000 // more than the queue: appends wait for room
	batch := make([]topics.ForecastResult, 500)
	for i := 0; i < n; i += len(batch) {
		for j := range batch {
			batch[j] = topics.ForecastResult{V: 1, Store: 1 + (i+j)%1115, Date: asOfDay + 1, AsOf: asOfDay, Horizon: 1, PredictedSales: float64(i + j)}
		}
		if err := fl.Append(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	cancel() // Run flushes what is queued before it returns
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	msgs := consumeAll(t, cfg, string(names.ForecastResults), n)
	ids := map[string]bool{}
	for _, msg := range msgs {
		v, err := topics.ForecastResultCodec{}.Decode(msg.Value)
		if err != nil {
			t.Fatal(err)
		}
		r := v.(*topics.ForecastResult)
		if string(msg.Key) != topics.StoreKey(r.Store) {
			t.Errorf("key %s for store %d", msg.Key, r.Store)
		}
		ids[r.ID] = true
	}
	if len(ids) != n {
		t.Errorf("%d distinct forecasts on the topic, want %d", len(ids), n)
	}
}

// consumeAll reads want records from every partition of topic.
func consumeAll(t *testing.T, cfg kafka.Config, topic string, want int) []*sarama.ConsumerMessage {
	t.Helper()
	c, err := sarama.NewConsumer(cfg.Brokers, cfg.Sarama())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan *sarama.ConsumerMessage, want)
	stop := make(chan struct{})
	defer close(stop)
	for _, p := range parts {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				select {
				case out <- m:
				case <-stop:
					return
				}
			}
		}()
	}
	var got []*sarama.ConsumerMessage
	timeout := time.After(60 * time.Second)
	for len(got) < want {
		select {
		case m := <-out:
			got = append(got, m)
		case <-timeout:
			t.Fatalf("read %d of %d records from %s", len(got), want, topic)
		}
	}
	return got
}

// TestKafkaProbeKeepsSharedConsumers: probing readiness must not break the
// consumers that share the probe's client (sarama's RefreshController
// closed the single broker's connection under them).
func TestKafkaProbeKeepsSharedConsumers(t *testing.T) {
	t.Parallel()
	kc := testkit.Kafka(t)
	names := testkit.Names(t, kc)
	topic := string(names.TrainResults)

	cfg := kc.Sarama()
	cfg.Consumer.Return.Errors = true
	client, err := sarama.NewClient(kc.Brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()

	probe := KafkaProbe(client)
	for i := range 5 {
		if err := probe(context.Background()); err != nil {
			t.Fatalf("probe %d: %v", i, err)
		}
	}

	producer, err := sarama.NewSyncProducer(kc.Brokers, kc.IdempotentProducer(true))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: 0, Key: sarama.StringEncoder("k"), Value: sarama.StringEncoder("v")}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-pc.Messages():
		if string(m.Value) != "v" {
			t.Fatalf("got %q, want %q", m.Value, "v")
		}
	case err := <-pc.Errors():
		t.Fatalf("consumer error after probes: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no message within 30s after the probes")
	}
}
