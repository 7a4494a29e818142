package features

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	feat "github.com/storecast/storecast/features"
	"github.com/storecast/storecast/ingest"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// runProcessor runs the features processor on names n until the returned
// stop is called.
func runProcessor(t *testing.T, cfg kafka.Config, n topics.Names) (stop func()) {
	t.Helper()
	p, err := New(Config{Names: n, Kafka: cfg, StorageDir: t.TempDir(), MaxDaysAhead: feat.DefaultMaxDaysAhead}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("processor: %v", err)
		}
	}
}

// subset keeps the store info and sales of the stores keep accepts.
func subset(all ingest.Input, keep func(store int) bool) ingest.Input {
	var in ingest.Input
	for _, s := range all.Stores {
		if keep(s.Store) {
			in.Stores = append(in.Stores, s)
		}
	}
	for _, s := range all.Sales {
		if keep(s.Store) {
			in.Sales = append(in.Sales, s)
		}
	}
	return in
}

// TestStoreInfoOrderGivesTheSameState loads the same data three times on
// the real broker, each on its own topics, with the store info produced
// before the sales, after them, and in the middle of them, while the
// processor runs: the store tables and training_examples must be
// byte-identical (the same digest), and no sale dead-lettered.
func TestStoreInfoOrderGivesTheSameState(t *testing.T) {
	if testing.Short() {
		t.Skip("three loads on the real broker")
	}
	cfg := testkit.Kafka(t)
	in := subset(loadRossmann(t), func(store int) bool { return store%28 == 1 }) // 40 stores
	half := len(in.Sales) / 2
	wait := func(n topics.Names) {
		waitCommitted(t, cfg, string(n.FeaturesGroup), string(n.Sales), 5*time.Minute)
		waitCommitted(t, cfg, string(n.FeaturesGroup), string(n.StoreInfo), 5*time.Minute)
	}
	loads := []struct {
		name string
		load func(n topics.Names)
	}{
		{"store_info first", func(n topics.Names) {
			produce(t, cfg, n, ingest.Input{Stores: in.Stores})
			waitCommitted(t, cfg, string(n.FeaturesGroup), string(n.StoreInfo), 5*time.Minute)
			produce(t, cfg, n, ingest.Input{Sales: in.Sales})
		}},
		{"store_info last", func(n topics.Names) {
			produce(t, cfg, n, ingest.Input{Sales: in.Sales})
			waitCommitted(t, cfg, string(n.FeaturesGroup), string(n.Sales), 5*time.Minute)
			produce(t, cfg, n, ingest.Input{Stores: in.Stores})
		}},
		{"interleaved", func(n topics.Names) {
			produce(t, cfg, n, ingest.Input{Sales: in.Sales[:half]})
			produce(t, cfg, n, ingest.Input{Stores: in.Stores})
			produce(t, cfg, n, ingest.Input{Sales: in.Sales[half:]})
		}},
	}
	var first [2]kafka.Digest
	for i, l := range loads {
		n := testkit.Names(t, cfg)
		testkit.CreateTopics(t, cfg, n)
		stop := runProcessor(t, cfg, n)
		l.load(n)
		wait(n)
		stop()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var got [2]kafka.Digest
		var err error
		for j, topic := range []string{string(n.StoreTable()), string(n.TrainingExamples)} {
			if got[j], err = kafka.TopicDigest(ctx, cfg, topic); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		t.Logf("%s: table %d keys %s; examples %d keys %s", l.name, got[0].Keys, got[0].SHA256[:12], got[1].Keys, got[1].SHA256[:12])
		if got[0].Keys != len(in.Stores) || got[1].Keys < len(in.Sales)/2 {
			t.Errorf("%s: %d states and %d examples for %d stores, %d sales", l.name, got[0].Keys, got[1].Keys, len(in.Stores), len(in.Sales))
		}
		if dlq := hwm(t, cfg, string(n.SalesDLQ)); dlq != 0 {
			t.Errorf("%s: %d dead letters", l.name, dlq)
		}
		if i == 0 {
			first = got
			continue
		}
		for j := range got {
			if got[j].SHA256 != first[j].SHA256 || got[j].Keys != first[j].Keys {
				t.Errorf("%s: %s digest %s (%d keys), want %s (%d keys) as with %s", l.name, []string{"table", "examples"}[j],
					got[j].SHA256, got[j].Keys, first[j].SHA256, first[j].Keys, loads[0].name)
			}
		}
	}
}

// TestFarFutureSaleChangesNothing: on the real broker, one well-formed
// sale dated 2030-01-01 for a store with history lands in the DLQ with its
// reason and leaves the store table and training_examples as they were.
func TestFarFutureSaleChangesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("a load on the real broker")
	}
	cfg := testkit.Kafka(t)
	in := subset(loadRossmann(t), func(store int) bool { return store == 7 || store == 8 })
	n := testkit.Names(t, cfg)
	testkit.CreateTopics(t, cfg, n)
	stop := runProcessor(t, cfg, n)
	defer stop()
	produce(t, cfg, n, in)
	waitCommitted(t, cfg, string(n.FeaturesGroup), string(n.Sales), 5*time.Minute)
	digests := func() (table, examples kafka.Digest) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var err error
		if table, err = kafka.TopicDigest(ctx, cfg, string(n.StoreTable())); err != nil {
			t.Fatal(err)
		}
		if examples, err = kafka.TopicDigest(ctx, cfg, string(n.TrainingExamples)); err != nil {
			t.Fatal(err)
		}
		return table, examples
	}
	table, examples := digests()
	far := topics.DateFromYMD(2030, 1, 1)
	produce(t, cfg, n, ingest.Input{Sales: []topics.Sale{{V: topics.SaleVersion, Store: 7, DayOfWeek: far.Weekday(), Date: far,
		Sales: 9000, Customers: 900, Open: 1, StateHoliday: "0"}}})
	waitCommitted(t, cfg, string(n.FeaturesGroup), string(n.Sales), 2*time.Minute)
	if t2, e2 := digests(); t2.SHA256 != table.SHA256 || e2.SHA256 != examples.SHA256 {
		t.Errorf("the 2030 sale changed the table (%v) or the examples (%v)", t2.SHA256 != table.SHA256, e2.SHA256 != examples.SHA256)
	}
	dlq := testkit.ReadTopic(t, cfg, string(n.SalesDLQ))
	if len(dlq) != 1 || !strings.Contains(string(dlq[0].Value), "2030-01-01") || !strings.Contains(string(dlq[0].Value), "max-days-ahead") {
		t.Fatalf("dead letters %d: %s", len(dlq), func() string {
			if len(dlq) == 0 {
				return ""
			}
			return string(dlq[0].Value)
		}())
	}
}
