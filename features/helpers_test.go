package features

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/storecast/storecast/topics"
)

// genFacts returns a plausible store history over from..to: weekday
// pattern, promo weeks, Sunday closures, holidays, a few missing days and
// a refurbishment gap when gap is true, a few open days with zero sales.
func genFacts(r *rand.Rand, from, to topics.Date, gap bool) []Fact {
	base := 3000 + r.IntN(6000)
	sundayOpen := r.IntN(10) == 0
	gapFrom := from + topics.Date(r.IntN(int(to-from+1)))
	gapTo := gapFrom + topics.Date(20+r.IntN(150))
	var out []Fact
	for d := from; d <= to; d++ {
		if (gap && d >= gapFrom && d <= gapTo) || r.IntN(200) == 0 {
			continue
		}
		wd := d.Weekday()
		f := Fact{Date: d, Open: wd != 7 || sundayOpen, SchoolHoliday: r.IntN(6) == 0}
		if wd <= 5 && (int(d)/7)%2 == 0 {
			f.Promo = true
		}
		if r.IntN(40) == 0 {
			f.StateHoliday = uint8(1 + r.IntN(3))
			f.Open = r.IntN(4) == 0
		}
		if r.IntN(100) == 0 {
			f.Open = false
		}
		if f.Open && r.IntN(300) != 0 {
			x := float64(base) * (1 + 0.05*float64(7-wd)) * (1 + 0.3*float64(bit(f.Promo))) * (0.85 + 0.3*r.Float64())
			f.Sales = uint32(x)
			f.Customers = uint32(x / (7 + 3*r.Float64()))
		}
		out = append(out, f)
	}
	return out
}

func applyAll(facts []Fact) *State {
	s := new(State)
	for _, f := range facts {
		s.Apply(f)
	}
	return s
}

func encode(t testing.TB, s *State) []byte {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

func testInfo() Info {
	dist, month, year := 1270.0, 9, 2008
	week, pyear := 13, 2010
	return NewInfo(&topics.StoreInfo{
		V: 1, Store: 7, StoreType: "c", Assortment: "a", CompetitionDistance: &dist,
		CompetitionOpenSinceMonth: &month, CompetitionOpenSinceYear: &year,
		Promo2: 1, Promo2SinceWeek: &week, Promo2SinceYear: &pyear, PromoInterval: "Jan,Apr,Jul,Oct",
	})
}
