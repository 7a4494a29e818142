package forecast

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/forecasting/forecastingtest"
	"github.com/storecast/storecast/topics"
)

var lastDay = topics.DateFromYMD(2015, 6, 19)

func storeState(t *testing.T, store int) *features.State {
	return forecastingtest.StoreState(t, store, lastDay)
}

func storeInfo(store int) *topics.StoreInfo {
	dist := 1270.0
	return &topics.StoreInfo{V: 1, Store: store, StoreType: "c", Assortment: "a", CompetitionDistance: &dist}
}

type fixture struct {
	tt      *tester.Tester
	names   topics.Names
	models  *forecastingtest.Models
	results *tester.QueueTracker
	dlq     *tester.QueueTracker
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	tt := tester.New(t)
	f := &fixture{tt: tt, names: topics.DefaultNames(), models: forecastingtest.NewModels("7")}
	p := New(f.names, f.models, NewMetrics(prometheus.NewRegistry()), nil)
	proc, err := goka.NewProcessor(nil, p.DefineGroup(), goka.WithTester(tt))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := proc.Run(t.Context()); err != nil {
			t.Errorf("processor: %v", err)
		}
	}()
	t.Cleanup(func() { proc.Stop(); <-done })
	tt.SetTableValue(f.names.StoreTable(), "1", storeState(t, 1))
	tt.SetTableValue(goka.Table(f.names.StoreInfo), "1", storeInfo(1))
	tt.SetTableValue(f.names.StoreTable(), "2", storeState(t, 2)) // no store info
	f.results = tt.NewQueueTracker(string(f.names.ForecastResults))
	f.dlq = tt.NewQueueTracker(string(f.names.ForecastDLQ))
	return f
}

func (f *fixture) send(t *testing.T, key string, v any) {
	t.Helper()
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	f.tt.Consume(string(f.names.ForecastRequests), key, b)
}

func days(n int) []topics.KnownInputs {
	out := make([]topics.KnownInputs, n)
	for i := range out {
		out[i] = topics.KnownInputs{Open: 1, Promo: i % 2, StateHoliday: "0"}
	}
	return out
}

func TestForecastsEveryDay(t *testing.T) {
	f := newFixture(t)
	in := days(3)
	in[2].Open = 0
	req := topics.ForecastRequest{V: 1, RequestID: "r1", Store: 1, Start: lastDay + 1, Days: in, At: time.Now()}
	f.send(t, "1", req)
	st := storeState(t, 1)
	info := features.NewInfo(storeInfo(1))
	for i := range 3 {
		key, v, ok := f.results.Next()
		if !ok {
			t.Fatalf("result %d missing", i)
		}
		r := v.(*topics.ForecastResult)
		d := lastDay + 1 + topics.Date(i)
		if key != "1" || r.ID != ResultID("r1", 1, d) || r.Date != d || r.AsOf != lastDay || r.Horizon != i+1 || r.ModelVersion != "7" || r.Source != Source {
			t.Errorf("result %d: key %s %+v", i, key, r)
		}
		want := 0.0
		if in[i].Open == 1 {
			k, _ := features.KnownOf(in[i])
			// Neighbours: the request's days, else the state's days up to the as-of day.
			k.Around(func(x topics.Date) (features.Neighbour, bool) {
				if j := int(x - lastDay - 1); j >= 0 && j < len(in) {
					n, _ := features.KnownOf(in[j])
					return n.AsNeighbour(), true
				}
				if f, held := st.Fact(x); held {
					return features.KnownFromFact(f).AsNeighbour(), true
				}
				n := st.Assumed(x, k.SchoolHoliday)
				return n, n.Set
			}, d)
			x, err := features.Compute(st, &info, d, lastDay, k)
			if err != nil {
				t.Fatal(err)
			}
			y, _ := f.models.ForStore(1).Predict(x, i+1)
			want = math.Round(math.Max(0, y.Sales)*100) / 100
		}
		if r.PredictedSales != want {
			t.Errorf("day %s: predicted %v, want %v (the same features and model as the API)", d, r.PredictedSales, want)
		}
	}
	if _, _, ok := f.results.Next(); ok {
		t.Error("more results than days")
	}
}

