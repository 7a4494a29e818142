package publish_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/publish"
	"github.com/storecast/storecast/topics"
)

var asOfDay = topics.DateFromYMD(2015, 6, 19)

// syncProducer is an idempotent sync producer on the test broker, closed
// when the test ends.
func syncProducer(t *testing.T, cfg kafka.Config) sarama.SyncProducer {
	t.Helper()
	p, err := sarama.NewSyncProducer(cfg.Brokers, cfg.IdempotentProducer(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestIntegrationTrainRequests(t *testing.T) {
	t.Parallel()
	cfg := testkit.Kafka(t)
	names := testkit.Names(t, cfg)
	p := syncProducer(t, cfg)
	em := publish.NewTrainRequests(p, string(names.TrainRequests))
	req := &topics.TrainRequest{V: 1, ID: "req-1", RequestedBy: "test", Store: 3, At: time.Now().UTC()}
	if err := em.EmitTrainRequest(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	// The request is on train_requests, keyed by its id.
	got := testkit.ReadTopic(t, cfg, string(names.TrainRequests))
	if len(got) != 1 {
		t.Fatalf("%d records on train_requests, want 1", len(got))
	}
	if got[0].Key != "req-1" || !strings.Contains(string(got[0].Value), `"store_id":3`) {
		t.Errorf("train request record %s = %s", got[0].Key, got[0].Value)
	}

}

func TestIntegrationForecastRequests(t *testing.T) {
	t.Parallel()
	cfg := testkit.Kafka(t)
	names := testkit.Names(t, cfg)
	p := syncProducer(t, cfg)
	em := publish.NewForecastRequests(p, string(names.ForecastRequests))
	var reqs []topics.ForecastRequest
	for _, st := range []int{7, 8, 9} {
		reqs = append(reqs, topics.ForecastRequest{V: 1, RequestID: "job-1", JobID: "job-1", JobRows: 6, Store: st, AsOf: asOfDay,
			Start: asOfDay + 1, Days: []topics.KnownInputs{{Open: 1, StateHoliday: "0"}, {Open: 0, StateHoliday: "0"}}, At: time.Now().UTC()})
	}
	if err := em.EmitForecastRequests(context.Background(), reqs); err != nil {
		t.Fatal(err)
	}
	// One record per store, keyed by the store, carrying the job.
	got := testkit.ReadTopic(t, cfg, string(names.ForecastRequests))
	if len(got) != 3 {
		t.Fatalf("%d records on forecast_requests, want 3", len(got))
	}
	keys := map[string]bool{}
	for _, r := range got {
		keys[r.Key] = true
		if !strings.Contains(string(r.Value), `"job_id":"job-1","job_rows":6`) {
			t.Errorf("record %s = %s, want the job", r.Key, r.Value)
		}
	}
	if !keys["7"] || !keys["8"] || !keys["9"] {
		t.Errorf("keys %v, want the stores 7, 8, 9", keys)
	}
}

func TestIntegrationForecastLogProducesEveryForecast(t *testing.T) {
	t.Parallel()
	cfg := testkit.Kafka(t)
	names := testkit.Names(t, cfg)
	p, err := sarama.NewAsyncProducer(cfg.Brokers, cfg.IdempotentProducer(true))
	if err != nil {
		t.Fatal(err)
	}
	m := publish.NewForecastLogMetrics(prometheus.NewRegistry())
	fl := publish.NewForecastLog(p, publish.ForecastLogConfig{
		Topic: string(names.ForecastResults), Hold: 1024,
		// Appends wait for room as long as Kafka needs on a loaded machine:
		// this test is about every forecast landing, not about latency.
		MaxWait: time.Minute, FlushTimeout: time.Minute,
	}, slog.New(slog.DiscardHandler), m)
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
	msgs := testkit.ReadTopic(t, cfg, string(names.ForecastResults))
	ids := map[string]bool{}
	for _, msg := range msgs {
		v, err := topics.ForecastResultCodec{}.Decode(msg.Value)
		if err != nil {
			t.Fatal(err)
		}
		r := v.(*topics.ForecastResult)
		if msg.Key != topics.StoreKey(r.Store) {
			t.Errorf("key %s for store %d", msg.Key, r.Store)
		}
		ids[r.ID] = true
	}
	if len(ids) != n {
		t.Errorf("%d distinct forecasts on the topic, want %d", len(ids), n)
	}
}
