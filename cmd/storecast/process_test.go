package main

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// describedNames is a Registerer that records the name of every metric
// family registered on it (whether or not a series of it exists yet).
type describedNames struct {
	*prometheus.Registry
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *describedNames) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names[m[1]] = true
		}
	}
	return d.Registry.Register(c)
}

func (d *describedNames) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := d.Register(c); err != nil {
			panic(err)
		}
	}
}

// waitTopics waits until the broker's metadata lists every topic of n (a
// new topic reaches the metadata of other clients a moment after the
// admin call returns).
func waitTopics(t *testing.T, kc kafka.Config, n topics.Names) {
	t.Helper()
	client, err := sarama.NewClient(kc.Brokers, kc.Sarama())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range n.Specs() {
		for {
			if err := client.RefreshMetadata(s.Name); err == nil {
				if parts, err := client.Partitions(s.Name); err == nil && len(parts) == int(s.Partitions) {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("topic %s not in the metadata after 30s", s.Name)
			}
			time.Sleep(50 * time.Millisecond) // polling the broker with a deadline
		}
	}
}

// TestProcessRegistersNoAPIMetrics: `storecast process` builds its groups
// from processors, the forecasting core and views, never from api, so its
// /metrics has no storecast_api_ family (it had the whole API family when
// the forecast group was fed from api).
func TestProcessRegistersNoAPIMetrics(t *testing.T) {
	t.Parallel()
	kc := testkit.Kafka(t)
	names := testkit.Names(t, kc)
	waitTopics(t, kc, names)
	reg := &describedNames{Registry: prometheus.NewRegistry(), names: map[string]bool{}}
	c := &ProcessCmd{Only: []string{"features", "forecast"}}
	g := &Globals{Brokers: strings.Join(kc.Brokers, ",")}
	groups, err := c.groups(g, names, slog.New(slog.DiscardHandler), reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"storecast_forecast_requests_total", "storecast_forecast_predictions_total", "storecast_model_events_total", "storecast_model_info"} {
		if !reg.names[want] {
			t.Errorf("process registers no %s (registered: %v)", want, reg.names)
		}
	}
	for n := range reg.names {
		if strings.HasPrefix(n, "storecast_api_") {
			t.Errorf("process registers %s", n)
		}
	}
	// The model the forecast group serves shows on its /metrics.
	for _, p := range groups {
		if p.name != "forecast" {
			continue
		}
		fg, ok := p.group.(*forecastGroup)
		if !ok {
			t.Fatalf("forecast group is a %T", p.group)
		}
		if err := fg.registry.Offer(context.Background(), testkit.ModelEvent("7", 100, 200)); err != nil {
			t.Fatal(err)
		}
	}
	if got := testkit.Metric(t, reg, "storecast_model_info", "model_name", "storecast-sales", "model_version", "7"); got != 1 {
		t.Errorf("storecast_model_info{model_version=7} = %v, want 1 once the forecast group loaded version 7", got)
	}
}
