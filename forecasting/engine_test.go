package forecasting_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/forecasting/forecastingtest"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/topics"
)

var lastDay = topics.DateFromYMD(2015, 6, 19)

func storeState(t testing.TB, store int) *features.State {
	return forecastingtest.StoreState(t, store, lastDay)
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

// counting wraps a forecasting.StoreReader and counts the vectors its stores build.
type counting struct {
	forecasting.StoreReader
	vectors atomic.Int64
}

type countingFeatures struct {
	forecasting.StateFeatures
	c *counting
}

func (c countingFeatures) Features(dst []float64, target, asOf topics.Date, in forecasting.Inputs) ([]float64, error) {
	c.c.vectors.Add(1)
	return c.StateFeatures.Features(dst, target, asOf, in)
}

func (c *counting) Store(ctx context.Context, id int) (forecasting.StoreFeatures, bool, error) {
	f, ok, err := c.StoreReader.Store(ctx, id)
	if !ok || err != nil {
		return f, ok, err
	}
	return countingFeatures{StateFeatures: f.(forecasting.StateFeatures), c: c}, true, nil
}

// rowInputs are the known inputs of day d in allRows.
func rowInputs(d topics.Date) topics.KnownInputs {
	in := topics.KnownInputs{Open: 1, Promo: int(d) % 2, StateHoliday: "0", SchoolHoliday: int(d/3) % 2}
	if d.Weekday() == 7 {
		in.Open = 0
	}
	if d%11 == 0 {
		in.StateHoliday = "a"
	}
	return in
}

func allRows() []forecasting.Row {
	var out []forecasting.Row
	for _, s := range []int{1, 2, 3} {
		for d := lastDay + 1; d <= lastDay+features.MaxHorizon; d++ {
			out = append(out, forecasting.Row{Store: s, Date: d, In: rowInputs(d)})
		}
	}
	return out
}

// wantSales is the recipe written out for a row of allRows: features.Compute
// with the inputs of the row and of its neighbours (the rows of the days
// around it, else the state's fact, else the assumed inputs), the model,
// clamp and round to cents; closed days 0.
func wantSales(t *testing.T, tb *tables, r forecasting.Row) float64 {
	t.Helper()
	if r.In.Open == 0 {
		return 0
	}
	k, err := features.KnownOf(r.In)
	if err != nil {
		t.Fatal(err)
	}
	k.Around(func(d topics.Date) (features.Neighbour, bool) {
		switch f, held := tb.states[r.Store].Fact(d); {
		case d > lastDay && d <= lastDay+features.MaxHorizon:
			nk, err := features.KnownOf(rowInputs(d))
			if err != nil {
				t.Fatal(err)
			}
			return nk.AsNeighbour(), true
		case held:
			return features.KnownFromFact(f).AsNeighbour(), true
		}
		n := tb.states[r.Store].Assumed(d, k.SchoolHoliday)
		return n, n.Set
	}, r.Date)
	x, err := features.Compute(tb.states[r.Store], storeInfo(r.Store), r.Date, lastDay, k)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := (&forecastingtest.SumModel{}).Predict(x, r.Horizon)
	return math.Round(math.Max(0, y.Sales)*100) / 100
}

func TestEngineAndForecastStateAreOneRecipe(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	models := forecastingtest.NewModels("7")
	e := forecasting.NewEngine(forecasting.NewTableStores(tb), models, nil, forecasting.EngineConfig{Workers: 2})
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
		var own []forecasting.Row
		for _, r := range allRows() {
			if r.Store == s {
				own = append(own, r)
			}
		}
		if err := forecasting.ForecastState(models, nil, st, info, "start", lastDay, own); err != nil {
			t.Fatal(err)
		}
		for _, r := range own {
			if want := wantSales(t, tb, r); r.Sales != want {
				t.Fatalf("forecasting.ForecastState: store %d %s: %v, want %v", s, r.Date, r.Sales, want)
			}
		}
	}
}

