package api

import (
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/publish"
)

// swappingModels swaps the all-stores model atomically, as the registry does.
type swappingModels struct{ p atomic.Pointer[fakeModel] }

func (s *swappingModels) Default() forecasting.Model     { return s.p.Load() }
func (s *swappingModels) ForStore(int) forecasting.Model { return s.p.Load() }

func TestHotSwapUnderLoad(t *testing.T) {
	t.Parallel()
	models := &swappingModels{}
	models.p.Store(newFakeModel("storecast-sales", "0"))
	h := newHarness(t)
	h.models = nil
	fc := ForecastConfig{Log: publish.NewMemoryForecastLog(1 << 20), Metrics: NewMetrics(prometheus.NewRegistry()), Gatherer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)}
	fc.Engine = forecasting.NewEngine(h.stores, models, nil, forecasting.EngineConfig{FeatureNames: testFeatureNames})
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
