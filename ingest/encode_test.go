package ingest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/storecast/storecast/ingest/synth"
	"github.com/storecast/storecast/topics"
)

// TestAppendSaleMatchesEncodingJSON checks the hand-rolled encoder writes
// exactly encoding/json's bytes and round-trips through topics.SaleCodec.
func TestAppendSaleMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	sales := []topics.Sale{
		{},
		{V: 1, Store: 1, DayOfWeek: 5, Date: topics.DateFromYMD(2015, 6, 19), Sales: 4202, Customers: 487, Open: 1, Promo: 1, StateHoliday: "0"},
		{V: 1, Store: 1115, DayOfWeek: 2, Date: topics.DateFromYMD(2013, 1, 1), StateHoliday: "a", SchoolHoliday: 1},
		{V: 7, Store: -3, DayOfWeek: 9, Date: -5, Sales: -1, Customers: 1 << 40, Open: 2, Promo: -1, StateHoliday: `x"<>&\é` + "\n", SchoolHoliday: 3},
	}
	start, end := topics.DateFromYMD(2014, 12, 1), topics.DateFromYMD(2015, 1, 10)
	g, err := synth.New(synth.Config{Stores: 20, Start: start, End: end, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	sales = append(sales, g.Sales()...)
	for _, s := range sales {
		got := AppendSale(nil, &s)
		want, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendSale(%+v)\n got %s\nwant %s", s, got, want)
		}
		back, err := topics.SaleCodec{}.Decode(got)
		if err != nil {
			t.Fatalf("decode %s: %v", got, err)
		}
		if s.Date >= 0 && !reflect.DeepEqual(*back.(*topics.Sale), s) {
			t.Fatalf("round trip: got %+v, want %+v", back, s)
		}
	}
}

func BenchmarkAppendSale(b *testing.B) {
	s := topics.Sale{V: 1, Store: 1, DayOfWeek: 5, Date: topics.DateFromYMD(2015, 6, 19), Sales: 4202, Customers: 487, Open: 1, Promo: 1, StateHoliday: "0"}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 256)
		for b.Loop() {
			buf = AppendSale(buf[:0], &s)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(&s)
		}
	})
}