func TestRecipeErrors(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	cases := []struct {
		name   string
		rows   []forecasting.Row
		models forecasting.Models
		check  func(error) bool
	}{
		{"the as-of day", []forecasting.Row{{Store: 1, Date: lastDay, In: topics.KnownInputs{Open: 1}}}, forecastingtest.NewModels("1"), func(err error) bool {
			return len(topics.Fields(err)) == 1 && topics.Fields(err)[0] == "date"
		}},
		{"beyond the horizon", []forecasting.Row{{Store: 1, Date: lastDay + features.MaxHorizon + 1, In: topics.KnownInputs{Open: 1}}}, forecastingtest.NewModels("1"), func(err error) bool {
			return len(topics.Fields(err)) == 1 && topics.Fields(err)[0] == "date"
		}},
		{"unknown store", []forecasting.Row{{Store: 9, Date: lastDay + 1, In: topics.KnownInputs{Open: 1}}}, forecastingtest.NewModels("1"), func(err error) bool {
			return errors.Is(err, topics.ErrUnknownStore)
		}},
		{"no model", []forecasting.Row{{Store: 1, Date: lastDay + 1, In: topics.KnownInputs{Open: 1}}}, forecastingtest.NewModels(""), func(err error) bool {
			return errors.Is(err, model.ErrNoModel)
		}},
		{"bad known input", []forecasting.Row{{Store: 1, Date: lastDay + 1, In: topics.KnownInputs{Open: 1, Promo: 2, StateHoliday: "0"}}}, forecastingtest.NewModels("1"), func(err error) bool {
			return len(topics.Fields(err)) > 0 && topics.Fields(err)[0] == "promo"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := forecasting.NewEngine(forecasting.NewTableStores(tb), c.models, nil, forecasting.EngineConfig{})
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
		e := forecasting.NewEngine(forecasting.NewTableStores(tb), forecastingtest.NewModels("1"), nil, forecasting.EngineConfig{})
		if _, err := e.Forecast(context.Background(), allRows()); !errors.Is(err, forecasting.ErrNotReady) {
			t.Errorf("%s: err = %v, want forecasting.ErrNotReady", c.name, err)
		}
	}
}

func TestPredictionCache(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	stores := &counting{StoreReader: forecasting.NewTableStores(tb)}
	models := forecastingtest.NewModels("1")
	e := forecasting.NewEngine(stores, models, nil, forecasting.EngineConfig{Workers: 2})
	forecast := func() []forecasting.Row {
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
	models.Set("2")
	r := forecast()
	if n := stores.vectors.Load(); n != 2*open+open/3 || r[0].Model.Version != "2" {
		t.Errorf("after a model swap %d vectors (want %d), version %s", n, 2*open+open/3, r[0].Model.Version)
	}
}

// TestStaleStoreIsRefused: a store that stopped reporting 60 days before
// the as-of day gets ErrStaleStore naming store_id, not a forecast; one
// within features.DefaultStaleDays is forecast, and so is the 60-day one
// when the clock allows 90 days (--stale-days).
func TestStaleStoreIsRefused(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	tb.states[2] = forecastingtest.StoreState(t, 2, lastDay-60)
	tb.states[3] = forecastingtest.StoreState(t, 3, lastDay-features.DefaultStaleDays)
	e := forecasting.NewEngine(forecasting.NewTableStores(tb), forecastingtest.NewModels("1"), nil, forecasting.EngineConfig{})
	_, err := e.Forecast(context.Background(), []forecasting.Row{{Store: 2, Date: lastDay + 3, In: topics.KnownInputs{Open: 1}}})
	if !errors.Is(err, forecasting.ErrStaleStore) || topics.Fields(err)[0] != "store_id" || !strings.Contains(err.Error(), "60 days before the as-of day") {
		t.Fatalf("stale store: err %v", err)
	}
	rows := []forecasting.Row{{Store: 3, Date: lastDay + 3, In: topics.KnownInputs{Open: 1}}}
	if _, err := e.Forecast(context.Background(), rows); err != nil || rows[0].Sales <= 0 {
		t.Fatalf("store %d days behind: %v, sales %v", features.DefaultStaleDays, err, rows[0].Sales)
	}
	lenient := forecasting.NewEngine(forecasting.NewTableStores(tb), forecastingtest.NewModels("1"), nil, forecasting.EngineConfig{Clock: features.Clock{StaleDays: 90}})
	rows = []forecasting.Row{{Store: 2, Date: lastDay + 3, In: topics.KnownInputs{Open: 1}}}
	if _, err := lenient.Forecast(context.Background(), rows); err != nil || rows[0].Sales <= 0 {
		t.Fatalf("60 days behind with --stale-days 90: %v, sales %v", err, rows[0].Sales)
	}
	strict := forecasting.NewEngine(forecasting.NewTableStores(tb), forecastingtest.NewModels("1"), nil, forecasting.EngineConfig{Clock: features.Clock{StaleDays: 7}})
	_, err = strict.Forecast(context.Background(), []forecasting.Row{{Store: 3, Date: lastDay + 3, In: topics.KnownInputs{Open: 1}}})
	if !errors.Is(err, forecasting.ErrStaleStore) || !strings.Contains(err.Error(), "(more than 7)") {
		t.Fatalf("28 days behind with --stale-days 7: err %v", err)
	}
}

// TestIntervalsFollowTheRecipe: a model with intervals gives every open
// row its interval, clamped at 0, rounded to cents and around the point
// TestNeighbourInputsComeFromTheRows: rows in any order get the inputs of
// the rows of the days before and after them; the first day's previous day
// is the as-of day, read from the state; the last day's next day is unknown.
func TestNeighbourInputsComeFromTheRows(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	// With the prediction cache on: a lone row must not be answered with
	// the prediction made with its neighbours (the key holds their inputs).
	e := forecasting.NewEngine(forecasting.NewTableStores(tb), forecastingtest.NewModels("7"), nil, forecasting.EngineConfig{Workers: 1})
	rows := allRows()
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	if _, err := e.Forecast(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if want := wantSales(t, tb, r); r.Sales != want {
			t.Fatalf("store %d %s: sales %v, want %v", r.Store, r.Date, r.Sales, want)
		}
	}
	if _, held := tb.states[1].Fact(lastDay); !held {
		t.Fatal("the test state does not hold the as-of day")
	}
	// Without its neighbour rows, a day's forecast changes (the model sums
	// every feature, and the neighbours' promo and holidays differ), also
	// after the same day was cached with its neighbours above.
	mid := forecasting.Row{Store: 1, Date: lastDay + 10, In: rowInputs(lastDay + 10)}
	alone := []forecasting.Row{mid}
	if _, err := e.Forecast(context.Background(), alone); err != nil {
		t.Fatal(err)
	}
	for _, r := range allRows() {
		if r.Store == 1 && r.Date == mid.Date && r.In.Open == 1 {
			if got := wantSales(t, tb, r); alone[0].Sales == got {
				t.Errorf("a lone row got the same forecast %v as with its neighbours", got)
			}
		}
	}
}

// forecast, the same from the cache as from the model; closed rows 0..0;
// the forecast_results record carries it.
func TestIntervalsFollowTheRecipe(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	models := forecastingtest.NewModels("")
	models.SetModel(&forecastingtest.SumModel{M: forecasting.ModelMeta{Name: model.GlobalModelName, Version: "8",
		Intervals: &topics.ModelIntervals{Level: 0.8, Method: "test", WeekDays: 7, Low: []float64{-1}, High: []float64{1}}}})
	e := forecasting.NewEngine(forecasting.NewTableStores(tb), models, nil, forecasting.EngineConfig{Workers: 2})
	for pass := range 2 { // the second pass answers from the prediction cache
		rows := allRows()
		if _, err := e.Forecast(context.Background(), rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			want := wantSales(t, tb, r)
			low, high := math.Max(0, math.Round((want-float64(r.Horizon))*100)/100), want+float64(r.Horizon)
			if r.In.Open == 0 {
				low, high = 0, 0
			}
			if !r.HasInterval || r.Sales != want || math.Abs(r.Low-low) > 0.01 || math.Abs(r.High-high) > 0.01 || r.Low > r.Sales || r.High < r.Sales {
				t.Fatalf("pass %d: store %d %s: %v in %v..%v (interval %v), want %v in %v..%v", pass, r.Store, r.Date, r.Sales, r.Low, r.High, r.HasInterval, want, low, high)
			}
			res := r.Result(lastDay, "req", "test", time.Unix(0, 0))
			if res.PredictedSalesLow == nil || *res.PredictedSalesLow != r.Low || res.PredictedSalesHigh == nil || *res.PredictedSalesHigh != r.High {
				t.Fatalf("result %+v does not carry the row's interval", res)
			}
		}
	}
}
