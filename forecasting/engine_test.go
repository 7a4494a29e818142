package forecasting

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"testing"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/topics"
)

var lastDay = topics.DateFromYMD(2015, 6, 19)

// sumModel predicts the sum of the features it is given (NaN as 0), so a
// test can recompute a forecast from features.Compute.
type sumModel struct{ meta ModelMeta }

func (m *sumModel) Meta() *ModelMeta { return &m.meta }

func (m *sumModel) Predict(x []float64) (float64, error) {
	if len(x) != features.NumFeatures {
		return 0, fmt.Errorf("%d features", len(x))
	}
	s := 0.0
	for _, v := range x {
		if !math.IsNaN(v) {
			s += v
		}
	}
	return s, nil
}

type oneModel struct{ m atomic.Pointer[sumModel] }

func (o *oneModel) Default() Model {
	if m := o.m.Load(); m != nil {
		return m
	}
	return nil
}
func (o *oneModel) ForStore(int) Model { return o.Default() }

func newModels(version string) *oneModel {
	o := &oneModel{}
	o.m.Store(&sumModel{meta: ModelMeta{Name: model.GlobalModelName, Version: version}})
	return o
}

func storeState(t testing.TB, store int) *features.State {
	t.Helper()
	s := new(features.State)
	for d := lastDay - 200; d <= lastDay; d++ {
		sale := topics.Sale{V: 1, Store: store, DayOfWeek: d.Weekday(), Date: d, Open: 1, Sales: 4000 + store*100 + int(d)%700, Customers: 500, StateHoliday: "0", Promo: int(d) % 2}
		if d.Weekday() == 7 {
			sale.Open, sale.Sales, sale.Customers = 0, 0, 0
		}
		f, err := features.FactOf(&sale)
		if err != nil {
			t.Fatal(err)
		}
		s.Apply(f)
	}
	return s
}

func storeInfo(store int) *features.Info {
	dist := 1270.0
	in := features.NewInfo(&topics.StoreInfo{V: 1, Store: store, StoreType: "c", Assortment: "a", CompetitionDistance: &dist})
	return &in
}

// tables holds stores 1..3 and counts the feature vectors built.
type tables struct {
	states    map[int]*features.State
	recovered bool
	latest    topics.Date
}

func newTables(t testing.TB) *tables {
	tb := &tables{states: map[int]*features.State{}, recovered: true, latest: lastDay}
	for s := 1; s <= 3; s++ {
		tb.states[s] = storeState(t, s)
	}
	return tb
}

func (tb *tables) StoreState(store int) (*features.State, *features.Info, bool, error) {
	st, ok := tb.states[store]
	if !ok {
		return nil, nil, false, nil
	}
	return st, storeInfo(store), true, nil
}
func (tb *tables) StoreIDs() ([]int, error) { return []int{1, 2, 3}, nil }
func (tb *tables) LatestDay() (topics.Date, bool, error) {
	return tb.latest, tb.latest != 0, nil
}
func (tb *tables) Recovered() bool { return tb.recovered }

// counting wraps a StoreReader and counts the vectors its stores build.
type counting struct {
	StoreReader
	vectors atomic.Int64
}

type countingFeatures struct {
	StateFeatures
	c *counting
}

func (c countingFeatures) Features(dst []float64, target, asOf topics.Date, in topics.KnownInputs) ([]float64, error) {
	c.c.vectors.Add(1)
	return c.StateFeatures.Features(dst, target, asOf, in)
}

func (c *counting) Store(ctx context.Context, id int) (StoreFeatures, bool, error) {
	f, ok, err := c.StoreReader.Store(ctx, id)
	if !ok || err != nil {
		return f, ok, err
	}
	return countingFeatures{StateFeatures: f.(StateFeatures), c: c}, true, nil
}

func allRows() []Row {
	var out []Row
	for _, s := range []int{1, 2, 3} {
		for d := lastDay + 1; d <= lastDay+features.MaxHorizon; d++ {
			in := topics.KnownInputs{Open: 1, Promo: int(d) % 2, StateHoliday: "0"}
			if d.Weekday() == 7 {
				in.Open = 0
			}
			out = append(out, Row{Store: s, Date: d, In: in})
		}
	}
	return out
}

// wantSales is the recipe written out: features.Compute, the model, clamp
// and round to cents; closed days 0.
func wantSales(t *testing.T, tb *tables, r Row) float64 {
	t.Helper()
	if r.In.Open == 0 {
		return 0
	}
	k, err := features.KnownOf(r.In)
	if err != nil {
		t.Fatal(err)
	}
	x, err := features.Compute(tb.states[r.Store], storeInfo(r.Store), r.Date, lastDay, k)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := (&sumModel{}).Predict(x)
	return math.Round(math.Max(0, y)*100) / 100
}

