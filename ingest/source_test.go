package ingest

import (
	"testing"

	"github.com/storecast/storecast/ingest/synth"
	"github.com/storecast/storecast/topics"
)

func TestSortSales(t *testing.T) {
	t.Parallel()
	d := topics.DateFromYMD(2015, 6, 1)
	// Kaggle's order: date descending, then store ascending.
	sales := []topics.Sale{{Store: 1, Date: d + 2}, {Store: 2, Date: d + 2}, {Store: 1, Date: d + 1}, {Store: 3, Date: d + 1}, {Store: 2, Date: d}}
	SortSales(sales)
	want := []topics.Sale{{Store: 2, Date: d}, {Store: 1, Date: d + 1}, {Store: 3, Date: d + 1}, {Store: 1, Date: d + 2}, {Store: 2, Date: d + 2}}
	for i := range want {
		if sales[i] != want[i] {
			t.Fatalf("sorted %v, want %v", sales, want)
		}
	}
	// Any other order is sorted too.
	mixed := []topics.Sale{{Store: 3, Date: d + 1}, {Store: 1, Date: d + 2}, {Store: 2, Date: d + 2}, {Store: 2, Date: d}, {Store: 1, Date: d + 1}}
	SortSales(mixed)
	for i := range want {
		if mixed[i] != want[i] {
			t.Fatalf("sorted %v, want %v", mixed, want)
		}
	}
}

// TestShiftToToday checks the history is moved by whole weeks to end in
// the week before yesterday, filled up to yesterday, and continued live.
func TestShiftToToday(t *testing.T) {
	t.Parallel()
	start, end := topics.DateFromYMD(2015, 1, 1), topics.DateFromYMD(2015, 6, 19)
	src, err := synth.New(synth.Config{Stores: 8, Start: start, End: end, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	for _, yesterday := range []topics.Date{topics.DateFromYMD(2026, 3, 4), topics.DateFromYMD(2026, 3, 8), end, end + 3} {
		in := FromGenerator(src)
		orig := append([]topics.Sale(nil), in.Sales...)
		if err := ShiftToToday(&in, yesterday, nil, 1); err != nil {
			t.Fatal(err)
		}
		if got := in.Sales[len(in.Sales)-1].Date; got != yesterday {
			t.Errorf("yesterday %s: history ends %s", yesterday, got)
		}
		shift := in.Sales[0].Date - orig[0].Date
		if shift%7 != 0 || yesterday-(end+shift) > 6 || end+shift > yesterday {
			t.Errorf("yesterday %s: shift %d days", yesterday, shift)
		}
		for i, s := range in.Sales {
			if i < len(orig) {
				o := orig[i]
				o.Date += shift
				if s != o {
					t.Fatalf("shifted sale %d: got %+v, want %+v", i, s, o)
				}
			}
			if err := s.Validate(nil); err != nil {
				t.Fatalf("sale %+v: %v", s, err)
			}
			if i > 0 && (s.Date < in.Sales[i-1].Date || s.Date == in.Sales[i-1].Date && s.Store <= in.Sales[i-1].Store) {
				t.Fatalf("not ordered at %d", i)
			}
		}
		if in.LiveFrom != yesterday+1 || in.Live == nil {
			t.Fatalf("live from %s", in.LiveFrom)
		}
		day := in.Live(in.LiveFrom)
		if len(day) != 8 || day[0].Date != in.LiveFrom || day[0].Validate(nil) != nil {
			t.Errorf("live day: %+v", day)
		}
	}
}

func TestLevels(t *testing.T) {
	t.Parallel()
	d := topics.DateFromYMD(2015, 6, 1)
	sales := []topics.Sale{
		{Store: 1, Date: d, Open: 1, Sales: 1000}, // outside the last 2 days
		{Store: 1, Date: d + 1, Open: 1, Sales: 100},
		{Store: 1, Date: d + 2, Open: 1, Sales: 300},
		{Store: 2, Date: d + 2, Open: 0},
	}
	got := Levels(sales, 2)
	if len(got) != 1 || got[1] != 200 {
		t.Errorf("Levels = %v, want map[1:200]", got)
	}
}
