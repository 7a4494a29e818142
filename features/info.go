package features

import (
	"errors"
	"math"
	"strings"

	"github.com/storecast/storecast/topics"
)

// Info is a store's metadata prepared for the features: parsed once per
// store info, read for every feature vector.
type Info struct {
	Store      int
	storeType  float64
	assortment float64
	compDist   float64 // NaN: unknown
	compSince  int     // year*12 + month-1 of the competitor's opening; -1: unknown
	promo2     bool
	promo2From topics.Date // Monday of Promo2's first week; valid when promo2Known
	promo2Know bool
	promoMonth uint16 // bit m-1 set: Promo2 restarts in month m
}

var monthAbbr = map[string]int{
	"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Sept": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}

// NewInfo prepares a store info (assumed valid: see topics.StoreInfo.Validate).
// Unknown codes and missing numbers become NaN features.
func NewInfo(si *topics.StoreInfo) Info {
	in := Info{Store: si.Store, storeType: math.NaN(), assortment: math.NaN(), compDist: math.NaN(), compSince: -1}
	if len(si.StoreType) == 1 && si.StoreType[0] >= 'a' && si.StoreType[0] <= 'd' {
		in.storeType = float64(si.StoreType[0] - 'a')
	}
	if len(si.Assortment) == 1 && si.Assortment[0] >= 'a' && si.Assortment[0] <= 'c' {
		in.assortment = float64(si.Assortment[0] - 'a')
	}
	if si.CompetitionDistance != nil {
		in.compDist = *si.CompetitionDistance
		if si.CompetitionOpenSinceMonth != nil && si.CompetitionOpenSinceYear != nil {
			in.compSince = *si.CompetitionOpenSinceYear*12 + *si.CompetitionOpenSinceMonth - 1
		}
	}
	if si.Promo2 == 1 {
		in.promo2 = true
		if si.Promo2SinceWeek != nil && si.Promo2SinceYear != nil {
			in.promo2From = isoWeekMonday(*si.Promo2SinceYear, *si.Promo2SinceWeek)
			in.promo2Know = true
		}
		for _, m := range strings.Split(si.PromoInterval, ",") {
			if n, ok := monthAbbr[strings.TrimSpace(m)]; ok {
				in.promoMonth |= 1 << (n - 1)
			}
		}
	}
	return in
}

// Known are the inputs a planner knows in advance about a target day.
// Open is not a feature (examples exist only for open days; a forecast
// for a closed day is 0) but travels with the others.
type Known struct {
	Open          bool
	Promo         bool
	SchoolHoliday bool
	StateHoliday  uint8 // 0 none, 1 a, 2 b, 3 c
	// Before[i] are the known inputs of day t-1-i and After[i] of day
	// t+1+i, for the target day t: the neighbourhood the context features
	// read (the day before and after, runs of closed days, holidays and
	// school holidays around t). A day not Set is unknown: its features
	// are missing (NaN), or the distance searches stop at it.
	Before [BackDays]Neighbour
	After  [AheadDays]Neighbour
}

// Reach of the known-input neighbourhood of a target day.
const (
	// BackDays is how many days before the target day its features read.
	BackDays = 14
	// AheadDays is how many days after the target day its features read;
	// a training example is final once the state holds the day AheadDays
	// after it.
	AheadDays = 7
)

// Neighbour are the known inputs of a day next to the target day.
type Neighbour struct {
	Set           bool
	Open          bool
	Promo         bool
	SchoolHoliday bool
	StateHoliday  uint8
}

// AsNeighbour returns k's own inputs as a neighbour's.
func (k Known) AsNeighbour() Neighbour {
	return Neighbour{Set: true, Open: k.Open, Promo: k.Promo, SchoolHoliday: k.SchoolHoliday, StateHoliday: k.StateHoliday}
}

// KnownOf converts the event form of the known inputs, naming the bad field.
func KnownOf(k topics.KnownInputs) (Known, error) {
	var errs []error
	bit := func(field string, v int) bool {
		if v != 0 && v != 1 {
			errs = append(errs, &topics.FieldError{Field: field, Reason: "must be 0 or 1"})
		}
		return v == 1
	}
	out := Known{Open: bit("open", k.Open), Promo: bit("promo", k.Promo), SchoolHoliday: bit("school_holiday", k.SchoolHoliday)}
	h, err := StateHolidayCode(k.StateHoliday)
	if err != nil {
		errs = append(errs, &topics.FieldError{Field: "state_holiday", Reason: err.Error()})
	}
	out.StateHoliday = h
	if len(errs) > 0 {
		return Known{}, errors.Join(errs...)
	}
	return out, nil
}

// KnownFromFact returns the known inputs of a day whose facts are known
// (without neighbours).
func KnownFromFact(f Fact) Known {
	return Known{Open: f.Open, Promo: f.Promo, SchoolHoliday: f.SchoolHoliday, StateHoliday: f.StateHoliday}
}

// KnownAt returns the known inputs of day f.Date from its fact, with the
// inputs of the days around it (Known.Before and After) the ring holds:
// the inputs of training examples and snapshots. Only known inputs (open,
// promo, holidays) are read, never sales, so a neighbour on or after the
// as-of day keeps the features causal.
func (s *State) KnownAt(f Fact) Known {
	k := KnownFromFact(f)
	k.Around(s.neighbour, f.Date)
	return k
}

// KnownServed is KnownAt with the days after the latest day assumed
// (Assumed), as serving assumes the days a request does not give: the
// known inputs of feature snapshots, which validation scores as served
// forecasts. A training example is complete before it is emitted and never
// needs them.
func (s *State) KnownServed(f Fact) Known {
	k := s.KnownAt(f)
	for i := range k.After {
		if d := f.Date + 1 + topics.Date(i); !k.After[i].Set && d > s.latest {
			k.After[i] = s.Assumed(d, f.SchoolHoliday)
		}
	}
	return k
}

// neighbour is neighbourAt as a Known.Around lookup.
func (s *State) neighbour(d topics.Date) (Neighbour, bool) {
	n := s.neighbourAt(d)
	return n, n.Set
}

// neighbourAt returns the known inputs of day d the ring holds (not Set
// when it does not hold d).
func (s *State) neighbourAt(d topics.Date) Neighbour {
	if !s.has || d > s.latest || d < s.RingStart() {
		return Neighbour{}
	}
	x := s.ring[slot(d)]
	if !x.present() {
		return Neighbour{}
	}
	return Neighbour{
		Set: true, Open: x.flags&flagOpen != 0, Promo: x.flags&flagPromo != 0,
		SchoolHoliday: x.flags&flagSchool != 0, StateHoliday: x.flags >> 4 & 3,
	}
}

// Around fills k.Before and k.After for target day t from lookup, which
// returns a day's known inputs and whether they are known.
func (k *Known) Around(lookup func(d topics.Date) (Neighbour, bool), t topics.Date) {
	for i := range k.Before {
		if n, ok := lookup(t - 1 - topics.Date(i)); ok {
			k.Before[i] = n
		}
	}
	for i := range k.After {
		if n, ok := lookup(t + 1 + topics.Date(i)); ok {
			k.After[i] = n
		}
	}
}
