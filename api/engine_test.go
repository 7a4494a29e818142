package api

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/topics"
)

// countingStores serves cacheable fake features and counts vectors built.
type countingStores struct {
	fakeStores
	generation atomic.Int64 // the states' identity; bump to "change" every state
	vectors    atomic.Int64
}

type countingFeatures struct {
	fakeFeatures
	s   *countingStores
	gen int64
}

func (c countingFeatures) Features(dst []float64, target, asOf topics.Date, in topics.KnownInputs) ([]float64, error) {
	c.s.vectors.Add(1)
	return c.fakeFeatures.Features(dst, target, asOf, in)
}

func (c countingFeatures) CacheKey() any { return [2]int64{int64(c.store), c.gen} }

func (c *countingStores) Store(ctx context.Context, id int) (StoreFeatures, bool, error) {
	f, ok, err := c.fakeStores.Store(ctx, id)
	if !ok || err != nil {
		return f, ok, err
	}
	return countingFeatures{fakeFeatures: f.(fakeFeatures), s: c, gen: c.generation.Load()}, true, nil
}

func TestPredictionCache(t *testing.T) {
	t.Parallel()
	stores := &countingStores{fakeStores: fakeStores{ids: []int{1, 2, 3}, latest: asOfDay, recovered: true}}
	models := &fakeModels{def: newFakeModel("storecast-sales", "1")}
	e := NewEngine(stores, models, nil, EngineConfig{FeatureNames: testFeatureNames, AsOfTTL: time.Hour, Workers: 2})
	rows := func() []Row {
		var out []Row
		for _, s := range []int{1, 2, 3} {
			for d := asOfDay + 1; d <= asOfDay+MaxHorizon; d++ {
				out = append(out, Row{Store: s, Date: d, In: topics.KnownInputs{Open: 1, Promo: int(d) % 2, StateHoliday: "0"}})
			}
		}
		return out
	}
	forecast := func() []Row {
		t.Helper()
		r := rows()
		if _, err := e.Forecast(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := forecast()
	if n := stores.vectors.Load(); n != int64(len(first)) {
		t.Fatalf("%d vectors for %d rows", n, len(first))
	}
	again := forecast()
	if n := stores.vectors.Load(); n != int64(len(first)) {
		t.Errorf("the same forecasts built %d more vectors; want them cached", n-int64(len(first)))
	}
	for i := range first {
		if first[i].Sales != again[i].Sales || again[i].Sales != wantSales(again[i].Store, again[i].Horizon, again[i].In.Promo) {
			t.Fatalf("row %d: %v then %v", i, first[i].Sales, again[i].Sales)
		}
	}
	// New state: recomputed.
	stores.generation.Add(1)
	forecast()
	if n := stores.vectors.Load(); n != 2*int64(len(first)) {
		t.Errorf("after a state change %d vectors, want %d", n, 2*len(first))
	}
	// New model: recomputed, and answered by it.
	models.def = newFakeModel("storecast-sales", "2")
	r := forecast()
	if n := stores.vectors.Load(); n != 3*int64(len(first)) || r[0].Model.Version != "2" {
		t.Errorf("after a model swap %d vectors (want %d), version %s", n, 3*len(first), r[0].Model.Version)
	}
}

// swappingModels swaps the all-stores model atomically, as the registry does.
type swappingModels struct{ p atomic.Pointer[fakeModel] }

func (s *swappingModels) Default() Model     { return s.p.Load() }
func (s *swappingModels) ForStore(int) Model { return s.p.Load() }

func TestHotSwapUnderLoad(t *testing.T) {
	t.Parallel()
	models := &swappingModels{}
	models.p.Store(newFakeModel("storecast-sales", "0"))
	h := newHarness(t)
	h.models = nil
	fc := ForecastConfig{Log: NewMemoryForecastLog(1 << 20), Metrics: NewMetrics(prometheus.NewRegistry()), Gatherer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)}
	fc.Engine = NewEngine(h.stores, models, fc.Metrics, EngineConfig{FeatureNames: testFeatureNames})
	handler, err := NewForecastHandler(fc)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var swaps sync.WaitGroup
	swaps.Go(func() {
		for v := 1; ; v++ {
			select {
			case <-stop:
				return
			default:
				models.p.Store(newFakeModel("storecast-sales", strconv.Itoa(v)))
			}
		}
	})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 300 {
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, httptest.NewRequest("POST", "/predict", strings.NewReader(`{"store_id":2,"date":"2015-06-25"}`)))
				if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"model_version":"`) {
					t.Errorf("during a swap: %d %s", rec.Code, rec.Body)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	swaps.Wait()
}
