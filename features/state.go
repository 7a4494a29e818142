package features

import (
	"fmt"
	"sort"

	"github.com/storecast/storecast/topics"
)

// Sizes of the state. Changing any of them changes the state's meaning:
// bump codecVersion and rebuild the table by replaying the input.
const (
	// RingDays is how many most recent days (up to the latest day seen) the
	// state keeps one by one. Older days live only in the aggregates. 128
	// answers the trainer's inner-window snapshots, as of up to 2*48 days
	// before the latest day (2*48 + TrendDays <= RingDays), and tolerates
	// events 44 days late (docs/decisions/0001-store-state.md).
	RingDays = 128
	// MaxHorizon is the longest forecast horizon, in days, features serve.
	MaxHorizon = 48
	// TrendDays is the longest recent-trend window, in days before the
	// as-of day. Features as of A need the days [A-TrendDays, A) one by one,
	// so A must be at least EarliestAsOf.
	TrendDays = 28
	// WeekSpan is how many Monday-to-Sunday weeks of sales sums the state
	// keeps behind the ring, for the year-over-year features.
	WeekSpan = 50
)

// Fact is one store's facts for one day, as the state keeps them.
type Fact struct {
	Date          topics.Date
	Open          bool
	Promo         bool
	SchoolHoliday bool
	// StateHoliday is 0 (none), 1 (a, public), 2 (b, Easter), 3 (c, Christmas).
	StateHoliday uint8
	Sales        uint32
	Customers    uint32
}

// Trading reports whether the day was open with sales > 0: the days that
// carry a training example and feed the sales means.
func (f Fact) Trading() bool { return f.Open && f.Sales > 0 }

// StateHolidayCode maps Kaggle's state-holiday letters to 0..3.
func StateHolidayCode(h string) (uint8, error) {
	switch h {
	case "0", "":
		return 0, nil
	case "a":
		return 1, nil
	case "b":
		return 2, nil
	case "c":
		return 3, nil
	}
	return 0, fmt.Errorf("state holiday %q is not one of 0, a, b, c", h)
}

// FactOf converts a sale event (assumed valid: see topics.Sale.Validate).
func FactOf(s *topics.Sale) (Fact, error) {
	h, err := StateHolidayCode(s.StateHoliday)
	if err != nil {
		return Fact{}, err
	}
	if s.Sales < 0 || s.Customers < 0 || int64(s.Sales) > 1<<32-1 || int64(s.Customers) > 1<<32-1 {
		return Fact{}, fmt.Errorf("sales %d or customers %d out of range", s.Sales, s.Customers)
	}
	return Fact{
		Date: s.Date, Open: s.Open == 1, Promo: s.Promo == 1, SchoolHoliday: s.SchoolHoliday == 1,
		StateHoliday: h, Sales: uint32(s.Sales), Customers: uint32(s.Customers),
	}, nil
}

// day is one ring slot. flags packs present, open, promo, school holiday
// and the state-holiday code.
type day struct {
	flags     uint8
	sales     uint32
	customers uint32
}

const (
	flagPresent = 1 << iota
	flagOpen
	flagPromo
	flagSchool
	flagHolidayLo // two bits: the state-holiday code
	flagHolidayHi
	flagNumbers // codec only: sales and customers follow
	flagsKnown  = flagPresent | flagOpen | flagPromo | flagSchool | flagHolidayLo | flagHolidayHi
)

func dayOf(f Fact) day {
	fl := uint8(flagPresent) | f.StateHoliday<<4
	if f.Open {
		fl |= flagOpen
	}
	if f.Promo {
		fl |= flagPromo
	}
	if f.SchoolHoliday {
		fl |= flagSchool
	}
	return day{flags: fl, sales: f.Sales, customers: f.Customers}
}

func (d day) present() bool { return d.flags&flagPresent != 0 }
func (d day) trading() bool { return d.flags&flagOpen != 0 && d.sales > 0 }
func (d day) promo() int {
	if d.flags&flagPromo != 0 {
		return 1
	}
	return 0
}

func (d day) fact(date topics.Date) Fact {
	return Fact{
		Date: date, Open: d.flags&flagOpen != 0, Promo: d.flags&flagPromo != 0,
		SchoolHoliday: d.flags&flagSchool != 0, StateHoliday: d.flags >> 4 & 3,
		Sales: d.sales, Customers: d.customers,
	}
}

// aggregates are sums over trading days (present days for present), by
// ISO weekday (index 0 is Monday) and promo, and by month (index 0 is
// January).
type aggregates struct {
	cnt     [7][2]uint32
	sum     [7][2]uint64
	mcnt    [12]uint32
	msum    [12]uint64
	cust    uint64
	present [7]uint32
}

