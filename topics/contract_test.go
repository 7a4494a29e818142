package topics_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/lovoo/goka"

	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// TestContractEvents decodes every shared event fixture strictly into its
// topics type and encodes it back: the same JSON, so every field of the
// fixture is one Go knows under the same name, and Go writes no field the
// fixture lacks.
func TestContractEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		into any
	}{
		{"train_request.json", new(topics.TrainRequest)},
		{"promote_request.json", new(topics.TrainRequest)},
		{"train_result.json", new(topics.TrainResult)},
		{"model_event.json", new(topics.ModelEvent)},
		{"training_example.json", new(topics.TrainingExample)},
		{"feature_snapshot_request.json", new(topics.FeatureSnapshotRequest)},
		{"feature_snapshot.json", new(topics.FeatureSnapshot)},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			raw := testkit.Contract(t, tc.file)
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tc.into); err != nil {
				t.Fatalf("decode %s strictly: %v", tc.file, err)
			}
			back, err := json.Marshal(tc.into)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			var got, want any
			if err := json.Unmarshal(back, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s round trip:\n got %s\nwant %s", tc.file, back, raw)
			}
		})
	}
}

type contractNames struct {
	Topics map[string]string `json:"topics"`
	Suffix struct {
		Suffix string `json:"suffix"`
		Models string `json:"models"`
	} `json:"suffix"`
	Partitions     int            `json:"partitions"`
	PartitionOfKey map[string]int `json:"partition_of_key"`
}

// TestContractNames checks the topic names, the suffix rule and goka's
// partitioner (which the trainer reimplements for snapshot requests)
// against names.json.
func TestContractNames(t *testing.T) {
	t.Parallel()
	var c contractNames
	if err := json.Unmarshal(testkit.Contract(t, "names.json"), &c); err != nil {
		t.Fatal(err)
	}
	n := topics.DefaultNames()
	got := map[string]string{
		"training_examples":         string(n.TrainingExamples),
		"train_requests":            string(n.TrainRequests),
		"train_results":             string(n.TrainResults),
		"models":                    string(n.Models),
		"feature_snapshot_requests": string(n.SnapshotRequests),
		"feature_snapshots":         string(n.Snapshots),
		"store_info":                string(n.StoreInfo),
	}
	if !reflect.DeepEqual(got, c.Topics) {
		t.Errorf("topic names: got %v, fixture %v", got, c.Topics)
	}
	if got := string(n.WithSuffix(c.Suffix.Suffix).Models); got != c.Suffix.Models {
		t.Errorf("suffixed models topic: got %q, fixture %q", got, c.Suffix.Models)
	}
	if c.Partitions != topics.Partitions {
		t.Errorf("partitions: got %d, fixture %d", topics.Partitions, c.Partitions)
	}
	for key, want := range c.PartitionOfKey {
		h := goka.DefaultHasher()()
		_, _ = h.Write([]byte(key))
		p := int32(h.Sum32())
		if p < 0 {
			p = -p
		}
		if got := int(p) % c.Partitions; got != want {
			t.Errorf("partition of key %q: goka %d, fixture %d", key, got, want)
		}
	}
}
