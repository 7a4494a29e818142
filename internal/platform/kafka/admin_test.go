package kafka_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
)

// newAdmin returns a cluster admin on the test broker, closed with the test.
func newAdmin(t *testing.T, cfg kafka.Config) sarama.ClusterAdmin {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, cfg.Sarama())
	if err != nil {
		t.Fatalf("cluster admin: %v", err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	return admin
}

// ensure creates spec on the broker and deletes it when the test ends.
func ensure(t *testing.T, admin sarama.ClusterAdmin, spec kafka.TopicSpec) {
	t.Helper()
	rep, err := kafka.EnsureTopics(admin, []kafka.TopicSpec{spec})
	if err != nil {
		t.Fatalf("ensure %s: %v", spec.Name, err)
	}
	if len(rep.Created) != 1 {
		t.Fatalf("ensure %s: created %v, want the topic created", spec.Name, rep.Created)
	}
	t.Cleanup(func() {
		if err := admin.DeleteTopic(spec.Name); err != nil {
			t.Logf("delete topic %s: %v", spec.Name, err)
		}
	})
}

// readAll reads partition 0 of topic from its first retained offset to its
// high watermark and returns the records' values by key, in log order, and
// the first retained offset. Retention may delete the first segment while
// it reads; then it starts again from the new first offset.
func readAll(t *testing.T, client sarama.Client, topic string) (map[string][]string, int64) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		got, oldest, err := readOnce(client, topic)
		if err == nil {
			return got, oldest
		}
		if attempt == 5 {
			t.Fatalf("read %s: %v", topic, err)
		}
		t.Logf("read %s: %v; reading again", topic, err)
	}
}

func readOnce(client sarama.Client, topic string) (map[string][]string, int64, error) {
	if err := client.RefreshMetadata(topic); err != nil {
		return nil, 0, fmt.Errorf("refresh metadata: %w", err)
	}
	oldest, err := client.GetOffset(topic, 0, sarama.OffsetOldest)
	if err != nil {
		return nil, 0, fmt.Errorf("oldest offset: %w", err)
	}
	hwm, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		return nil, 0, fmt.Errorf("newest offset: %w", err)
	}
	out := map[string][]string{}
	if hwm <= oldest {
		return out, oldest, nil
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, 0, fmt.Errorf("consumer: %w", err)
	}
	defer func() { _ = consumer.Close() }()
	pc, err := consumer.ConsumePartition(topic, 0, oldest)
	if err != nil {
		return nil, 0, fmt.Errorf("consume partition from %d: %w", oldest, err)
	}
	defer func() { _ = pc.Close() }()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-pc.Messages():
			if !ok {
				return nil, 0, fmt.Errorf("partition consumer stopped before offset %d", hwm-1)
			}
			out[string(m.Key)] = append(out[string(m.Key)], string(m.Value))
			if m.Offset >= hwm-1 {
				return out, oldest, nil
			}
		case err := <-pc.Errors():
			return nil, 0, fmt.Errorf("consume: %w", err)
		case <-timeout:
			return nil, 0, fmt.Errorf("no record up to offset %d within 30s", hwm-1)
		}
	}
}

func newProducer(t *testing.T, cfg kafka.Config) sarama.SyncProducer {
	t.Helper()
	p, err := sarama.NewSyncProducer(cfg.Brokers, cfg.IdempotentProducer(true))
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func send(t *testing.T, p sarama.SyncProducer, topic, key, value string) {
	t.Helper()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.StringEncoder(value)}); err != nil {
		t.Fatalf("send %s=%s: %v", key, value, err)
	}
}

// TestCompactedTopicKeepsLastValuePerKey proves that the broker compacts a
// topic created with cleanup.policy=compact: after several values per key,
// only the last one per key remains. Segments roll after segment.ms, so the
// test keeps appending a filler record until the cleaner has run.
func TestCompactedTopicKeepsLastValuePerKey(t *testing.T) {
	t.Parallel()
	cfg := brokerForTest(t)
	admin := newAdmin(t, cfg)
	topic := "compaction-" + testkit.UniqueSuffix(t)
	ensure(t, admin, kafka.TopicSpec{Name: topic, Partitions: 1, Configs: map[string]string{
		"cleanup.policy":            "compact",
		"segment.ms":                "100",
		"min.cleanable.dirty.ratio": "0.01",
		"delete.retention.ms":       "100",
	}})

	p := newProducer(t, cfg)
	const keys, versions = 10, 5
	for v := range versions {
		for k := range keys {
			send(t, p, topic, fmt.Sprintf("k%d", k), fmt.Sprintf("v%d", v))
		}
	}
	client, err := sarama.NewClient(cfg.Brokers, cfg.Sarama())
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer func() { _ = client.Close() }()

	deadline := time.Now().Add(90 * time.Second)
	for round := 0; ; round++ {
		// Each append after segment.ms rolls the segment holding the keys,
		// which makes it eligible for cleaning.
		send(t, p, topic, "filler", fmt.Sprint(round))
		got, _ := readAll(t, client, topic)
		compacted := true
		for k := range keys {
			vals := got[fmt.Sprintf("k%d", k)]
			if len(vals) == 0 || vals[len(vals)-1] != fmt.Sprintf("v%d", versions-1) {
				t.Fatalf("key k%d: values %v, want the last one v%d to survive", k, vals, versions-1)
			}
			compacted = compacted && len(vals) == 1
		}
		if compacted {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s not compacted within 90s: values by key %v", topic, got)
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		}
	}
}

