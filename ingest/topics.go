package ingest

import (
	"fmt"
	"log/slog"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

// EnsureTopics creates the topics a producer writes (sales, store info and
// their DLQs) when missing, with their specs from package topics, so a run
// never relies on broker-side auto-creation (which would pick the wrong
// partition count). Drift is logged, not fixed.
func EnsureTopics(kc kafka.Config, n topics.Names, log *slog.Logger) error {
	admin, err := sarama.NewClusterAdmin(kc.Brokers, kc.Sarama())
	if err != nil {
		return fmt.Errorf("cluster admin: %w", err)
	}
	defer func() { _ = admin.Close() }()
	want := map[string]bool{string(n.Sales): true, string(n.SalesDLQ): true, string(n.StoreInfo): true, string(n.StoreInfoDLQ): true}
	var specs []kafka.TopicSpec
	for _, s := range n.Specs() {
		if want[s.Name] {
			specs = append(specs, kafka.TopicSpec{Name: s.Name, Partitions: s.Partitions, Configs: s.Configs})
		}
	}
	rep, err := kafka.EnsureTopics(admin, specs)
	if err != nil {
		return fmt.Errorf("ensure topics: %w", err)
	}
	for _, name := range rep.Created {
		log.Info("created topic", "topic", name)
	}
	for _, d := range rep.Drift {
		log.Warn("topic differs from its spec", "drift", d.String())
	}
	return nil
}