func (a *aggregates) add(wd, month int, d day) {
	a.present[wd]++
	if !d.trading() {
		return
	}
	p := d.promo()
	a.cnt[wd][p]++
	a.sum[wd][p] += uint64(d.sales)
	a.mcnt[month]++
	a.msum[month] += uint64(d.sales)
	a.cust += uint64(d.customers)
}

// week is the sales sum and count of the trading days of one week.
type week struct {
	cnt uint32
	sum uint64
}

// interval is an inclusive range of days.
type interval struct{ lo, hi topics.Date }

// State is one store's history, the value of the store table. It keeps
// the last RingDays days (up to the latest day seen) one by one, and folds
// every older day into aggregates: sums by weekday × promo, by month, the
// customers, present days by weekday, weekly sums of the WeekSpan weeks
// behind the ring, and the set of folded days (as intervals) so that a day
// is never folded twice.
//
// The state is a function of the set of facts it was given: Apply is
// commutative for distinct days, and the ring's boundary depends only on
// the latest day. Features as of any day from EarliestAsOf on are exact.
// The zero value is an empty state.
type State struct {
	has    bool
	latest topics.Date
	ring   [RingDays]day
	agg    aggregates
	weeks  [WeekSpan]week
	folded []interval
	// offset is the processing watermark: 1 + the input offset of the last
	// event that changed the state (0 when unknown). It is not part of the
	// facts; see SetInputOffset.
	offset int64
	// pending are facts held back until the store's info arrives, in the
	// order they came (see Hold); info is the encoded store info the
	// processor last saw (see SetStoreInfo).
	pending []Fact
	info    []byte
	// carried are the examples that the arrival of day carriedBy completed
	// and pushed out of the ring (see Carry). They are not facts: the
	// processor keeps them for a redelivery of that day.
	carried   []topics.TrainingExample
	carriedBy topics.Date
}

// Empty reports whether the state holds no fact.
func (s *State) Empty() bool { return !s.has }

// Latest returns the latest day seen, and false for an empty state.
func (s *State) Latest() (topics.Date, bool) { return s.latest, s.has }

// RingStart returns the first day the ring keeps one by one: every fact of
// an earlier day is folded into the aggregates.
func (s *State) RingStart() topics.Date { return s.latest - RingDays + 1 }

// EarliestAsOf returns the earliest as-of day whose features the state can
// compute exactly: the trend windows before it must lie in the ring.
func (s *State) EarliestAsOf() topics.Date { return s.RingStart() + TrendDays }

// InputOffset returns 1 + the input offset of the last event that changed
// the state, or 0. The processor uses it to recognise a redelivered event
// whose effects may not all have reached Kafka before a crash.
func (s *State) InputOffset() int64 { return s.offset }

// SetInputOffset records 1 + the input offset of the event that changed the state.
func (s *State) SetInputOffset(o int64) { s.offset = o }

// Fact returns the fact of day d if the ring holds it.
func (s *State) Fact(d topics.Date) (Fact, bool) {
	if !s.has || d > s.latest || d < s.RingStart() {
		return Fact{}, false
	}
	x := s.ring[slot(d)]
	if !x.present() {
		return Fact{}, false
	}
	return x.fact(d), true
}

// DaysHeld returns how many days the state has seen: present ring days plus
// folded days.
func (s *State) DaysHeld() int {
	n := 0
	for _, iv := range s.folded {
		n += int(iv.hi-iv.lo) + 1
	}
	if s.has {
		for _, d := range s.ring {
			if d.present() {
				n++
			}
		}
	}
	return n
}

// FirstDay returns the earliest day the state has seen.
func (s *State) FirstDay() (topics.Date, bool) {
	if len(s.folded) > 0 {
		return s.folded[0].lo, true
	}
	if !s.has {
		return 0, false
	}
	for d := s.RingStart(); d <= s.latest; d++ {
		if s.ring[slot(d)].present() {
			return d, true
		}
	}
	return 0, false
}

// Outcome says what Apply did with a fact.
type Outcome uint8

// Outcomes of Apply.
const (
	// Duplicate: the state already holds this fact (same values in the
	// ring, or the day is already folded: an old day cannot be corrected).
	Duplicate Outcome = iota
	// Added: a day the state had not seen.
	Added
	// Corrected: a day in the ring got different values.
	Corrected
)

