package testkit

import (
	"testing"

	"github.com/IBM/sarama"
)

// TestPrivateBrokerKillRestart: a record produced before a SIGKILL is read
// back after the restart (same log folder, same port), and while the broker
// is down a client cannot reach it.
func TestPrivateBrokerKillRestart(t *testing.T) {
	b := PrivateBroker(t)
	names := Names(t, b.Config)
	topic := string(names.ForecastResults)

	sc := b.Config.IdempotentProducer(true)
	p, err := sarama.NewSyncProducer(b.Config.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("k"), Value: sarama.StringEncoder("before")}); err != nil {
		t.Fatal(err)
	}
	_ = p.Close()

	b.Kill()
	dc := b.Config.Sarama()
	dc.Metadata.Retry.Max = 0
	if c, err := sarama.NewClient(b.Config.Brokers, dc); err == nil {
		_ = c.Close()
		t.Fatal("a client reached the killed broker")
	}

	b.Restart()
	recs := ReadTopic(t, b.Config, topic)
	if len(recs) != 1 || string(recs[0].Value) != "before" {
		t.Fatalf("after restart: %d records %+v, want the one produced before the kill", len(recs), recs)
	}
}
