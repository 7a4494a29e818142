package synth

import (
	"time"

	"github.com/storecast/storecast/topics"
)

// States, in the order of stateShare.
const (
	stNW = iota
	stBY
	stBW
	stHE
	stSH
	stSN
	stTH
	stBE
)

// stateHoliday returns the Kaggle state-holiday code of d in state st:
// "a" public, "b" Easter, "c" Christmas, "0" none.
func stateHoliday(d topics.Date, st int) string {
	t := d.Time()
	y, m, day := t.Date()
	switch {
	case m == time.December && (day == 25 || day == 26):
		return "c"
	case m == time.January && day == 1, m == time.May && day == 1, m == time.October && day == 3:
		return "a"
	case m == time.January && day == 6 && (st == stBY || st == stBW):
		return "a"
	case m == time.October && day == 31 && (st == stSN || st == stTH):
		return "a"
	case m == time.November && day == 1 && (st == stNW || st == stBY || st == stBW):
		return "a"
	}
	if m < time.March || m > time.June {
		return "0"
	}
	switch e := topics.Easter(y); d - e {
	case -2, 1:
		return "b"
	case 39, 50:
		return "a"
	case 60:
		if st == stNW || st == stBY || st == stBW || st == stHE {
			return "a"
		}
	}
	return "0"
}

// schoolHoliday reports whether d is a school holiday in state st.
func (g *Generator) schoolHoliday(d topics.Date, st int) bool {
	t := d.Time()
	y, m, day := t.Date()
	if m == time.December && day >= 23 || m == time.January && day <= 6 {
		return true
	}
	e := topics.Easter(y)
	off := int(g.uniform(int64(st), int64(y), tagEaster) * 7)
	if from := e.AddDays(-7 - off + 3); d >= from && d < from.AddDays(14) {
		return true
	}
	if from := topics.DateFromYMD(y, time.June, 20).AddDays(int(g.uniform(int64(st), int64(y), tagSummer) * 42)); d >= from && d < from.AddDays(42) {
		return true
	}
	if from := topics.DateFromYMD(y, time.October, 1).AddDays(int(g.uniform(int64(st), int64(y), tagAutumn) * 21)); d >= from && d < from.AddDays(12) {
		return true
	}
	if st == stBY || st == stBW {
		if from := e.AddDays(50); d >= from && d < from.AddDays(7) {
			return true
		}
	}
	return false
}
