// Package forecastingtest holds fixtures for tests of the forecasting
// recipe's users: a model whose prediction a test can recompute, a
// swappable model source and a store's state built from synthetic sales.
package forecastingtest

import (
	"fmt"
	"math"
	"sync/atomic"
	"testing"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/topics"
)

// SumModel predicts the sum of the features it is given (NaN as 0), so a
// test can recompute a forecast from features.Compute. When M.Intervals is
// set, its interval at horizon h is sum-h..sum+h.
type SumModel struct{ M forecasting.ModelMeta }

var _ forecasting.Model = (*SumModel)(nil)

// Meta implements forecasting.Model.
func (m *SumModel) Meta() *forecasting.ModelMeta { return &m.M }

// Predict implements forecasting.Model.
func (m *SumModel) Predict(x []float64, horizon int) (model.Prediction, error) {
	if len(x) != features.NumFeatures {
		return model.Prediction{}, fmt.Errorf("%d features, want %d", len(x), features.NumFeatures)
	}
	s := 0.0
	for _, v := range x {
		if !math.IsNaN(v) {
			s += v
		}
	}
	p := model.Prediction{Sales: s}
	if m.M.Intervals != nil {
		p.Low, p.High, p.HasInterval = s-float64(horizon), s+float64(horizon), true
	}
	return p, nil
}

// PredictBatch implements forecasting.Model.
func (m *SumModel) PredictBatch(xs [][]float64, horizons []int, out []model.Prediction) error {
	return forecasting.PredictEach(m, xs, horizons, out)
}

// Models serves one SumModel for every store; Set swaps it atomically.
type Models struct{ m atomic.Pointer[SumModel] }

var _ forecasting.Models = (*Models)(nil)

// NewModels returns Models serving the all-stores model version.
func NewModels(version string) *Models {
	m := &Models{}
	m.Set(version)
	return m
}

// Set serves a new SumModel of version; "" serves none.
func (f *Models) Set(version string) {
	if version == "" {
		f.m.Store(nil)
		return
	}
	f.m.Store(&SumModel{M: forecasting.ModelMeta{Name: model.GlobalModelName, Version: version}})
}

// SetModel serves m (nil: none).
func (f *Models) SetModel(m *SumModel) { f.m.Store(m) }

// Default implements forecasting.Models.
func (f *Models) Default() forecasting.Model {
	if m := f.m.Load(); m != nil {
		return m
	}
	return nil
}

// ForStore implements forecasting.Models.
func (f *Models) ForStore(int) forecasting.Model { return f.Default() }

// StoreState returns a state of store with 201 days of sales ending on
// last: closed on Sundays, promo every other day, sales depending on the
// store and the day.
func StoreState(t testing.TB, store int, last topics.Date) *features.State {
	t.Helper()
	s := new(features.State)
	for d := last - 200; d <= last; d++ {
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
