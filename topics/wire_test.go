package topics

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

// The fast paths of the wire format must agree with encoding/json: byte
// for byte on encode, value for value on decode. One fuzz target per event
// type with a fast path; `go test` runs their seeds, `go test -fuzz` more.

const producerSale = `{"v":1,"store":1,"day_of_week":5,"date":"2015-06-19","sales":4202,"customers":487,"open":1,"promo":1,"state_holiday":"0","school_holiday":0}`

func TestSaleDecoderMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		fast bool // whether the hand-written path should take it
	}{
		{"producer output", producerSale, true},
		{"spaces and newlines", " {\n \"v\" : 1 ,\t\"store\":7 ,\"date\" : \"2014-01-02\" }\r\n", true},
		{"other key order", `{"date":"2013-01-01","store":3,"v":1,"state_holiday":"a"}`, true},
		{"empty object", `{}`, true},
		{"negative number", `{"sales":-5}`, true},
		{"minus zero", `{"sales":-0}`, true},
		{"duplicate key, last wins", `{"store":1,"store":2}`, true},
		{"unknown key", `{"store":1,"extra":2}`, false},
		{"other case", `{"Store":1}`, false},
		{"escape in string", `{"state_holiday":"\u0061"}`, false},
		{"non-ascii", `{"state_holiday":"ä"}`, false},
		{"float", `{"sales":1.5}`, false},
		{"exponent", `{"sales":1e3}`, false},
		{"leading zero", `{"sales":012}`, false},
		{"null", `{"sales":null}`, false},
		{"huge number", `{"sales":123456789012345678901}`, false},
		{"bad date", `{"date":"2015-02-30"}`, false},
		{"date as number", `{"date":20150619}`, false},
		{"not an object", `[1,2]`, false},
		{"truncated", `{"store":1`, false},
		{"trailing garbage", `{"store":1}x`, false},
		{"trailing comma", `{"store":1,}`, false},
		{"empty", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d SaleDecoder
			var fast Sale
			if got := d.fast([]byte(tt.in), &fast); got != tt.fast {
				t.Errorf("fast path took it = %v, want %v", got, tt.fast)
			}
			checkSaleDecode(t, new(SaleDecoder), []byte(tt.in))
		})
	}
}

// checkSaleDecode decodes b with d and with encoding/json and compares.
func checkSaleDecode(t *testing.T, d *SaleDecoder, b []byte) {
	t.Helper()
	var want Sale
	wantErr := json.Unmarshal(b, &want)
	var got Sale
	gotErr := d.Decode(b, &got)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%q: SaleDecoder error = %v, encoding/json error = %v", b, gotErr, wantErr)
	}
	if wantErr == nil && got != want {
		t.Fatalf("%q: SaleDecoder = %+v, encoding/json = %+v", b, got, want)
	}
}

func FuzzSaleDecode(f *testing.F) {
	for _, s := range []string{producerSale, `{}`, `{"store":1,"store":2}`, `{"sales":-0}`, ` {"date" : "2014-01-02"} `, `{"state_holiday":"\u0061"}`, `{"date":"2015-02-30"}`} {
		f.Add([]byte(s))
	}
	d := new(SaleDecoder) // shared across inputs, as a consumer's is: the date memory must not leak
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSaleDecode(t, d, b)
	})
}

func FuzzSaleEncode(f *testing.F) {
	f.Add(1, 1, 5, int32(16605), 4202, 487, 1, 1, "0", 0)
	f.Add(7, -3, 9, int32(-5), -1, 1<<40, 2, -1, `x"<>&\é`+"\n\u2028", 3)
	f.Fuzz(func(t *testing.T, v, store, dow int, date int32, sales, customers, open, promo int, holiday string, school int) {
		s := Sale{V: v, Store: store, DayOfWeek: dow, Date: Date(date), Sales: sales, Customers: customers, Open: open, Promo: promo, StateHoliday: holiday, SchoolHoliday: school}
		want, err := json.Marshal(&s)
		if err != nil {
			t.Skip(err) // not a value encoding/json can write either
		}
		got := AppendSale(nil, &s)
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendSale(%+v)\n got %s\nwant %s", s, got, want)
		}
		var back Sale
		if err := DecodeSale(got, &back); err != nil {
			t.Fatalf("decode %s: %v", got, err)
		}
		var std Sale
		if err := json.Unmarshal(got, &std); err != nil || back != std {
			t.Fatalf("decode %s: %+v, encoding/json %+v (%v)", got, back, std, err)
		}
	})
}

