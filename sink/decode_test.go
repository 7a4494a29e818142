package sink

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/topics"
)

const goodSale = `{"v":1,"store":1,"day_of_week":5,"date":"2015-06-19","sales":4202,"customers":487,"open":1,"promo":1,"state_holiday":"0","school_holiday":0}`

func TestDecodeSale(t *testing.T) {
	t.Parallel()
	row, err := decodeSale([]byte(goodSale), nil)
	if err != nil {
		t.Fatalf("decodeSale: %v", err)
	}
	want := saleRow{store: 1, sales: 4202, customers: 487, date: topics.DateFromYMD(2015, 6, 19), dayOfWeek: 5, open: 1, promo: 1, school: 0, stateHoliday: "0"}
	if row != want {
		t.Errorf("decodeSale = %+v, want %+v", row, want)
	}

	bad := []struct {
		name   string
		in     string
		fields []string
	}{
		{"not json", `{"v":1,`, nil},
		{"wrong version", strings.Replace(goodSale, `"v":1`, `"v":2`, 1), []string{"v"}},
		{"weekday mismatch", strings.Replace(goodSale, `"day_of_week":5`, `"day_of_week":3`, 1), []string{"day_of_week"}},
		{"sales beyond int4", strings.Replace(goodSale, `"sales":4202`, `"sales":3000000000`, 1), []string{"sales"}},
		{"several at once", strings.Replace(strings.Replace(goodSale, `"store":1`, `"store":0`, 1), `"promo":1`, `"promo":7`, 1), []string{"store", "promo"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeSale([]byte(tt.in), nil)
			if err == nil {
				t.Fatal("decodeSale accepted it")
			}
			if got := topics.Fields(err); !slices.Equal(got, tt.fields) {
				t.Errorf("fields = %q, want %q (err %v)", got, tt.fields, err)
			}
		})
	}
}

func validForecast() topics.ForecastResult {
	return topics.ForecastResult{V: 1, ID: "f-1", RequestID: "r-1", Store: 9, Date: topics.DateFromYMD(2015, 7, 1),
		AsOf: topics.DateFromYMD(2015, 6, 19), Horizon: 12, PredictedSales: 5123.5, ModelName: "m", ModelVersion: "3",
		Source: "api", CreatedAt: time.Date(2015, 6, 20, 8, 0, 0, 0, time.UTC)}
}

func TestDecodeForecast(t *testing.T) {
	t.Parallel()
	good := validForecast()
	b, _ := json.Marshal(good)
	row, err := decodeForecast(b)
	if err != nil {
		t.Fatalf("decodeForecast: %v", err)
	}
	if !reflect.DeepEqual(row.ForecastResult, good) {
		t.Errorf("decodeForecast = %+v, want %+v", row.ForecastResult, good)
	}
	tests := []struct {
		name   string
		edit   func(*topics.ForecastResult)
		fields []string
	}{
		{"no id", func(f *topics.ForecastResult) { f.ID = "" }, []string{"forecast_id"}},
		{"bad store and horizon", func(f *topics.ForecastResult) { f.Store = -1; f.Horizon = -3 }, []string{"store", "horizon"}},
		{"no created time", func(f *topics.ForecastResult) { f.CreatedAt = time.Time{} }, []string{"created_at"}},
		{"old version", func(f *topics.ForecastResult) { f.V = 0 }, []string{"v"}},
		{"job rows without a job", func(f *topics.ForecastResult) { f.JobRows = 42 }, []string{"job_rows"}},
		{"job without rows", func(f *topics.ForecastResult) { f.JobID = "j1" }, []string{"job_rows"}},
		{"negative job rows", func(f *topics.ForecastResult) { f.JobID, f.JobRows = "j1", -1 }, []string{"job_rows"}},
		{"interval without its high end", func(f *topics.ForecastResult) { lo := 1.0; f.PredictedSalesLow = &lo }, []string{"predicted_sales_low"}},
		{"empty interval", func(f *topics.ForecastResult) {
			lo, hi := 2.0, 1.0
			f.PredictedSalesLow, f.PredictedSalesHigh = &lo, &hi
		}, []string{"predicted_sales_low"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := validForecast()
			tt.edit(&f)
			b, _ := json.Marshal(f)
			_, err := decodeForecast(b)
			if got := topics.Fields(err); !slices.Equal(got, tt.fields) {
				t.Errorf("fields = %q, want %q (err %v)", got, tt.fields, err)
			}
		})
	}
	f := validForecast()
	f.PredictedSales = math.NaN()
	if err := validateForecast(&f); !slices.Equal(topics.Fields(err), []string{"predicted_sales"}) {
		t.Errorf("NaN prediction: err = %v", err)
	}
	if _, err := decodeForecast([]byte(`{"v":1,"forecast_id":7}`)); err == nil || errors.Is(err, nil) {
		t.Errorf("a number as id: err = %v, want a decode error", err)
	}
}
