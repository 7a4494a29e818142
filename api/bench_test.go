package api

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkPredict measures one POST /predict through the whole router
// (metrics, decoding, engine with fake views and model, forecast log,
// encoding).
func BenchmarkPredict(b *testing.B) {
	t := &testing.T{}
	h := newHarness(t)
	body := `{"store_id":1,"date":"2015-07-01","promo":1,"stateholiday":"0","schoolholiday":0}`
	drain := make(chan struct{})
	go func() {
		for {
			select {
			case <-h.log.Queued():
			case <-drain:
				return
			}
		}
	}()
	defer close(drain)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/predict", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.forecast.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