func FuzzForecastResultEncode(f *testing.F) {
	f.Add(1, "abc-1", "", 1, int32(16617), int32(16605), 12, 5847.32, 4903.1, 6811.9, true, "storecast-sales", "3", "api-predict", int64(1795766462), int64(345678900))
	f.Add(1, "ctl\x01\n", "req", 1115, int32(16653), int32(16605), 48, 0.0, 0.0, 0.0, true, `we"ird\name<&>`, "ünïcode ✓", "api-forecasts", int64(0), int64(0))
	f.Add(1, "tiny", "", 2, int32(0), int32(0), 0, 1e-7, 0.0, 0.0, false, "", "", "", int64(-1), int64(1))
	f.Add(1, "huge", "", 2, int32(0), int32(0), 0, 3e21, 1e-7, 4e21, true, "", "", "", int64(1e10), int64(999999999))
	f.Fuzz(func(t *testing.T, v int, id, reqID string, store int, date, asOf int32, horizon int, sales, low, high float64, interval bool, name, version, source string, sec, nsec int64) {
		r := ForecastResult{V: v, ID: id, RequestID: reqID, Store: store, Date: Date(date), AsOf: Date(asOf), Horizon: horizon,
			PredictedSales: sales, ModelName: name, ModelVersion: version, Source: source, CreatedAt: time.Unix(sec, nsec%1e9).UTC()}
		if interval {
			r.PredictedSalesLow, r.PredictedSalesHigh = &low, &high
		}
		want, err := json.Marshal(&r)
		if err != nil {
			t.Skip(err) // NaN, infinities, years beyond 9999: encoding/json refuses them too
		}
		got := AppendForecastResult(nil, &r)
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendForecastResult(%+v)\n got %s\nwant %s", r, got, want)
		}
		var back, std ForecastResult
		errBack, errStd := DecodeForecastResult(got, &back), json.Unmarshal(got, &std)
		if (errBack != nil) != (errStd != nil) || !reflect.DeepEqual(back, std) {
			t.Fatalf("decode %s: %+v (%v), encoding/json %+v (%v)", got, back, errBack, std, errStd)
		}
	})
}

func FuzzExampleEncode(f *testing.F) {
	f.Add(1, 17, int32(16605), int32(16600), 5, 4202.0, "v3", 1.5, -2.0, 1e-9, 123456.0)
	f.Add(1, 1, int32(0), int32(0), 0, 0.5, "v3", math.Copysign(0, -1), 1e6, 1e21, -999999.0)
	f.Add(1, 1, int32(0), int32(0), 0, 0.0, "v2", 0.0, 0.0, 0.0, 0.0)
	names := []string{"store", "mean_sales", "promo<&>", "trend_7"}
	enc := NewExampleEncoder("v3", names)
	f.Fuzz(func(t *testing.T, v, store int, date, asOf int32, horizon int, label float64, schema string, a, b, c, d float64) {
		ex := TrainingExample{V: v, Store: store, Date: Date(date), AsOf: Date(asOf), Horizon: horizon, Label: label, Schema: schema,
			Features: FeatureVector{Names: names, Values: []float64{a, b, c, d}}}
		want, err := json.Marshal(&ex)
		if err != nil {
			t.Skip(err)
		}
		got, err := enc.Append(nil, &ex)
		if err != nil {
			t.Fatalf("encode %+v: %v", ex, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("ExampleEncoder(%+v)\n got %s\nwant %s", ex, got, want)
		}
	})
}

func TestStateHolidayOfInterns(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"0", "a", "b", "c", "x", ""} {
		if got := StateHolidayOf([]byte(c)); got != c {
			t.Errorf("StateHolidayOf(%q) = %q", c, got)
		}
	}
}

func BenchmarkWire(b *testing.B) {
	s := Sale{V: 1, Store: 1, DayOfWeek: 5, Date: DateFromYMD(2015, 6, 19), Sales: 4202, Customers: 487, Open: 1, Promo: 1, StateHoliday: "0"}
	raw := AppendSale(nil, &s)
	b.Run("AppendSale", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 256)
		for b.Loop() {
			buf = AppendSale(buf[:0], &s)
		}
	})
	b.Run("SaleDecoder", func(b *testing.B) {
		b.ReportAllocs()
		var d SaleDecoder
		var out Sale
		for b.Loop() {
			if err := d.Decode(raw, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecodeSale", func(b *testing.B) {
		b.ReportAllocs()
		var out Sale
		for b.Loop() {
			if err := DecodeSale(raw, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json-unmarshal-sale", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out Sale
			_ = json.Unmarshal(raw, &out)
		}
	})
	r := ForecastResult{V: 1, ID: "abc-1", Store: 1, Date: DateFromYMD(2015, 7, 1), AsOf: DateFromYMD(2015, 6, 19), Horizon: 12, PredictedSales: 5847.32, ModelName: "storecast-sales", ModelVersion: "3", Source: "api-predict", CreatedAt: time.Now().UTC()}
	b.Run("AppendForecastResult", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 320)
		for b.Loop() {
			buf = AppendForecastResult(buf[:0], &r)
		}
	})
}

// TestForecastResultJobFields: a forecast job's fields encode as
// encoding/json does and round-trip (the fuzz target's corpus predates them).
func TestForecastResultJobFields(t *testing.T) {
	t.Parallel()
	for _, r := range []ForecastResult{
		{V: 1, ID: "j1|3|2015-06-20", RequestID: "j1", JobID: "j1", JobRows: 46830, Store: 3, Date: DateFromYMD(2015, 6, 20),
			AsOf: DateFromYMD(2015, 6, 19), Horizon: 1, ModelName: "m", ModelVersion: "7", Source: "processor", CreatedAt: time.Unix(1, 2).UTC()},
		{V: 1, ID: "x", JobID: `j"ob<&>`, JobRows: -1, CreatedAt: time.Unix(0, 0).UTC()},
	} {
		want, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		got := AppendForecastResult(nil, &r)
		if !bytes.Equal(got, want) {
			t.Errorf("AppendForecastResult\n got %s\nwant %s", got, want)
		}
		var back ForecastResult
		if err := DecodeForecastResult(got, &back); err != nil || !reflect.DeepEqual(back, r) {
			t.Errorf("round trip %s: %+v (%v)", got, back, err)
		}
	}
}
