package ingest

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// produce runs a Producer for in against the test broker.
func produce(t *testing.T, cfg kafka.Config, names topics.Names, in Input) Summary {
	t.Helper()
	ap, err := NewAsyncProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := New(ap, Config{Names: names}, quiet(), m).Run(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// expectedSales reads train.csv with encoding/csv (independently of package
// kaggle) and returns the rows dated from..to, keyed by store and date.
func expectedSales(t *testing.T, path string, from, to topics.Date) map[[2]int]topics.Sale {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[[2]int]topics.Sale{}
	for _, r := range rows[1:] {
		d, err := topics.ParseDate(r[2])
		if err != nil {
			t.Fatal(err)
		}
		if d < from || d > to {
			continue
		}
		n := make([]int, 9)
		for _, i := range []int{0, 1, 3, 4, 5, 6, 8} {
			if n[i], err = strconv.Atoi(r[i]); err != nil {
				t.Fatal(err)
			}
		}
		s := topics.Sale{V: 1, Store: n[0], DayOfWeek: n[1], Date: d, Sales: n[3], Customers: n[4], Open: n[5], Promo: n[6], StateHoliday: r[7], SchoolHoliday: n[8]}
		out[[2]int{s.Store, int(d)}] = s
	}
	return out
}

// TestIntegrationKaggleSlice produces the 1,115 stores of store.csv and a
// 30-day slice of train.csv to a real broker and consumes them back:
// exactly those events, keyed by store, each on the partition goka uses,
// dates ascending within each store.
func TestIntegrationKaggleSlice(t *testing.T) {
	t.Parallel()
	cfg := testkit.Kafka(t)
	dir := testkit.DataDir(t)
	names := testkit.Names(t, cfg)
	from, to := topics.DateFromYMD(2015, 5, 21), topics.DateFromYMD(2015, 6, 19)

	in, err := LoadKaggle(KaggleFiles{Store: dir + "/store.csv", Train: dir + "/train.csv", From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	want := expectedSales(t, dir+"/train.csv", from, to)
	if len(in.Sales) != len(want) || len(in.Stores) != 1115 {
		t.Fatalf("input has %d sales and %d stores, want %d and 1115", len(in.Sales), len(in.Stores), len(want))
	}
	sum := produce(t, cfg, names, in)
	if sum.Sales != int64(len(want)) || sum.Stores != 1115 || sum.Rejected != 0 {
		t.Fatalf("summary %+v", sum)
	}

	stores := testkit.ReadTopic(t, cfg, string(names.StoreInfo))
	if len(stores) != 1115 {
		t.Errorf("store_info holds %d records, want 1115", len(stores))
	}
	seen := map[int]bool{}
	for _, r := range stores {
		v, err := topics.StoreInfoCodec{}.Decode(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		s := v.(*topics.StoreInfo)
		if r.Key != topics.StoreKey(s.Store) || r.Partition != PartitionOf(r.Key, topics.Partitions) || seen[s.Store] {
			t.Errorf("store record %q on partition %d: store %d (seen before: %v)", r.Key, r.Partition, s.Store, seen[s.Store])
		}
		seen[s.Store] = true
	}

	sales := testkit.ReadTopic(t, cfg, string(names.Sales))
	if len(sales) != len(want) {
		t.Errorf("%s holds %d records, want %d", names.Sales, len(sales), len(want))
	}
	last := map[int]topics.Date{}
	for _, r := range sales {
		v, err := topics.SaleCodec{}.Decode(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		s := *v.(*topics.Sale)
		k := [2]int{s.Store, int(s.Date)}
		w, ok := want[k]
		if !ok {
			t.Fatalf("unexpected or repeated sale %+v", s)
		}
		if s != w {
			t.Fatalf("sale %v: got %+v, want %+v", k, s, w)
		}
		delete(want, k)
		if r.Key != topics.StoreKey(s.Store) {
			t.Fatalf("sale of store %d keyed %q", s.Store, r.Key)
		}
		if p := PartitionOf(r.Key, topics.Partitions); r.Partition != p {
			t.Fatalf("key %s on partition %d, goka expects %d", r.Key, r.Partition, p)
		}
		if s.Date <= last[s.Store] {
			t.Fatalf("store %d: %s after %s", s.Store, s.Date, last[s.Store])
		}
		last[s.Store] = s.Date
	}
	if len(want) != 0 {
		t.Errorf("%d sales never arrived", len(want))
	}
}

// TestIntegrationMalformedRows produces a file with 20 malformed lines
// mixed with 30 valid ones: exactly 20 DLQ records with the right file,
// line and reason, and every valid line arrives.
func TestIntegrationMalformedRows(t *testing.T) {
	t.Parallel()
	cfg := testkit.Kafka(t)
	dir := testkit.DataDir(t)
	names := testkit.Names(t, cfg)
	in, err := LoadKaggle(KaggleFiles{Store: dir + "/store.csv", Train: "testdata/bad_train.csv"})
	if err != nil {
		t.Fatal(err)
	}
	sum := produce(t, cfg, names, in)
	if sum.Sales != 30 || sum.Rejected != 20 {
		t.Errorf("summary %+v, want 30 sales and 20 rejected", sum)
	}
	wantFields := readWant(t)
	dlq := testkit.ReadTopic(t, cfg, string(names.SalesDLQ))
	if len(dlq) != 20 {
		t.Errorf("DLQ holds %d records, want 20", len(dlq))
	}
	for _, r := range dlq {
		v, err := topics.DeadLetterCodec{}.Decode(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		dl := v.(*topics.DeadLetter)
		field, ok := wantFields[dl.Line]
		if !ok {
			t.Errorf("dead letter for line %d, which is valid: %+v", dl.Line, dl)
			continue
		}
		delete(wantFields, dl.Line)
		if dl.File != "bad_train.csv" || dl.Stage != Stage || dl.Payload == "" {
			t.Errorf("line %d: dead letter %+v", dl.Line, dl)
		}
		named := field == "parse" && len(dl.Fields) == 0 || len(dl.Fields) > 0 && dl.Fields[0] == field
		if !named {
			t.Errorf("line %d: fields %v (reason %q), want %q", dl.Line, dl.Fields, dl.Reason, field)
		}
	}
	if len(wantFields) != 0 {
		t.Errorf("no dead letter for lines %v", wantFields)
	}
	if got := len(testkit.ReadTopic(t, cfg, string(names.Sales))); got != 30 {
		t.Errorf("%d valid sales arrived, want 30", got)
	}
}

func readWant(t *testing.T) map[int]string {
	t.Helper()
	data, err := os.ReadFile("testdata/bad_train.want")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	var line int
	var field string
	for _, l := range strings.Split(string(data), "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		if _, err := fmt.Sscan(l, &line, &field); err != nil {
			t.Fatal(err)
		}
		out[line] = field
	}
	return out
}
