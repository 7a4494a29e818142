package api

import (
	"testing"

	"github.com/storecast/storecast/topics"
)

// TestIntervalsAreAdditive: with a model that has intervals, /predict,
// /v1/forecasts and the forecast log carry predicted_sales_low/high
// around predicted_sales (0..0 on a closed day) and /model/info describes
// them; without one, no interval field appears (the original shape).
func TestIntervalsAreAdditive(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	withIntervals := newFakeModel("storecast-sales", "4")
	withIntervals.meta.Intervals = &topics.ModelIntervals{Level: 0.8, Method: "conformal", WeekDays: 7, Low: []float64{-0.1, -0.2}, High: []float64{0.1, 0.2}}
	withIntervals.meta.Protocol = "inner-split-v1"
	h.models.def = withIntervals

	v := h.do("forecast", "POST", "/predict", `{"store_id":1,"date":"2015-07-01","promo":1}`).json(t)
	sales := wantSales(1, 12, 1)
	if v["predicted_sales"] != sales || v["predicted_sales_low"] != sales-100 || v["predicted_sales_high"] != sales+100 {
		t.Errorf("/predict = %v, want %v with interval ±100", v, sales)
	}

	f := h.do("forecast", "POST", "/v1/forecasts", `{"store_ids":[2],"start_date":"2015-06-20","end_date":"2015-06-21","inputs":[{"date":"2015-06-21","open":0}]}`).json(t)
	rows := f["forecasts"].([]any)
	open, closed := rows[0].(map[string]any), rows[1].(map[string]any)
	if s := wantSales(2, 1, 0); open["predicted_sales_low"] != s-100 || open["predicted_sales_high"] != s+100 {
		t.Errorf("open day %v, want %v±100", open, s)
	}
	if closed["predicted_sales"] != 0.0 || closed["predicted_sales_low"] != 0.0 || closed["predicted_sales_high"] != 0.0 {
		t.Errorf("closed day %v, want 0 with interval 0..0", closed)
	}
	for _, r := range h.log.Drain() {
		if r.PredictedSalesLow == nil || r.PredictedSalesHigh == nil || *r.PredictedSalesLow > r.PredictedSales || *r.PredictedSalesHigh < r.PredictedSales {
			t.Errorf("logged forecast %+v has no interval around its sales", r)
		}
	}

	info := h.do("forecast", "GET", "/model/info", "").json(t)
	iv, _ := info["intervals"].(map[string]any)
	if iv["level"] != 0.8 || iv["method"] != "conformal" || iv["horizon_weeks"] != 2.0 || info["protocol"] != "inner-split-v1" {
		t.Errorf("/model/info intervals %v protocol %v", info["intervals"], info["protocol"])
	}

	h.models.def = newFakeModel("storecast-sales", "3")
	v = h.do("forecast", "POST", "/predict", `{"store_id":1,"date":"2015-07-01"}`).json(t)
	if _, ok := v["predicted_sales_low"]; ok {
		t.Errorf("a model without intervals answered %v", v)
	}
	for _, r := range h.log.Drain() {
		if r.PredictedSalesLow != nil || r.PredictedSalesHigh != nil {
			t.Errorf("logged forecast %+v has an interval its model lacks", r)
		}
	}
}
