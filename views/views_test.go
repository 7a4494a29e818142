package views

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

func testViews(t *testing.T) (*Views, *tester.Tester, topics.Names) {
	t.Helper()
	return testViewsWith(t, features.Clock{})
}

// testViewsWith is testViews with the given clock.
func testViewsWith(t *testing.T, clock features.Clock) (*Views, *tester.Tester, topics.Names) {
	t.Helper()
	tt := tester.New(t)
	n := topics.DefaultNames()
	cfg := Config{Names: n, Kafka: kafka.Config{Brokers: []string{"tester:9092"}}, Clock: clock}
	states, err := NewStoreStates(cfg, nil, goka.WithViewTester(tt))
	if err != nil {
		t.Fatal(err)
	}
	infos, err := NewStoreInfos(cfg, nil, goka.WithViewTester(tt))
	if err != nil {
		t.Fatal(err)
	}
	v := &Views{States: states, Infos: infos}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("views: %v", err)
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := v.WaitRecovered(wctx); err != nil {
		t.Fatalf("views not recovered: %v", err)
	}
	return v, tt, n
}

func stateOf(from, to topics.Date) *features.State {
	var s features.State
	for d := from; d <= to; d++ {
		s.Apply(features.Fact{Date: d, Open: d.Weekday() != 7, Sales: uint32(1000 * (d.Weekday() % 7)), Customers: 100})
	}
	return &s
}

func TestViewsGetTypedValues(t *testing.T) {
	v, tt, n := testViews(t)
	day := topics.DateFromYMD(2015, 6, 19)
	tt.SetTableValue(n.StoreTable(), "3", stateOf(day-200, day))
	tt.SetTableValue(n.StoreTable(), "12", stateOf(day-100, day-3))
	tt.SetTableValue(n.StoreInfo, "3", &topics.StoreInfo{V: 1, Store: 3, StoreType: "b", Assortment: "a"})

	st, found, err := v.States.Get(3)
	if err != nil || !found {
		t.Fatalf("get 3: %v, %v", found, err)
	}
	if l, _ := st.Latest(); l != day {
		t.Errorf("latest of 3 = %s", l)
	}
	if _, found, err := v.States.Get(4); found || err != nil {
		t.Errorf("get 4: found %v, err %v", found, err)
	}
	si, found, err := v.Infos.Get(3)
	if err != nil || !found || si.StoreType != "b" || si.Features.Store != 3 {
		t.Fatalf("info 3: %+v, %v, %v", si, found, err)
	}
	ids, err := v.States.Stores()
	if err != nil || !slices.Equal(ids, []int{3, 12}) {
		t.Errorf("stores = %v, %v", ids, err)
	}
	if l, ok, err := v.States.Latest(); err != nil || !ok || l != day {
		t.Errorf("latest = %s, %v, %v", l, ok, err)
	}

	gotState, gotInfo, found, err := v.StoreState(3)
	if err != nil || !found {
		t.Fatalf("store 3: %v %v", found, err)
	}
	if gotState != st || gotInfo.Store != si.Features.Store || gotInfo != &si.Features {
		t.Errorf("store 3: the state and info are not the views' shared values")
	}
	if _, _, found, _ := v.StoreState(12); found {
		t.Errorf("store 12 has no store_info but was found")
	}
	if ids, err := v.StoreIDs(); err != nil || !slices.Equal(ids, []int{3}) {
		t.Errorf("store ids = %v, %v; want [3] (12 has no store_info)", ids, err)
	}
	if l, ok, err := v.LatestDay(); err != nil || !ok || l != day {
		t.Errorf("latest day = %s, %v, %v", l, ok, err)
	}

	// Cached decoding returns the same value for unchanged bytes.
	again, _, _ := v.States.Get(3)
	if again != st {
		t.Errorf("an unchanged state was decoded again")
	}
}

