package ingest

import (
	"hash/fnv"
	"testing"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

// TestPartitionerMatchesGoka checks the producer's partitioner puts every
// store key on the partition goka uses: goka's default producer builder
// installs sarama.NewCustomHashPartitioner(goka.DefaultHasher()), and its
// processors and views find a key's partition with PartitionOf's formula.
func TestPartitionerMatchesGoka(t *testing.T) {
	t.Parallel()
	ours := SaramaConfig(kafka.Config{Brokers: []string{"127.0.0.1:9092"}}).Producer.Partitioner("sales")
	gokas := sarama.NewCustomHashPartitioner(goka.DefaultHasher())("sales")
	for _, n := range []int32{1, 3, topics.Partitions, 32} {
		used := map[int32]bool{}
		for store := 1; store <= 1115; store++ {
			key := topics.StoreKey(store)
			msg := &sarama.ProducerMessage{Topic: "sales", Key: sarama.StringEncoder(key)}
			got, err := ours.Partition(msg, n)
			if err != nil {
				t.Fatal(err)
			}
			want, err := gokas.Partition(msg, n)
			if err != nil {
				t.Fatal(err)
			}
			if got != want || got != PartitionOf(key, n) {
				t.Fatalf("key %s over %d partitions: ours %d, goka producer %d, goka lookup %d", key, n, got, want, PartitionOf(key, n))
			}
			used[got] = true
		}
		if int32(len(used)) != n {
			t.Errorf("1115 stores use %d of %d partitions", len(used), n)
		}
	}
	if !ours.RequiresConsistency() {
		t.Error("partitioner is not consistent: keys would move between partitions")
	}
	// The formula itself, independent of goka: FNV-1a, int32, |x| mod n.
	h := fnv.New32a()
	_, _ = h.Write([]byte("1115"))
	p := int32(h.Sum32())
	if p < 0 {
		p = -p
	}
	if got := PartitionOf("1115", 8); got != p%8 {
		t.Errorf("PartitionOf(1115, 8) = %d, want %d", got, p%8)
	}
}