func TestEngineAndForecastStateAreOneRecipe(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	models := newModels("7")
	e := NewEngine(NewTableStores(tb), models, nil, EngineConfig{Workers: 2})
	rows := allRows()
	stamp, err := e.Forecast(context.Background(), rows)
	if err != nil {
		t.Fatal(err)
	}
	if stamp.AsOf != lastDay || stamp.Model.Version != "7" {
		t.Errorf("stamp %+v", stamp)
	}
	for _, r := range rows {
		if want := wantSales(t, tb, r); r.Sales != want || r.Horizon != int(r.Date-lastDay) || r.Model.Version != "7" {
			t.Fatalf("engine: store %d %s: sales %v horizon %d, want %v", r.Store, r.Date, r.Sales, r.Horizon, want)
		}
	}
	// The processor's path: the same numbers from the state and info it joined.
	for s := 1; s <= 3; s++ {
		st, info, _, _ := tb.StoreState(s)
		var own []Row
		for _, r := range allRows() {
			if r.Store == s {
				own = append(own, r)
			}
		}
		if err := ForecastState(models, nil, st, info, "start", lastDay, own); err != nil {
			t.Fatal(err)
		}
		for _, r := range own {
			if want := wantSales(t, tb, r); r.Sales != want {
				t.Fatalf("ForecastState: store %d %s: %v, want %v", s, r.Date, r.Sales, want)
			}
		}
	}
}

func TestRecipeErrors(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	cases := []struct {
		name   string
		rows   []Row
		models Models
		check  func(error) bool
	}{
		{"the as-of day", []Row{{Store: 1, Date: lastDay, In: topics.KnownInputs{Open: 1}}}, newModels("1"), func(err error) bool {
			return len(topics.Fields(err)) == 1 && topics.Fields(err)[0] == "date"
		}},
		{"beyond the horizon", []Row{{Store: 1, Date: lastDay + features.MaxHorizon + 1, In: topics.KnownInputs{Open: 1}}}, newModels("1"), func(err error) bool {
			return len(topics.Fields(err)) == 1 && topics.Fields(err)[0] == "date"
		}},
		{"unknown store", []Row{{Store: 9, Date: lastDay + 1, In: topics.KnownInputs{Open: 1}}}, newModels("1"), func(err error) bool {
			return errors.Is(err, topics.ErrUnknownStore)
		}},
		{"no model", []Row{{Store: 1, Date: lastDay + 1, In: topics.KnownInputs{Open: 1}}}, &oneModel{}, func(err error) bool {
			return errors.Is(err, model.ErrNoModel)
		}},
		{"bad known input", []Row{{Store: 1, Date: lastDay + 1, In: topics.KnownInputs{Open: 1, Promo: 2, StateHoliday: "0"}}}, newModels("1"), func(err error) bool {
			return len(topics.Fields(err)) > 0 && topics.Fields(err)[0] == "promo"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := NewEngine(NewTableStores(tb), c.models, nil, EngineConfig{})
			if _, err := e.Forecast(context.Background(), c.rows); !c.check(err) {
				t.Errorf("err = %v", err)
			}
		})
	}
	notReady := []struct {
		name string
		set  func(*tables)
	}{{"recovering", func(tb *tables) { tb.recovered = false }}, {"empty", func(tb *tables) { tb.latest = 0 }}}
	for _, c := range notReady {
		tb := newTables(t)
		c.set(tb)
		e := NewEngine(NewTableStores(tb), newModels("1"), nil, EngineConfig{})
		if _, err := e.Forecast(context.Background(), allRows()); !errors.Is(err, ErrNotReady) {
			t.Errorf("%s: err = %v, want ErrNotReady", c.name, err)
		}
	}
}

func TestPredictionCache(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	stores := &counting{StoreReader: NewTableStores(tb)}
	models := newModels("1")
	e := NewEngine(stores, models, nil, EngineConfig{Workers: 2})
	forecast := func() []Row {
		t.Helper()
		r := allRows()
		if _, err := e.Forecast(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := forecast()
	open := int64(0)
	for _, r := range first {
		if r.In.Open == 1 {
			open++
		}
	}
	if n := stores.vectors.Load(); n != open {
		t.Fatalf("%d vectors for %d open rows", n, open)
	}
	again := forecast()
	if n := stores.vectors.Load(); n != open {
		t.Errorf("the same forecasts built %d more vectors; want them cached", n-open)
	}
	for i := range first {
		if first[i].Sales != again[i].Sales {
			t.Fatalf("row %d: %v then %v", i, first[i].Sales, again[i].Sales)
		}
	}
	// New state: recomputed.
	tb.states[1] = storeState(t, 1)
	forecast()
	if n := stores.vectors.Load(); n != open+open/3 {
		t.Errorf("after store 1's state changed %d vectors, want %d", n, open+open/3)
	}
	// New model: recomputed, and answered by it.
	models.m.Store(&sumModel{meta: ModelMeta{Name: model.GlobalModelName, Version: "2"}})
	r := forecast()
	if n := stores.vectors.Load(); n != 2*open+open/3 || r[0].Model.Version != "2" {
		t.Errorf("after a model swap %d vectors (want %d), version %s", n, 2*open+open/3, r[0].Model.Version)
	}
}
