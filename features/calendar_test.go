package features

import (
	"testing"
	"time"

	"github.com/storecast/storecast/topics"
)

func TestCivilMatchesTime(t *testing.T) {
	t.Parallel()
	for d := topics.DateFromYMD(1899, 12, 1); d <= topics.DateFromYMD(2101, 2, 1); d++ {
		tm := d.Time()
		y, m, dd := civil(d)
		if y != tm.Year() || m != int(tm.Month()) || dd != tm.Day() {
			t.Fatalf("civil(%s) = %d-%d-%d", d, y, m, dd)
		}
		if got := dateOf(y, m, dd); got != d {
			t.Fatalf("dateOf(%d,%d,%d) = %s, want %s", y, m, dd, got, d)
		}
		yy, ww := tm.ISOWeek()
		if w := isoWeek(d); w != ww {
			t.Fatalf("isoWeek(%s) = %d, want %d (ISO year %d)", d, w, ww, yy)
		}
	}
}

func TestWeekIndexStartsOnMonday(t *testing.T) {
	t.Parallel()
	for d := topics.DateFromYMD(1960, 1, 1); d <= topics.DateFromYMD(2030, 1, 1); d++ {
		w := weekIndex(d)
		if d.Time().Weekday() == time.Monday {
			if weekIndex(d-1) != w-1 {
				t.Fatalf("week of %s (Monday) = %d, of the day before = %d", d, w, weekIndex(d-1))
			}
			if topics.Date(w*7-3) != d {
				t.Fatalf("Monday of week %d = %d, want %s", w, w*7-3, d)
			}
		} else if weekIndex(d-1) != w {
			t.Fatalf("week changes on %s, a %s", d, d.Time().Weekday())
		}
	}
}

func TestISOWeekMonday(t *testing.T) {
	t.Parallel()
	cases := []struct {
		y, w int
		want string
	}{
		{2009, 1, "2008-12-29"},
		{2015, 1, "2014-12-29"},
		{2013, 10, "2013-03-04"},
		{2011, 14, "2011-04-04"},
		{2020, 53, "2020-12-28"},
	}
	for _, c := range cases {
		if got := isoWeekMonday(c.y, c.w).String(); got != c.want {
			t.Errorf("isoWeekMonday(%d, %d) = %s, want %s", c.y, c.w, got, c.want)
		}
	}
}

func TestEaster(t *testing.T) {
	t.Parallel()
	for _, want := range []string{"2013-03-31", "2014-04-20", "2015-04-05", "2016-03-27", "2019-04-21", "2024-03-31", "2038-04-25"} {
		d, _ := topics.ParseDate(want)
		y, _, _ := civil(d)
		if got := topics.Easter(y); got != d {
			t.Errorf("topics.Easter(%d) = %s, want %s", y, got, want)
		}
	}
}

func TestHolidayDistance(t *testing.T) {
	t.Parallel()
	cases := []struct {
		day        string
		next, prev int
	}{
		{"2015-01-01", 0, 0},
		{"2015-01-02", 91, 1},  // next: Good Friday 2015-04-03
		{"2015-04-04", 2, 1},   // between Good Friday and Easter Monday
		{"2015-05-02", 12, 1},  // Ascension 2015-05-14
		{"2015-10-02", 1, 130}, // Whit Monday 2015-05-25 .. Unity Day
		{"2014-12-24", 1, 82},
		{"2014-12-27", 5, 1},
	}
	for _, c := range cases {
		d, _ := topics.ParseDate(c.day)
		next, prev, ok := holidayDistance(d)
		if !ok || next != c.next || prev != c.prev {
			t.Errorf("holidayDistance(%s) = %d, %d, %v; want %d, %d", c.day, next, prev, ok, c.next, c.prev)
		}
	}
	if _, _, ok := holidayDistance(topics.DateFromYMD(1800, 1, 2)); ok {
		t.Errorf("holidayDistance(1800) ok, want out of table")
	}
}
