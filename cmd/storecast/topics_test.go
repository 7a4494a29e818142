package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

func TestRetention(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "broker default"},
		{"-1", "forever"},
		{"604800000", "7d"},
		{"2592000000", "30d"},
		{"3600000", "1h0m0s"},
		{"abc", "abc"},
	}
	for _, tt := range tests {
		if got := retention(tt.in); got != tt.want {
			t.Errorf("retention(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWriteTopicList(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	err := writeTopicList(&b, []kafka.TopicInfo{
		{Name: "sale_rossman_store", Partitions: 8, Configs: map[string]string{"retention.ms": "-1"}},
		{Name: "store_info", Partitions: 8, Configs: map[string]string{"cleanup.policy": "compact"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := [][]string{
		{"NAME", "PARTITIONS", "CLEANUP", "RETENTION"},
		{"sale_rossman_store", "8", "delete", "forever"},
		{"store_info", "8", "compact", "-"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), b.String())
	}
	for i, w := range want {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("line %d = %q, want fields %v", i, lines[i], w)
		}
	}
}

// TestTopicsInitIsIdempotent runs `topics init` twice on the real broker:
// the first run creates every topic of the vocabulary with its configs, the
// second creates nothing and finds no drift.
func TestWriteDigest(t *testing.T) {
	t.Parallel()
	d := kafka.Digest{Topic: "training_examples", Records: 12, Keys: 10, SHA256: "ab12"}
	tests := []struct {
		name   string
		asJSON bool
		want   string
	}{
		{"text", false, "training_examples keys=10 records=12 sha256=ab12\n"},
		{"json", true, `{"topic":"training_examples","records":12,"keys":10,"sha256":"ab12"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeDigest(&b, d, tt.asJSON); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTopicsInitIsIdempotent(t *testing.T) {
	t.Parallel()
	cfg := brokerForTest(t)
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, cfg.Sarama())
	if err != nil {
		t.Fatalf("cluster admin: %v", err)
	}
	defer func() { _ = admin.Close() }()
	names := topics.DefaultNames().WithSuffix(testkit.UniqueSuffix(t))
	specs := specsOf(names)
	t.Cleanup(func() {
		for _, s := range specs {
			_ = admin.DeleteTopic(s.Name)
		}
	})

	var first bytes.Buffer
	if err := initTopics(admin, specs, true, &first); err != nil {
		t.Fatalf("first init: %v\n%s", err, first.String())
	}
	if got := strings.Count(first.String(), "created  "); got != len(specs) {
		t.Fatalf("first init created %d topics, want %d:\n%s", got, len(specs), first.String())
	}

	var second bytes.Buffer
	if err := initTopics(admin, specs, true, &second); err != nil {
		t.Fatalf("second init: %v\n%s", err, second.String())
	}
	out := second.String()
	if strings.Contains(out, "created  ") || strings.Contains(out, "drift  ") {
		t.Fatalf("second init created or drifted:\n%s", out)
	}
	if got := strings.Count(out, "exists   "); got != len(specs) {
		t.Fatalf("second init found %d existing topics, want %d:\n%s", got, len(specs), out)
	}

	// The broker holds what the specs say.
	list, err := kafka.ListTopics(admin, false)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]kafka.TopicInfo{}
	for _, ti := range list {
		byName[ti.Name] = ti
	}
	checks := []struct {
		topic      string
		partitions int32
		key, want  string
	}{
		{string(names.Sales), topics.Partitions, "retention.ms", "-1"},
		{string(names.Sales), topics.Partitions, "cleanup.policy", "delete"},
		{string(names.StoreInfo), topics.Partitions, "cleanup.policy", "compact"},
		{string(names.StoreTable()), topics.Partitions, "cleanup.policy", "compact"},
		{string(names.TrainingExamples), topics.Partitions, "cleanup.policy", "compact"},
		{string(names.Models), 1, "cleanup.policy", "compact"},
	}
	for _, c := range checks {
		ti, ok := byName[c.topic]
		if !ok {
			t.Errorf("topic %s missing after init", c.topic)
			continue
		}
		if ti.Partitions != c.partitions {
			t.Errorf("%s: %d partitions, want %d", c.topic, ti.Partitions, c.partitions)
		}
		if got := ti.Config(c.key, "delete"); got != c.want {
			t.Errorf("%s: %s = %q, want %q", c.topic, c.key, got, c.want)
		}
	}
}

// TestTopicsInitStrictFailsOnDrift changes the wanted config of an existing
// topic: init reports the drift, and only --strict turns it into an error.
func TestTopicsInitStrictFailsOnDrift(t *testing.T) {
	t.Parallel()
	cfg := brokerForTest(t)
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, cfg.Sarama())
	if err != nil {
		t.Fatalf("cluster admin: %v", err)
	}
	defer func() { _ = admin.Close() }()
	name := "strict-" + testkit.UniqueSuffix(t)
	t.Cleanup(func() { _ = admin.DeleteTopic(name) })
	spec := kafka.TopicSpec{Name: name, Partitions: 1, Configs: map[string]string{"retention.ms": "3600000"}}
	var out bytes.Buffer
	if err := initTopics(admin, []kafka.TopicSpec{spec}, true, &out); err != nil {
		t.Fatalf("create: %v", err)
	}

	spec.Configs = map[string]string{"retention.ms": "7200000"}
	out.Reset()
	if err := initTopics(admin, []kafka.TopicSpec{spec}, false, &out); err != nil {
		t.Fatalf("non-strict init with drift: %v", err)
	}
	if !strings.Contains(out.String(), "drift    "+name+": retention.ms") {
		t.Fatalf("drift not reported:\n%s", out.String())
	}
	out.Reset()
	err = initTopics(admin, []kafka.TopicSpec{spec}, true, &out)
	if !errors.Is(err, errDrift) {
		t.Fatalf("strict init with drift: err = %v, want errDrift", err)
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
