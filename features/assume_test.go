package features

import (
	"testing"

	"github.com/storecast/storecast/topics"
)

func TestPublicHoliday(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		day  string
		want uint8
	}{
		{"2015-01-01", 1}, {"2015-04-03", 2}, {"2015-04-05", 0}, {"2015-04-06", 2}, {"2015-05-01", 1},
		{"2015-05-14", 1}, {"2015-05-25", 1}, {"2015-06-04", 0}, {"2015-10-03", 1}, {"2015-12-24", 0},
		{"2015-12-25", 3}, {"2015-12-26", 3}, {"2015-07-31", 0},
	} {
		d, err := topics.ParseDate(tc.day)
		if err != nil {
			t.Fatal(err)
		}
		if got := PublicHoliday(d); got != tc.want {
			t.Errorf("PublicHoliday(%s) = %d, want %d", tc.day, got, tc.want)
		}
	}
}

func TestAssumed(t *testing.T) {
	t.Parallel()
	// Four weeks ending on Friday 2015-07-31: closed on Sundays, promo in
	// the weeks of 07-06 and 07-20 (Monday to Friday), a state holiday on
	// Sunday 07-26 and Wednesday 07-22 (a regional holiday: closed).
	last, _ := topics.ParseDate("2015-07-31")
	var s State
	for d := last - 27; d <= last; d++ {
		wd := d.Weekday()
		f := Fact{Date: d, Open: wd != 7, Sales: 100}
		mon := d - topics.Date(wd-1)
		f.Promo = wd <= 5 && (mon == last-25 || mon == last-11)
		if d == last-9 || d == last-5 {
			f.StateHoliday, f.Open = 1, false
		}
		if !f.Open {
			f.Sales = 0
		}
		s.Apply(f)
	}
	day := func(s string) topics.Date {
		d, err := topics.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		name string
		d    topics.Date
		want Neighbour
	}{
		{"a known day", last, Neighbour{}},
		{"Saturday", day("2015-08-01"), Neighbour{Set: true, Open: true}},
		{"Sunday", day("2015-08-02"), Neighbour{Set: true}},
		{"Monday of a promo week", day("2015-08-03"), Neighbour{Set: true, Open: true, Promo: true}},
		{"Wednesday after a regional holiday", day("2015-08-05"), Neighbour{Set: true, Open: true, Promo: true}},
		{"Monday without promo", day("2015-08-10"), Neighbour{Set: true, Open: true}},
		{"a public holiday", day("2015-10-03"), Neighbour{Set: true, StateHoliday: 1}},
	} {
		if got := s.Assumed(tc.d, false); got != tc.want {
			t.Errorf("%s (%s): %+v, want %+v", tc.name, tc.d, got, tc.want)
		}
	}
	if got := s.Assumed(day("2015-08-01"), true); !got.SchoolHoliday {
		t.Errorf("the school holiday of the target day is not assumed: %+v", got)
	}
}
