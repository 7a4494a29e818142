package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
)

// TestProbeKeepsSharedConsumers: probing readiness must not break the
// consumers that share the probe's client (sarama's RefreshController
// closed the single broker's connection under them).
func TestProbeKeepsSharedConsumers(t *testing.T) {
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

	probe := kafka.Probe(client)
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
