package topics

// Spec is the wanted configuration of one topic. `storecast topics init`
// creates missing topics from Specs and reports drift on existing ones.
type Spec struct {
	Name       string
	Partitions int32
	// Configs are Kafka topic configs (cleanup.policy, retention.ms, ...).
	Configs map[string]string
}

const (
	retainForever = "-1"
	week          = "604800000"
	month         = "2592000000"
)

func compacted(extra map[string]string) map[string]string {
	c := map[string]string{
		"cleanup.policy":            "compact",
		"min.cleanable.dirty.ratio": "0.1",
		"segment.bytes":             "67108864",
		"segment.ms":                "600000",
		"delete.retention.ms":       "86400000",
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// Specs returns the wanted configuration of every topic in n.
func (n Names) Specs() []Spec {
	return []Spec{
		// The input log is the source of truth: kept forever.
		{Name: string(n.Sales), Partitions: Partitions, Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": retainForever}},
		{Name: string(n.SalesDLQ), Partitions: 1, Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": month}},
		{Name: string(n.StoreInfo), Partitions: Partitions, Configs: compacted(nil)},
		{Name: string(n.StoreInfoDLQ), Partitions: 1, Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": month}},
		{Name: string(n.StoreTable()), Partitions: Partitions, Configs: compacted(nil)},
		{Name: string(n.TrainingExamples), Partitions: Partitions, Configs: compacted(nil)},
		{Name: string(n.TrainRequests), Partitions: 1, Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": week}},
		{Name: string(n.TrainResults), Partitions: 1, Configs: compacted(nil)},
		{Name: string(n.Models), Partitions: 1, Configs: compacted(map[string]string{"max.message.bytes": "16777216"})},
		{Name: string(n.ForecastRequests), Partitions: Partitions, Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": week}},
		{Name: string(n.ForecastResults), Partitions: Partitions, Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": month}},
		{Name: string(n.SnapshotRequests), Partitions: Partitions, Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": week}},
		{Name: string(n.Snapshots), Partitions: 1, Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": week, "max.message.bytes": "16777216"}},
		{Name: string(n.ForecastDLQ), Partitions: 1, Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": month}},
	}
}
