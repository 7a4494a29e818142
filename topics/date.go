package topics

import (
	"fmt"
	"strconv"
	"time"
)

// Date is a calendar day, counted in days since 1970-01-01 (UTC). It is the
// unit of every fact in Storecast: one sale per store per Date.
type Date int32

// DateOf returns the Date of t's calendar day in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return DateFromYMD(y, m, d)
}

// DateFromYMD returns the Date of the given calendar day.
func DateFromYMD(y int, m time.Month, d int) Date {
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// ParseDate parses "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !digits(s[0:4]) || !digits(s[5:7]) || !digits(s[8:10]) {
		return 0, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	y, err1 := strconv.Atoi(s[0:4])
	m, err2 := strconv.Atoi(s[5:7])
	d, err3 := strconv.Atoi(s[8:10])
	if err1 != nil || err2 != nil || err3 != nil || m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return 0, fmt.Errorf("date %q does not exist", s)
	}
	return Date(t.Unix() / 86400), nil
}

// digits reports whether s is all ASCII digits (no sign: strconv.Atoi
// would take "-001" as a year that AppendText cannot write back).
func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Time returns midnight UTC of the day.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String formats the day as "YYYY-MM-DD".
func (d Date) String() string { return string(d.AppendText(nil)) }

// AppendText appends "YYYY-MM-DD" to b.
func (d Date) AppendText(b []byte) []byte {
	y, m, dd := d.Time().Date()
	b = append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append(b, byte('0'+int(m)/10), byte('0'+int(m)%10), '-')
	return append(b, byte('0'+dd/10), byte('0'+dd%10))
}

// Weekday returns the ISO day of week: 1 is Monday, 7 is Sunday (Kaggle's
// DayOfWeek convention).
func (d Date) Weekday() int {
	// 1970-01-01 was a Thursday (ISO 4).
	w := (int(d)%7+7)%7 + 4
	if w > 7 {
		w -= 7
	}
	return w
}

// AddDays returns d shifted by n days.
func (d Date) AddDays(n int) Date { return d + Date(n) }

// MarshalText implements encoding.TextMarshaler.
func (d Date) MarshalText() ([]byte, error) { return d.AppendText(make([]byte, 0, 10)), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Easter returns Easter Sunday of year y (the anonymous Gregorian
// computus). The generator's and the features' holiday calendars both use it.
func Easter(y int) Date {
	a := y % 19
	b, c := y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return DateFromYMD(y, time.Month(month), day)
}
