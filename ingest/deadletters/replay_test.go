package deadletters

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/ingest"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

var day = topics.DateFromYMD(2015, 6, 1)

func saleJSON(t testing.TB, mod func(*topics.Sale)) []byte {
	t.Helper()
	s := topics.Sale{V: topics.SaleVersion, Store: 7, DayOfWeek: day.Weekday(), Date: day, Sales: 5000, Customers: 500, Open: 1, StateHoliday: "0"}
	if mod != nil {
		mod(&s)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func letter(t testing.TB, dl topics.DeadLetter) []byte {
	t.Helper()
	b, err := json.Marshal(dl)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecide(t *testing.T) {
	t.Parallel()
	n := topics.DefaultNames()
	cases := []struct {
		name   string
		raw    []byte
		action Action
		why    string
	}{
		{"unknown store, now valid", letter(t, topics.DeadLetter{Source: string(n.Sales), Key: "7", Stage: "features",
			Reason: "store: store 7 is not in store_info (unknown store)", Payload: string(saleJSON(t, nil))}), Replay, "sale of store 7 on 2015-06-01"},
		{"still invalid", letter(t, topics.DeadLetter{Source: string(n.Sales), Key: "7", Stage: "features",
			Payload: string(saleJSON(t, func(s *topics.Sale) { s.Promo = 2 }))}), Skip, "still invalid"},
		{"undecodable payload", letter(t, topics.DeadLetter{Source: string(n.Sales), Key: "7", Payload: "{nope"}), Skip, "still undecodable"},
		{"wrong key", letter(t, topics.DeadLetter{Source: string(n.Sales), Key: "8", Payload: string(saleJSON(t, nil))}), Skip, "not the sale's store key"},
		{"CSV row", letter(t, topics.DeadLetter{Source: "file", File: "train.csv", Line: 9, Payload: "7,5,2015-06-01"}), Skip, "train.csv line 9"},
		{"store info now valid", letter(t, topics.DeadLetter{Source: string(n.StoreInfo), Key: "7",
			Payload: `{"v":1,"store":7,"store_type":"a","assortment":"a"}`}), Replay, "store info of store 7"},
		{"not a dead letter", []byte("nope"), Skip, "not a dead letter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d := Decide(n, c.raw)
			if d.Action != c.action || !strings.Contains(d.Why, c.why) {
				t.Errorf("got %s %q, want %s containing %q", d.Action, d.Why, c.action, c.why)
			}
			if d.Action == Replay && (d.Topic == "" || d.Key != "7") {
				t.Errorf("replay to %q key %q", d.Topic, d.Key)
			}
		})
	}
}

// TestReplayOnTheBroker: a dry run sends nothing; a replay sends the one
// fixed sale back to the sales topic on its store's partition; a second
// replay finds nothing new.
func TestReplayOnTheBroker(t *testing.T) {
	cfg := testkit.Kafka(t)
	n := testkit.Names(t, cfg)
	testkit.CreateTopics(t, cfg, n)
	p, err := sarama.NewSyncProducer(cfg.Brokers, ingest.SaramaConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	good := saleJSON(t, nil)
	for _, dl := range []topics.DeadLetter{
		{Source: string(n.Sales), Key: "7", Stage: "features", Reason: "store 7 is not in store_info (unknown store)", Payload: string(good)},
		{Source: string(n.Sales), Key: "7", Stage: "features", Payload: string(saleJSON(t, func(s *topics.Sale) { s.Open = 0 }))},
		{Source: "file", File: "train.csv", Line: 3, Payload: "x"},
	} {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: string(n.SalesDLQ), Key: sarama.StringEncoder(dl.Key), Value: sarama.ByteEncoder(letter(t, dl))}); err != nil {
			t.Fatal(err)
		}
	}
	_ = p.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Per-test group: the suffix of the names.
	run := func(dry bool) (Summary, string) {
		var out bytes.Buffer
		sum, err := Run(ctx, Config{Names: n, Kafka: cfg, DryRun: dry, Group: Group + "-" + string(n.Sales)}, &out)
		if err != nil {
			t.Fatal(err)
		}
		return sum, out.String()
	}
	if sum, out := run(true); sum != (Summary{Read: 3, Replayed: 1, Skipped: 2}) || !strings.Contains(out, "replay: sale of store 7") {
		t.Fatalf("dry run: %+v\n%s", sum, out)
	}
	if got := testkit.ReadTopic(t, cfg, string(n.Sales)); len(got) != 0 {
		t.Fatalf("the dry run sent %d records", len(got))
	}
	if sum, _ := run(false); sum != (Summary{Read: 3, Replayed: 1, Skipped: 2}) {
		t.Fatalf("replay: %+v", sum)
	}
	got := testkit.ReadTopic(t, cfg, string(n.Sales))
	if len(got) != 1 || got[0].Key != "7" || !bytes.Equal(got[0].Value, good) || got[0].Partition != ingest.PartitionOf("7", topics.Partitions) {
		t.Fatalf("sales topic after the replay: %+v", got)
	}
	if sum, out := run(false); sum != (Summary{}) {
		t.Fatalf("second replay: %+v\n%s", sum, out)
	}
	if got := testkit.ReadTopic(t, cfg, string(n.Sales)); len(got) != 1 {
		t.Fatalf("the second replay sent again: %d records", len(got))
	}
}
