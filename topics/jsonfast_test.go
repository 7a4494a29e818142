package topics

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

func TestAppendForecastResultRoundTrips(t *testing.T) {
	asOfDay := DateFromYMD(2015, 6, 19)
	t.Parallel()
	at := time.Date(2026, 11, 27, 8, 1, 2, 345678900, time.UTC)
	cases := []ForecastResult{
		{V: 1, ID: "abc-1", Store: 1, Date: asOfDay + 12, AsOf: asOfDay, Horizon: 12, PredictedSales: 5847.32, ModelName: "storecast-sales", ModelVersion: "3", Source: "api-predict", CreatedAt: at},
		{V: 1, ID: "x", RequestID: "req", Store: 1115, Date: asOfDay + 48, AsOf: asOfDay, Horizon: 48, PredictedSales: 0, ModelName: `we"ird\name<&>`, ModelVersion: "ünïcode ✓", Source: "api-forecasts", CreatedAt: at.Add(time.Hour)},
		{V: 1, ID: "tiny", Store: 2, PredictedSales: 1e-7, CreatedAt: time.Unix(0, 0).UTC()},
		{V: 1, ID: "huge", Store: 2, PredictedSales: 3e21, CreatedAt: at},
		{V: 1, ID: "ctl\x01\n", Store: 2, PredictedSales: math.Round(123456.789*100) / 100, CreatedAt: at},
	}
	for _, want := range cases {
		b := AppendForecastResult(nil, &want)
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %s", b)
		}
		v, err := ForecastResultCodec{}.Decode(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if got := v.(*ForecastResult); !reflect.DeepEqual(*got, want) {
			t.Errorf("round trip:\n got %+v\nwant %+v\n%s", *got, want, b)
		}
		std, _ := ForecastResultCodec{}.Encode(&want)
		if string(std) != string(b) {
			t.Errorf("differs from the codec:\n%s\n%s", b, std)
		}
	}
}
