package inspect

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// TestInspectorOnKafka writes sales and a dead letter to topics of its own
// on the real broker and reads them back through the Inspector.
func TestInspectorOnKafka(t *testing.T) {
	kcfg := testkit.Kafka(t)
	names := testkit.Names(t, kcfg)
	sc := kcfg.Sarama()
	sc.Producer.Return.Successes = true
	sc.Consumer.Return.Errors = true
	client, err := sarama.NewClient(kcfg.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	prod, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	for s := 1; s <= 5; s++ {
		v, _ := json.Marshal(map[string]any{"store": s, "date": "2015-06-19", "sales": 100 * s})
		if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: string(names.Sales), Key: sarama.StringEncoder(topics.StoreKey(s)), Value: sarama.ByteEncoder(v)}); err != nil {
			t.Fatal(err)
		}
	}
	dl, _ := json.Marshal(topics.DeadLetter{V: 1, Source: string(names.Sales), Payload: "x", Reason: "sales: must not be negative", Stage: "features", At: time.Now()})
	if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: string(names.SalesDLQ), Key: sarama.StringEncoder("7"), Value: sarama.ByteEncoder(dl)}); err != nil {
		t.Fatal(err)
	}

	in, err := New(client, names, "")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	ts, err := in.Topics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != len(names.Specs()) {
		t.Fatalf("%d topics, want %d", len(ts), len(names.Specs()))
	}
	byName := map[string]Topic{}
	for _, x := range ts {
		byName[x.Name] = x
	}
	sales := byName[string(names.Sales)]
	if sales.Records != 5 || sales.CleanupPolicy != "delete" || len(sales.Partitions) != topics.Partitions {
		t.Fatalf("sales topic %+v: want 5 records, delete, %d partitions", sales, topics.Partitions)
	}
	if st := byName[string(names.StoreInfo)]; st.CleanupPolicy != "compact" {
		t.Fatalf("store_info cleanup %q, want compact", st.CleanupPolicy)
	}
	if !byName[string(names.SalesDLQ)].DeadLetter {
		t.Fatal("the sales DLQ is not marked as a dead-letter topic")
	}

	msgs, err := in.Messages(ctx, string(names.Sales), Query{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 || msgs[0].Encoding != "json" {
		t.Fatalf("latest 3 sales: %+v", msgs)
	}
	byKey, err := in.Messages(ctx, string(names.Sales), Query{Key: "4"})
	if err != nil {
		t.Fatal(err)
	}
	if len(byKey) != 1 || byKey[0].Key != "4" {
		t.Fatalf("messages with key 4: %+v", byKey)
	}
	dlq, err := in.Messages(ctx, string(names.SalesDLQ), Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dlq) != 1 || dlq[0].Reason != "sales: must not be negative" {
		t.Fatalf("dead letters: %+v", dlq)
	}
	counts, err := in.DeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		if c.Topic == string(names.SalesDLQ) && (c.Total != 1 || c.Reasons["sales"] != 1) {
			t.Fatalf("sales DLQ count %+v", c)
		}
	}
	if _, err := in.Messages(ctx, "not-a-topic-of-ours", Query{}); err == nil {
		t.Fatal("a foreign topic was read")
	}
	bad := int32(99)
	if _, err := in.Messages(ctx, string(names.Sales), Query{Partition: &bad}); err == nil {
		t.Fatal("partition 99 was read")
	}

	// A group with a commit on one partition of the sales topic.
	om, err := sarama.NewOffsetManagerFromClient(string(names.FeaturesGroup), client)
	if err != nil {
		t.Fatal(err)
	}
	var withData int32 = -1
	for _, p := range sales.Partitions {
		if p.Newest > 0 {
			withData = p.ID
			break
		}
	}
	pom, err := om.ManagePartition(string(names.Sales), withData)
	if err != nil {
		t.Fatal(err)
	}
	pom.MarkOffset(0, "")
	om.Commit()
	_ = pom.Close()
	_ = om.Close()
	groups, err := in.Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].Name != string(names.FeaturesGroup) {
		t.Fatalf("groups %+v, want the features group only", groups)
	}
	var lag int64
	for _, p := range groups[0].Partitions {
		if p.Topic == string(names.Sales) && p.Partition == withData {
			lag = p.Lag
		}
	}
	if want := byName[string(names.Sales)].Partitions[withData].Newest; lag != want {
		t.Fatalf("lag on partition %d = %d, want %d", withData, lag, want)
	}
}