func TestForecastJobFieldsReachEveryResult(t *testing.T) {
	f := newFixture(t)
	f.send(t, "1", topics.ForecastRequest{V: 1, RequestID: "j1", JobID: "j1", JobRows: 84, Store: 1, AsOf: lastDay, Start: lastDay + 1, Days: days(2)})
	for i := range 2 {
		_, v, ok := f.results.Next()
		if !ok {
			t.Fatalf("result %d missing", i)
		}
		if r := v.(*topics.ForecastResult); r.JobID != "j1" || r.JobRows != 84 || r.RequestID != "j1" {
			t.Errorf("result %d: job %q rows %d request %q, want j1, 84, j1", i, r.JobID, r.JobRows, r.RequestID)
		}
	}
}

func TestExplicitAsOf(t *testing.T) {
	f := newFixture(t)
	asOf := lastDay - 10
	f.send(t, "1", topics.ForecastRequest{V: 1, RequestID: "r2", Store: 1, AsOf: asOf, Start: asOf + 5, Days: days(2)})
	_, v, ok := f.results.Next()
	if !ok {
		t.Fatal("no result")
	}
	if r := v.(*topics.ForecastResult); r.AsOf != asOf || r.Horizon != 5 {
		t.Errorf("got %+v", r)
	}
}

func TestInvalidRequestsGoToTheDLQ(t *testing.T) {
	cases := []struct {
		name   string
		key    string
		value  any
		noMod  bool
		reason string
	}{
		{"undecodable", "1", []byte(`{"v":1,`), false, "value"},
		{"wrong version", "1", topics.ForecastRequest{V: 9, RequestID: "x", Store: 1, Start: lastDay + 1, Days: days(1)}, false, "schema version"},
		{"key does not match", "2", topics.ForecastRequest{V: 1, RequestID: "x", Store: 1, Start: lastDay + 1, Days: days(1)}, false, "does not match"},
		{"no days", "1", topics.ForecastRequest{V: 1, RequestID: "x", Store: 1, Start: lastDay + 1}, false, "days"},
		{"job without rows", "1", topics.ForecastRequest{V: 1, RequestID: "x", JobID: "j", Store: 1, Start: lastDay + 1, Days: days(1)}, false, "job"},
		{"job rows fewer than days", "1", topics.ForecastRequest{V: 1, RequestID: "x", JobID: "j", JobRows: 1, Store: 1, Start: lastDay + 1, Days: days(2)}, false, "job"},
		{"beyond the horizon", "1", topics.ForecastRequest{V: 1, RequestID: "x", Store: 1, Start: lastDay + 47, Days: days(3)}, false, "more than 48 days after"},
		{"the as-of day itself", "1", topics.ForecastRequest{V: 1, RequestID: "x", Store: 1, Start: lastDay, Days: days(1)}, false, "not after the as-of day"},
		{"unknown store", "9", topics.ForecastRequest{V: 1, RequestID: "x", Store: 9, Start: lastDay + 1, Days: days(1)}, false, "no state"},
		{"no store info", "2", topics.ForecastRequest{V: 1, RequestID: "x", Store: 2, Start: lastDay + 1, Days: days(1)}, false, "no store info"},
		{"bad known input", "1", topics.ForecastRequest{V: 1, RequestID: "x", Store: 1, Start: lastDay + 1, Days: []topics.KnownInputs{{Open: 1, Promo: 2, StateHoliday: "0"}}}, false, "promo"},
		{"no model yet", "1", topics.ForecastRequest{V: 1, RequestID: "x", Store: 1, Start: lastDay + 1, Days: days(1)}, true, "no model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			if c.noMod {
				f.models.Set("")
			}
			f.send(t, c.key, c.value)
			key, v, ok := f.dlq.Next()
			if !ok {
				t.Fatal("nothing in the DLQ")
			}
			dl := v.(*topics.DeadLetter)
			if key != c.key || dl.Stage != Stage || !strings.Contains(dl.Reason, c.reason) || dl.Payload == "" {
				t.Errorf("dead letter %s: %+v, want reason containing %q", key, dl, c.reason)
			}
			if _, _, ok := f.results.Next(); ok {
				t.Error("an invalid request produced results")
			}
			// The group keeps running.
			f.models.Set("7")
			f.send(t, "1", topics.ForecastRequest{V: 1, RequestID: "ok", Store: 1, Start: lastDay + 1, Days: days(1)})
			if _, _, ok := f.results.Next(); !ok {
				t.Error("a valid request after a dead letter was not answered")
			}
		})
	}
}
