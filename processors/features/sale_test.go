package features

import (
	"encoding/json"
	"testing"

	"github.com/storecast/storecast/ingest"
	"github.com/storecast/storecast/topics"
)

func TestDecodeSaleFastPathMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	canonical := func(s *topics.Sale) []byte { return ingest.AppendSale(nil, s) }
	base := sale(17, day0, 5123)
	cases := map[string][]byte{
		"canonical":        canonical(base),
		"encoding/json":    func() []byte { b, _ := json.Marshal(base); return b }(),
		"negative sales":   canonical(&topics.Sale{V: 1, Store: 2, Date: day0, Sales: -5, StateHoliday: "a"}),
		"spaces":           []byte(`{ "v":1,"store":2,"day_of_week":4,"date":"2015-01-01","sales":0,"customers":0,"open":0,"promo":0,"state_holiday":"0","school_holiday":0}`),
		"other order":      []byte(`{"store":2,"v":1,"day_of_week":4,"date":"2015-01-01","sales":0,"customers":0,"open":0,"promo":0,"state_holiday":"0","school_holiday":0}`),
		"missing field":    []byte(`{"v":1,"store":2}`),
		"escaped holiday":  []byte(`{"v":1,"store":2,"day_of_week":4,"date":"2015-01-01","sales":0,"customers":0,"open":0,"promo":0,"state_holiday":"\u0061","school_holiday":0}`),
		"float":            []byte(`{"v":1,"store":2,"day_of_week":4,"date":"2015-01-01","sales":1.5,"customers":0,"open":0,"promo":0,"state_holiday":"0","school_holiday":0}`),
		"leading zero":     []byte(`{"v":1,"store":02,"day_of_week":4,"date":"2015-01-01","sales":0,"customers":0,"open":0,"promo":0,"state_holiday":"0","school_holiday":0}`),
		"bad date":         []byte(`{"v":1,"store":2,"day_of_week":4,"date":"2015-02-30","sales":0,"customers":0,"open":0,"promo":0,"state_holiday":"0","school_holiday":0}`),
		"trailing garbage": append(canonical(base), 'x'),
		"huge number":      []byte(`{"v":1,"store":99999999999,"day_of_week":4,"date":"2015-01-01","sales":0,"customers":0,"open":0,"promo":0,"state_holiday":"0","school_holiday":0}`),
		"not JSON":         []byte("{nope"),
		"empty":            nil,
	}
	for name, b := range cases {
		var fast, slow topics.Sale
		errFast := decodeSale(b, &fast)
		errSlow := json.Unmarshal(b, &slow)
		if (errFast == nil) != (errSlow == nil) || (errFast == nil && fast != slow) {
			t.Errorf("%s: decodeSale = %+v, %v; encoding/json = %+v, %v", name, fast, errFast, slow, errSlow)
		}
	}
	var s topics.Sale
	if !fastSale(canonical(base), &s) || s != *base {
		t.Errorf("the canonical layout missed the fast path: %+v", s)
	}
}

func FuzzDecodeSale(f *testing.F) {
	f.Add(ingest.AppendSale(nil, sale(1, day0, 4000)))
	f.Add(ingest.AppendSale(nil, &topics.Sale{V: 1, Store: 1115, Date: day0 - 900, Sales: -1, StateHoliday: "c"}))
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast topics.Sale
		if !fastSale(b, &fast) {
			return
		}
		var slow topics.Sale
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", b, err)
		}
		if fast != slow {
			t.Fatalf("%q: fast %+v, encoding/json %+v", b, fast, slow)
		}
	})
}

func BenchmarkDecodeSale(b *testing.B) {
	raw := ingest.AppendSale(nil, sale(17, day0, 5123))
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		var s topics.Sale
		for b.Loop() {
			_ = decodeSale(raw, &s)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		var s topics.Sale
		for b.Loop() {
			_ = json.Unmarshal(raw, &s)
		}
	})
}