// TestDeleteTopicDropsExpiredRecords proves retention: records older than a
// topic's retention.ms disappear (the log start offset moves past them).
func TestDeleteTopicDropsExpiredRecords(t *testing.T) {
	t.Parallel()
	cfg := brokerForTest(t)
	admin := newAdmin(t, cfg)
	topic := "retention-" + testkit.UniqueSuffix(t)
	ensure(t, admin, kafka.TopicSpec{Name: topic, Partitions: 1, Configs: map[string]string{
		"cleanup.policy": "delete",
		"retention.ms":   "100",
		"segment.ms":     "100",
	}})
	p := newProducer(t, cfg)
	const n = 20
	for i := range n {
		send(t, p, topic, fmt.Sprint(i%4), fmt.Sprint(i))
	}
	client, err := sarama.NewClient(cfg.Brokers, cfg.Sarama())
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer func() { _ = client.Close() }()

	deadline := time.Now().Add(120 * time.Second)
	for round := 0; ; round++ {
		send(t, p, topic, "filler", fmt.Sprint(round))
		got, oldest := readAll(t, client, topic)
		if oldest >= n {
			for k, vals := range got {
				if k != "filler" {
					t.Fatalf("expired records still readable: key %s values %v", k, vals)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s: log start offset %d after 120s, want >= %d (retention did not delete)", topic, oldest, n)
		}
		select {
		case <-time.After(time.Second):
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		}
	}
}

// TestEnsureTopicsReportsDrift checks that an existing topic whose config
// differs from the spec is reported, never altered.
func TestEnsureTopicsReportsDrift(t *testing.T) {
	t.Parallel()
	cfg := brokerForTest(t)
	admin := newAdmin(t, cfg)
	topic := "drift-" + testkit.UniqueSuffix(t)
	spec := kafka.TopicSpec{Name: topic, Partitions: 2, Configs: map[string]string{"cleanup.policy": "compact"}}
	ensure(t, admin, spec)

	wanted := kafka.TopicSpec{Name: topic, Partitions: 3, Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": "1000"}}
	rep, err := kafka.EnsureTopics(admin, []kafka.TopicSpec{wanted})
	if err != nil {
		t.Fatalf("ensure: %v", err)
	}
	if len(rep.Created) != 0 || len(rep.Existed) != 1 {
		t.Fatalf("created %v existed %v, want only existed", rep.Created, rep.Existed)
	}
	got := map[string]kafka.Drift{}
	for _, d := range rep.Drift {
		got[d.What] = d
	}
	want := map[string][2]string{"partitions": {"3", "2"}, "cleanup.policy": {"delete", "compact"}, "retention.ms": {"1000", "604800000"}}
	if len(got) != len(want) {
		t.Fatalf("drift %v, want %d entries for %v", rep.Drift, len(want), want)
	}
	for what, wh := range want {
		d, ok := got[what]
		if !ok || d.Want != wh[0] || d.Have != wh[1] {
			t.Errorf("drift of %s: got %+v, want want=%s have=%s", what, d, wh[0], wh[1])
		}
	}
	// Nothing was changed.
	list, err := kafka.ListTopics(admin, false)
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	for _, ti := range list {
		if ti.Name == topic && (ti.Config("cleanup.policy", "delete") != "compact" || ti.Partitions != 2) {
			t.Errorf("topic after EnsureTopics: %d partitions, cleanup.policy %s; want it untouched (2, compact)", ti.Partitions, ti.Config("cleanup.policy", "delete"))
		}
	}
}

// TestEnsureTopicsConcurrentCreation checks that two processes creating the
// same topics at once both succeed.
func TestEnsureTopicsConcurrentCreation(t *testing.T) {
	t.Parallel()
	cfg := brokerForTest(t)
	admin := newAdmin(t, cfg)
	other := newAdmin(t, cfg)
	topic := "concurrent-" + testkit.UniqueSuffix(t)
	spec := kafka.TopicSpec{Name: topic, Partitions: 1, Configs: map[string]string{"retention.ms": "3600000"}}
	t.Cleanup(func() { _ = admin.DeleteTopic(topic) })

	errs := make(chan error, 2)
	for _, a := range []sarama.ClusterAdmin{admin, other} {
		go func() {
			rep, err := kafka.EnsureTopics(a, []kafka.TopicSpec{spec})
			if err == nil && rep.Drifted() {
				err = fmt.Errorf("unexpected drift: %v", rep.Drift)
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("ensure: %v", err)
		}
	}
}

// brokerForTest returns the test broker's config; integration tests skip
// under -short (make test-short).
func brokerForTest(t *testing.T) kafka.Config {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped with -short")
	}
	return testkit.Kafka(t)
}
