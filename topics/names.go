package topics

import (
	"strconv"

	"github.com/lovoo/goka"
)

// Partitions is the partition count of every per-store topic. Goka joins
// require copartitioned topics, so they all share it. Changing it requires
// re-creating the topics and replaying the input.
const Partitions = 8

// Topic, table and group names. Renaming a group resets its offsets.
const (
	// SalesStream is the input stream of daily sale events, keyed by store.
	SalesStream goka.Stream = "sale_rossman_store"
	// SalesDLQ receives sale events (and CSV rows) that failed validation.
	SalesDLQ goka.Stream = "sale_rossman_store.dlq"
	// StoreInfoTable is the compacted topic of store metadata, keyed by store.
	StoreInfoTable goka.Table = "store_info"
	// StoreInfoDLQ receives store metadata that failed validation.
	StoreInfoDLQ goka.Stream = "store_info.dlq"
	// TrainingExamples is the compacted topic of labelled feature vectors,
	// keyed by ExampleKey(store, date).
	TrainingExamples goka.Stream = "training_examples"
	// TrainRequests carries requests to train a model, keyed by request id.
	TrainRequests goka.Stream = "train_requests"
	// TrainResults carries the outcome of every train request, keyed by
	// request id; it is compacted so the latest outcome per request stays.
	TrainResults goka.Stream = "train_results"
	// Models is the compacted topic of promoted models, keyed by model name.
	Models goka.Table = "models"
	// ForecastRequests carries batch forecast requests, keyed by store.
	ForecastRequests goka.Stream = "forecast_requests"
	// ForecastResults carries every forecast served, keyed by store.
	ForecastResults goka.Stream = "forecast_results"
	// ForecastDLQ receives forecast requests that could not be answered.
	ForecastDLQ goka.Stream = "forecast_requests.dlq"

	// FeatureSnapshotRequests carries validation snapshot requests, keyed by store.
	FeatureSnapshotRequests goka.Stream = "feature_snapshot_requests"
	// FeatureSnapshots carries the answers, keyed by request id and store.
	FeatureSnapshots goka.Stream = "feature_snapshots"

	// FeaturesGroup is the Goka group that builds per-store state.
	FeaturesGroup goka.Group = "storecast-features"
	// ForecastGroup is the Goka group that answers forecast requests.
	ForecastGroup goka.Group = "storecast-forecast"
	// SinkGroup is the consumer group of the PostgreSQL sink. Its offsets
	// live in PostgreSQL; the group is used only for partition assignment.
	SinkGroup = "storecast-sink"
)

// StoreTable is the Goka group table holding per-store state.
var StoreTable = goka.GroupTable(FeaturesGroup)

// StoreKey is the message key of every per-store topic.
func StoreKey(store int) string { return strconv.Itoa(store) }

// ParseStoreKey parses a StoreKey.
func ParseStoreKey(key string) (int, error) {
	n, err := strconv.Atoi(key)
	if err != nil {
		return 0, &FieldError{Field: "key", Reason: "store key is not an integer: " + strconv.Quote(key)}
	}
	return n, nil
}

// ExampleKey is the key of a training example: "store|date". The store
// prefix keeps examples of one store on one partition with the default
// hash partitioner only if producers partition explicitly; Goka emitters
// do, using the store key's partition (see PartitionOf).
func ExampleKey(store int, d Date) string { return strconv.Itoa(store) + "|" + d.String() }

// Names holds every topic, table and group name one deployment uses.
// Production uses DefaultNames; tests give each run its own names with
// WithSuffix so they can share one broker.
type Names struct {
	Sales            goka.Stream
	SalesDLQ         goka.Stream
	StoreInfo        goka.Table
	StoreInfoDLQ     goka.Stream
	TrainingExamples goka.Stream
	TrainRequests    goka.Stream
	TrainResults     goka.Stream
	Models           goka.Table
	ForecastRequests goka.Stream
	ForecastResults  goka.Stream
	ForecastDLQ      goka.Stream
	SnapshotRequests goka.Stream
	Snapshots        goka.Stream
	FeaturesGroup    goka.Group
	ForecastGroup    goka.Group
	SinkGroup        string
}

// DefaultNames returns the production names.
func DefaultNames() Names {
	return Names{
		Sales: SalesStream, SalesDLQ: SalesDLQ, StoreInfo: StoreInfoTable, StoreInfoDLQ: StoreInfoDLQ,
		TrainingExamples: TrainingExamples, TrainRequests: TrainRequests, TrainResults: TrainResults,
		Models: Models, ForecastRequests: ForecastRequests, ForecastResults: ForecastResults,
		ForecastDLQ: ForecastDLQ, SnapshotRequests: FeatureSnapshotRequests, Snapshots: FeatureSnapshots, FeaturesGroup: FeaturesGroup, ForecastGroup: ForecastGroup, SinkGroup: SinkGroup,
	}
}

// StoreTable is the Goka group table of n.FeaturesGroup.
func (n Names) StoreTable() goka.Table { return goka.GroupTable(n.FeaturesGroup) }

// WithSuffix returns n with "-"+s appended to every name.
func (n Names) WithSuffix(s string) Names {
	s = "-" + s
	return Names{
		Sales: n.Sales + goka.Stream(s), SalesDLQ: n.SalesDLQ + goka.Stream(s),
		StoreInfo: n.StoreInfo + goka.Table(s), StoreInfoDLQ: n.StoreInfoDLQ + goka.Stream(s),
		TrainingExamples: n.TrainingExamples + goka.Stream(s), TrainRequests: n.TrainRequests + goka.Stream(s),
		TrainResults: n.TrainResults + goka.Stream(s), Models: n.Models + goka.Table(s),
		ForecastRequests: n.ForecastRequests + goka.Stream(s), ForecastResults: n.ForecastResults + goka.Stream(s),
		ForecastDLQ:      n.ForecastDLQ + goka.Stream(s),
		SnapshotRequests: n.SnapshotRequests + goka.Stream(s), Snapshots: n.Snapshots + goka.Stream(s),
		FeaturesGroup: n.FeaturesGroup + goka.Group(s),
		ForecastGroup: n.ForecastGroup + goka.Group(s), SinkGroup: n.SinkGroup + s,
	}
}
