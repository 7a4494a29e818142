package features

import (
	"sort"

	"github.com/storecast/storecast/topics"
)

// civil returns the proleptic Gregorian year, month (1..12) and day (1..31)
// of d, without going through time.Time (this runs for every feature vector).
func civil(d topics.Date) (y, m, dd int) {
	z := int(d) + 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	dd = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, dd
}

// dateOf is the inverse of civil.
func dateOf(y, m, d int) topics.Date {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := m + 9
	if m > 2 {
		mp = m - 3
	}
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return topics.Date(era*146097 + doe - 719468)
}

// isoWeek returns the ISO 8601 week number (1..53) of d.
func isoWeek(d topics.Date) int {
	thu := d + topics.Date(4-d.Weekday())
	y, _, _ := civil(thu)
	return int(thu-dateOf(y, 1, 1))/7 + 1
}

// isoWeekMonday returns the Monday of ISO week w of ISO year y.
func isoWeekMonday(y, w int) topics.Date {
	jan4 := dateOf(y, 1, 4)
	return jan4 - topics.Date(jan4.Weekday()-1) + topics.Date(7*(w-1))
}

// weekIndex numbers Monday-to-Sunday weeks since the epoch: every day of one
// week has the same index (1970-01-05, a Monday, starts week 1).
func weekIndex(d topics.Date) int32 {
	x := int32(d) + 3
	if x < 0 {
		return (x - 6) / 7
	}
	return x / 7
}

// Years covered by the holiday table; outside them the distance features
// are NaN.
const (
	holidayFirstYear = 1989
	holidayLastYear  = 2101
)

// holidays is the sorted list of German nationwide public holidays (fixed
// dates and Easter-based) of holidayFirstYear..holidayLastYear.
var holidays = func() []topics.Date {
	var out []topics.Date
	for y := holidayFirstYear; y <= holidayLastYear; y++ {
		e := topics.Easter(y)
		out = append(out,
			dateOf(y, 1, 1),   // New Year
			e-2,               // Good Friday
			e+1,               // Easter Monday
			dateOf(y, 5, 1),   // Labour Day
			e+39,              // Ascension
			e+50,              // Whit Monday
			dateOf(y, 10, 3),  // German Unity Day
			dateOf(y, 12, 25), // Christmas Day
			dateOf(y, 12, 26), // St Stephen's Day
		)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}()

// PublicHoliday returns the state-holiday code (1 a, 2 b for the Easter
// holidays, 3 c for Christmas) of d when it is a German nationwide public
// holiday, else 0.
func PublicHoliday(d topics.Date) uint8 {
	i := sort.Search(len(holidays), func(i int) bool { return holidays[i] >= d })
	if i == len(holidays) || holidays[i] != d {
		return 0
	}
	y, m, dd := civil(d)
	switch e := easterOf(y); {
	case d == e-2 || d == e+1:
		return 2
	case m == 12 && (dd == 25 || dd == 26):
		return 3
	}
	return 1
}

// holidayDistance returns the days from d to the next holiday on or after
// d, and from the last holiday on or before d to d, or ok false outside
// the table.
func holidayDistance(d topics.Date) (next, prev int, ok bool) {
	i := sort.Search(len(holidays), func(i int) bool { return holidays[i] >= d })
	if i == 0 || i == len(holidays) {
		return 0, 0, false
	}
	next = int(holidays[i] - d)
	if next == 0 {
		return 0, 0, true
	}
	return next, int(d - holidays[i-1]), true
}
