package topics

import (
	"testing"
	"time"
)

func TestDate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s       string
		weekday int
	}{
		{"1970-01-01", 4}, {"2013-01-01", 2}, {"2015-06-19", 5}, {"2015-06-21", 7}, {"2015-06-22", 1}, {"2000-02-29", 2}, {"1969-12-31", 3},
	} {
		d, err := ParseDate(tc.s)
		if err != nil {
			t.Fatalf("ParseDate(%q): %v", tc.s, err)
		}
		if d.String() != tc.s {
			t.Errorf("ParseDate(%q).String() = %s", tc.s, d)
		}
		if d.Weekday() != tc.weekday {
			t.Errorf("%s: Weekday() = %d, want %d", tc.s, d.Weekday(), tc.weekday)
		}
		tm := d.Time()
		if tm.Format(time.DateOnly) != tc.s || DateOf(tm) != d {
			t.Errorf("%s: Time() = %v", tc.s, tm)
		}
		if iso := int(tm.Weekday()); (iso+6)%7+1 != tc.weekday {
			t.Errorf("%s: Weekday() disagrees with time.Weekday %v", tc.s, tm.Weekday())
		}
	}
	for _, bad := range []string{"", "2015-6-19", "2015-02-30", "2015-13-01", "2015-00-10", "19/06/2015", "2015-06-1x", "2015-06-00", "-001-01-01", "+015-06-19", "2015-+6-19", "2015-06--1"} {
		if d, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) = %s, want an error", bad, d)
		}
	}
	d := DateFromYMD(2015, 12, 31)
	if got := d.AddDays(1).String(); got != "2016-01-01" {
		t.Errorf("AddDays: %s", got)
	}
	var back Date
	if err := back.UnmarshalText([]byte("2016-02-29")); err != nil || back.String() != "2016-02-29" {
		t.Errorf("UnmarshalText: %s, %v", back, err)
	}
	if err := back.UnmarshalText([]byte("2015-02-29")); err == nil {
		t.Error("UnmarshalText accepted 2015-02-29")
	}
}