func TestViewsCollector(t *testing.T) {
	v, tt, n := testViews(t)
	tt.SetTableValue(n.StoreTable(), "1", stateOf(100, 200))
	tt.SetTableValue(n.StoreInfo, "1", &topics.StoreInfo{V: 1, Store: 1, StoreType: "a", Assortment: "a"})
	reg := prometheus.NewRegistry()
	if err := reg.Register(v.Collector()); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "storecast_view_recovered", "storecast_view_table_stores", "storecast_view_table_bytes", "storecast_view_lag_messages"); err != nil || n != 8 {
		t.Fatalf("gathered %d series, err %v; want 8", n, err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "storecast_view_table_stores" {
			for _, m := range mf.GetMetric() {
				if m.GetGauge().GetValue() != 1 {
					t.Errorf("table_stores{%v} = %v, want 1", m.GetLabel(), m.GetGauge().GetValue())
				}
			}
		}
	}
}

func TestCorruptStateIsAnError(t *testing.T) {
	c := &cache[*features.State]{m: map[string]*features.State{}, max: 2, decode: func(b []byte) (*features.State, error) {
		s := new(features.State)
		return s, s.UnmarshalBinary(b)
	}}
	if _, err := c.get([]byte{9, 9, 9}); !errors.Is(err, features.ErrCorrupt) {
		t.Errorf("err %v, want ErrCorrupt", err)
	}
	for i := range 5 { // past max the cache starts over instead of growing
		b, _ := stateOf(topics.Date(100+i), 200).MarshalBinary()
		if _, err := c.get(b); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.m) > 2 {
		t.Errorf("cache holds %d entries, max 2", len(c.m))
	}
}

// TestAsOfQuorumAndStaleStores: one store far ahead does not move the
// as-of day; a store silent for 60 days is left out of the stores to
// forecast and reported as excluded. A configured clock (--as-of-quorum,
// --stale-days) moves both.
func TestAsOfQuorumAndStaleStores(t *testing.T) {
	day := topics.DateFromYMD(2015, 6, 19)
	far := topics.DateFromYMD(2030, 1, 1)
	cases := []struct {
		name     string
		clock    features.Clock
		asOf     topics.Date
		ids      []int
		excluded []int
		reason   string
	}{
		{"defaults", features.Clock{}, day, []int{1, 2, 3}, []int{4, 5}, "60 days before the as-of day (more than 28)"},
		{"stale after 90 days", features.Clock{StaleDays: 90}, day, []int{1, 2, 3, 5}, []int{4}, ""},
		{"quorum 0.8: the store a day behind sets it", features.Clock{Quorum: 0.8}, day - 1, []int{1, 2, 3}, []int{4, 5}, "59 days before"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, tt, n := testViewsWith(t, c.clock)
			for store, last := range map[int]topics.Date{1: day, 2: day, 3: day - 1, 4: far, 5: day - 60} {
				tt.SetTableValue(n.StoreTable(), topics.StoreKey(store), stateOf(last-100, last))
				tt.SetTableValue(n.StoreInfo, topics.StoreKey(store), &topics.StoreInfo{V: 1, Store: store, StoreType: "a", Assortment: "a"})
			}
			if l, ok, err := v.LatestDay(); err != nil || !ok || l != c.asOf {
				t.Fatalf("as-of day %s %v %v, want %s (the 2030 store does not count)", l, ok, err, c.asOf)
			}
			if ids, err := v.StoreIDs(); err != nil || !slices.Equal(ids, c.ids) {
				t.Errorf("store ids %v %v, want %v", ids, err, c.ids)
			}
			rep, ok, err := v.AsOfReport()
			if err != nil || !ok || rep.Day != c.asOf || rep.Stores != 5 || len(rep.Excluded) != len(c.excluded) || rep.Rule != c.clock.Rule() {
				t.Fatalf("as-of report %+v %v %v", rep, ok, err)
			}
			for i, x := range rep.Excluded {
				if x.Store != c.excluded[i] {
					t.Errorf("excluded %+v, want stores %v", rep.Excluded, c.excluded)
				}
				if x.Store == 5 && (x.Latest != day-60 || !strings.Contains(x.Reason, c.reason)) {
					t.Errorf("store 5 excluded as %+v, want reason with %q", x, c.reason)
				}
			}
		})
	}
}