func (o Outcome) String() string {
	switch o {
	case Duplicate:
		return "duplicate"
	case Added:
		return "added"
	case Corrected:
		return "corrected"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Change is what Apply did.
type Change struct {
	Outcome Outcome
	// WasTrading is set for Corrected when the previous value of the day was
	// a trading day (its training example may have to be withdrawn).
	WasTrading bool
	// Advanced is set when the fact's day became the latest day; Previous
	// is then the latest day before it, or the fact's own day when the
	// state was empty.
	Advanced bool
	Previous topics.Date
}

func slot(d topics.Date) int {
	return int((int64(d)%RingDays + RingDays) % RingDays)
}

func weekSlot(w int32) int {
	return int((int64(w)%WeekSpan + WeekSpan) % WeekSpan)
}

// weekRange returns the weeks the weekly sums cover for ring start b.
func weekRange(b topics.Date) (lo, hi int32) {
	hi = weekIndex(b)
	return hi - WeekSpan + 1, hi
}

// Apply adds one fact to the state. A fact for a day the ring holds with
// the same values is a Duplicate; with other values it replaces the day
// (Corrected). A fact older than the ring is folded into the aggregates
// unless that day was folded before (then Duplicate).
func (s *State) Apply(f Fact) Change {
	d := f.Date
	nd := dayOf(f)
	switch {
	case !s.has:
		s.has = true
		s.latest = d
		s.ring[slot(d)] = nd
		return Change{Outcome: Added, Advanced: true, Previous: d}
	case d > s.latest:
		prev := s.latest
		s.advance(d)
		s.expireCarried()
		s.ring[slot(d)] = nd
		return Change{Outcome: Added, Advanced: true, Previous: prev}
	case d >= s.RingStart():
		i := slot(d)
		old := s.ring[i]
		s.ring[i] = nd
		switch {
		case !old.present():
			return Change{Outcome: Added}
		case old == nd:
			return Change{Outcome: Duplicate}
		default:
			return Change{Outcome: Corrected, WasTrading: old.trading()}
		}
	case s.isFolded(d):
		return Change{Outcome: Duplicate}
	default:
		s.fold(d, nd)
		return Change{Outcome: Added}
	}
}

// advance moves the latest day to x > s.latest: ring days before the new
// start fall into the aggregates, and the weekly sums slide.
func (s *State) advance(x topics.Date) {
	oldB, newB := s.RingStart(), x-RingDays+1
	// Slide the weeks first: weeks entering the window have no folded day
	// yet (every folded day is before oldB), so their slots start at zero.
	_, oldW := weekRange(oldB)
	_, newW := weekRange(newB)
	for w := oldW + 1; w <= newW && w <= oldW+WeekSpan; w++ {
		s.weeks[weekSlot(w)] = week{}
	}
	oldLatest := s.latest
	s.latest = x // fold uses the new ring start for the week window
	for d := oldB; d < newB && d <= oldLatest; d++ {
		i := slot(d)
		if old := s.ring[i]; old.present() {
			s.ring[i] = day{}
			s.fold(d, old)
		}
	}
}

// fold adds a day older than the ring to the aggregates.
func (s *State) fold(d topics.Date, x day) {
	_, m, _ := civil(d)
	s.agg.add(d.Weekday()-1, m-1, x)
	if x.trading() {
		lo, hi := weekRange(s.RingStart())
		if w := weekIndex(d); w >= lo && w <= hi {
			wk := &s.weeks[weekSlot(w)]
			wk.cnt++
			wk.sum += uint64(x.sales)
		}
	}
	s.addFolded(d)
}

func (s *State) isFolded(d topics.Date) bool {
	iv := s.folded
	i := sort.Search(len(iv), func(i int) bool { return iv[i].hi >= d })
	return i < len(iv) && iv[i].lo <= d
}

func (s *State) addFolded(d topics.Date) {
	iv := s.folded
	if n := len(iv); n > 0 && iv[n-1].hi+1 == d { // the common case: days fold in order
		s.folded[n-1].hi = d
		return
	}
	i := sort.Search(len(iv), func(i int) bool { return iv[i].hi+1 >= d })
	switch {
	case i < len(iv) && iv[i].lo <= d && d <= iv[i].hi:
		return
	case i < len(iv) && iv[i].hi+1 == d:
		iv[i].hi = d
		if i+1 < len(iv) && iv[i+1].lo == d+1 {
			iv[i].hi = iv[i+1].hi
			s.folded = append(iv[:i+1], iv[i+2:]...)
		}
	case i < len(iv) && iv[i].lo == d+1:
		iv[i].lo = d
	default:
		iv = append(iv, interval{})
		copy(iv[i+1:], iv[i:])
		iv[i] = interval{d, d}
		s.folded = iv
	}
}

// Clone returns a deep copy of s.
func (s *State) Clone() *State {
	c := *s
	c.folded = append([]interval(nil), s.folded...)
	c.pending = append([]Fact(nil), s.pending...)
	c.carried = cloneExamples(s.carried)
	return &c
}
