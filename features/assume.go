package features

import "github.com/storecast/storecast/topics"

// Assumed returns the known inputs a forecast assumes for day d after the
// state's latest day when the caller does not give them (POST /predict
// gives one day; /v1/forecasts the days it asks for): the store's plan as
// its history shows it, so that the features of the days around a target
// day are not missing where training examples always have them.
//
//   - StateHoliday: the German nationwide public holiday of d (PublicHoliday),
//     else none; regional holidays are not known.
//   - Open: closed on such a holiday; otherwise as on the latest day the
//     state holds with d's weekday that is not a state holiday (open if there
//     is none): stores keep their closing days.
//   - Promo: as on the latest day the state holds a multiple of 14 days
//     before d (promotions run in a two-week cycle), else none.
//   - SchoolHoliday: school, the target day's own input (school holidays
//     run for weeks).
//
// Days up to the latest day are not assumed: Set is false for them.
func (s *State) Assumed(d topics.Date, school bool) Neighbour {
	if !s.has || d <= s.latest {
		return Neighbour{}
	}
	n := Neighbour{Set: true, Open: true, SchoolHoliday: school, StateHoliday: PublicHoliday(d)}
	start := s.RingStart()
	for x := d - 7; x >= start; x -= 7 {
		if x > s.latest {
			continue
		}
		if f := s.ring[slot(x)]; f.present() && f.flags>>4&3 == 0 {
			n.Open = f.flags&flagOpen != 0
			break
		}
	}
	for x := d - 14; x >= start; x -= 14 {
		if x > s.latest {
			continue
		}
		if f := s.ring[slot(x)]; f.present() {
			n.Promo = f.flags&flagPromo != 0
			break
		}
	}
	if n.StateHoliday != 0 {
		n.Open = false
	}
	return n
}
