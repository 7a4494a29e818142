package kafka_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
)

func TestLag(t *testing.T) {
	errLow := errors.New("low watermark unavailable")
	tests := []struct {
		name            string
		committed, high int64
		low             int64
		lowErr          error
		want            int64
		wantErr         bool
	}{
		{name: "committed behind", committed: 40, high: 100, want: 60},
		{name: "caught up", committed: 100, high: 100, want: 0},
		{name: "nothing committed counts from the low watermark", committed: -1, high: 100, low: 30, want: 70},
		{name: "committed past a truncated log is never negative", committed: 120, high: 100, want: 0},
		{name: "low watermark error", committed: -1, high: 100, lowErr: errLow, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked := false
			got, err := kafka.Lag(tt.committed, tt.high, func() (int64, error) { asked = true; return tt.low, tt.lowErr })
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Lag(%d, %d) = %d, want %d", tt.committed, tt.high, got, tt.want)
			}
			if asked != (tt.committed < 0) {
				t.Errorf("low watermark asked = %v, want %v", asked, tt.committed < 0)
			}
		})
	}
}

// TestGroupLagOnBroker commits offsets for a group on a real topic and
// checks the collector's series: per group and topic, summed over
// partitions, from the low watermark where nothing was committed.
func TestGroupLagOnBroker(t *testing.T) {
	cfg := brokerForTest(t)
	admin := newAdmin(t, cfg)
	topic := "lag-" + testkit.UniqueSuffix(t)
	ensure(t, admin, kafka.TopicSpec{Name: topic, Partitions: 2, Configs: map[string]string{"cleanup.policy": "delete"}})

	pc := cfg.IdempotentProducer(true)
	pc.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(cfg.Brokers, pc)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range 10 { // 5 records per partition
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: int32(i % 2), Value: sarama.StringEncoder("v")}); err != nil {
			t.Fatal(err)
		}
	}
	group := topic + "-group"
	om, err := sarama.NewOffsetManagerFromClient(group, mustClient(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	pom, err := om.ManagePartition(topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	pom.MarkOffset(3, "") // partition 0: 2 left; partition 1: nothing committed, 5 left
	om.Commit()
	_ = pom.Close()
	_ = om.Close()
	t.Cleanup(func() { _ = admin.DeleteConsumerGroup(group) })

	lag := kafka.NewGroupLag(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), kafka.GroupTopics{Group: group, Topics: []string{topic}})
	defer lag.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(lag)
	want := fmt.Sprintf(`
# HELP storecast_kafka_consumer_group_lag Records of a topic the consumer group has not committed yet (sum over partitions of the high watermark minus the committed offset).
# TYPE storecast_kafka_consumer_group_lag gauge
storecast_kafka_consumer_group_lag{group=%q,topic=%q} 7
`, group, topic)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "storecast_kafka_consumer_group_lag"); err != nil {
		t.Error(err)
	}
	if n := lagErrors(t, reg); n != 0 {
		t.Errorf("errors = %v, want 0", n)
	}
}

// TestGroupLagWithoutBroker checks that an unreachable broker leaves the
// lag out and counts an error per scrape instead of failing it.
func TestGroupLagWithoutBroker(t *testing.T) {
	lag := kafka.NewGroupLag(kafka.Config{Brokers: []string{"127.0.0.1:1"}}, slog.New(slog.NewTextHandler(io.Discard, nil)),
		kafka.GroupTopics{Group: "g", Topics: []string{"t"}})
	defer lag.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(lag)
	n, err := testutil.GatherAndCount(reg, "storecast_kafka_consumer_group_lag")
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d lag series without a broker, want 0", n)
	}
	// Every scrape tries again: the second gather counts a second error.
	if got := lagErrors(t, reg); got != 2 {
		t.Errorf("errors after two scrapes = %v, want 2", got)
	}
}

func mustClient(t *testing.T, cfg kafka.Config) sarama.Client {
	t.Helper()
	c, err := sarama.NewClient(cfg.Brokers, cfg.Sarama())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// lagErrors returns the collector's error count.
func lagErrors(t *testing.T, g prometheus.Gatherer) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "storecast_kafka_consumer_group_lag_errors_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no storecast_kafka_consumer_group_lag_errors_total")
	return 0
}
