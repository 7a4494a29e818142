package synth

import (
	"reflect"
	"testing"

	"github.com/storecast/storecast/topics"
)

type shape struct {
	days, closed, promoDays int
	sundays, sundaysClosed  int
	openBy                  [8]float64
	openN                   [8]int
	promoSum, plainSum      float64
	promoN, plainN          int
	sundayOpenStores        map[int]bool
}

func measure(sales []topics.Sale) shape {
	var s shape
	s.sundayOpenStores = map[int]bool{}
	for _, x := range sales {
		s.days++
		if x.Open == 0 {
			s.closed++
		}
		if x.Promo == 1 {
			s.promoDays++
		}
		if x.DayOfWeek == 7 {
			s.sundays++
			if x.Open == 0 {
				s.sundaysClosed++
			} else {
				s.sundayOpenStores[x.Store] = true
			}
		}
		if x.Open == 1 && x.StateHoliday == "0" {
			if x.Promo == 0 {
				s.openBy[x.DayOfWeek] += float64(x.Sales)
				s.openN[x.DayOfWeek]++
			}
			if x.DayOfWeek >= 2 && x.DayOfWeek <= 4 {
				if x.Promo == 1 {
					s.promoSum += float64(x.Sales)
					s.promoN++
				} else {
					s.plainSum += float64(x.Sales)
					s.plainN++
				}
			}
		}
	}
	return s
}

func window() (topics.Date, topics.Date) {
	return topics.DateFromYMD(2013, 1, 1), topics.DateFromYMD(2015, 6, 19)
}

// TestShape checks the shares the package doc promises, for several seeds.
func TestShape(t *testing.T) {
	t.Parallel()
	start, end := window()
	for _, seed := range []uint64{1, 2, 42} {
		g, err := New(Config{Stores: 120, Start: start, End: end, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		s := measure(g.Sales())
		band := func(name string, got, lo, hi float64) {
			t.Helper()
			if got < lo || got > hi {
				t.Errorf("seed %d: %s = %.3f, want %.2f..%.2f", seed, name, got, lo, hi)
			}
		}
		band("closed share", float64(s.closed)/float64(s.days), 0.15, 0.22)
		band("promo share", float64(s.promoDays)/float64(s.days), 0.35, 0.46)
		band("promo lift (Tue-Thu)", s.promoSum/float64(s.promoN)/(s.plainSum/float64(s.plainN)), 1.2, 1.4)
		band("closed Sundays", float64(s.sundaysClosed)/float64(s.sundays), 0.9, 1)
		if len(s.sundayOpenStores) == 0 {
			t.Errorf("seed %d: no store opens on Sundays", seed)
		}
		mean := func(d int) float64 { return s.openBy[d] / float64(s.openN[d]) }
		for d := 2; d <= 6; d++ {
			if mean(1) <= mean(d) {
				t.Errorf("seed %d: Monday mean %.0f is not above day %d's %.0f", seed, mean(1), d, mean(d))
			}
		}
		for d := 1; d <= 5; d++ {
			if mean(6) >= mean(d) {
				t.Errorf("seed %d: Saturday mean %.0f is not below day %d's %.0f", seed, mean(6), d, mean(d))
			}
		}
		band("Monday/Saturday", mean(1)/mean(6), 1.25, 1.55)
	}
}

// TestSalesAreValid checks every generated event passes topics validation
// and the metadata passes StoreInfo validation.
func TestSalesAreValid(t *testing.T) {
	t.Parallel()
	start, end := window()
	g, err := New(Config{Stores: 60, Start: start, End: end, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	known := g.Known()
	for _, s := range g.Stores() {
		if err := s.Validate(); err != nil {
			t.Fatalf("store %d: %v", s.Store, err)
		}
	}
	sales := g.Sales()
	if want := int(end-start+1) * 60; len(sales) != want {
		t.Fatalf("got %d sales, want %d", len(sales), want)
	}
	holidays := map[string]int{}
	school := 0
	for i, s := range sales {
		if err := s.Validate(known); err != nil {
			t.Fatalf("sale %+v: %v", s, err)
		}
		if i > 0 {
			p := sales[i-1]
			if s.Date < p.Date || s.Date == p.Date && s.Store <= p.Store {
				t.Fatalf("sales not ordered by (date, store) at %d", i)
			}
		}
		holidays[s.StateHoliday]++
		school += s.SchoolHoliday
	}
	for _, h := range []string{"a", "b", "c"} {
		if holidays[h] == 0 {
			t.Errorf("no state holiday %q generated", h)
		}
	}
	if share := float64(school) / float64(len(sales)); share < 0.15 || share > 0.3 {
		t.Errorf("school holiday share %.3f, want 0.15..0.30", share)
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	start, end := window()
	gen := func(seed uint64) *Generator {
		g, err := New(Config{Stores: 30, Start: start, End: end, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	a, b, c := gen(5), gen(5), gen(6)
	if !reflect.DeepEqual(a.Stores(), b.Stores()) {
		t.Error("same seed gave different stores")
	}
	sa, sb, sc := a.Sales(), b.Sales(), c.Sales()
	if !reflect.DeepEqual(sa, sb) {
		t.Error("same seed gave different sales")
	}
	if reflect.DeepEqual(sa, sc) {
		t.Error("different seeds gave the same sales")
	}
	// Day is random access: any day equals its slice of Sales, and days
	// after the window are as reproducible.
	d := start.AddDays(400)
	if got, want := a.Day(d, nil), sa[400*30:401*30]; !reflect.DeepEqual(got, want) {
		t.Errorf("Day(%s) differs from Sales()", d)
	}
	later := end.AddDays(100)
	if !reflect.DeepEqual(a.Day(later, nil), b.Day(later, nil)) {
		t.Errorf("Day(%s) after the window is not deterministic", later)
	}
}

// TestKaggleInfos simulates given stores with given levels.
func TestKaggleInfos(t *testing.T) {
	t.Parallel()
	start, end := window()
	infos := []topics.StoreInfo{
		{V: 1, Store: 3, StoreType: "a", Assortment: "a"},
		{V: 1, Store: 9, StoreType: "d", Assortment: "c", Promo2: 1, Promo2SinceWeek: ptr(10), Promo2SinceYear: ptr(2011), PromoInterval: "Jan,Apr,Jul,Oct"},
	}
	g, err := New(Config{Infos: infos, Start: start, End: end, Seed: 1, Levels: map[int]float64{3: 20000}})
	if err != nil {
		t.Fatal(err)
	}
	var sum [2]float64
	var n [2]int
	for _, s := range g.Sales() {
		i := 0
		if s.Store == 9 {
			i = 1
		} else if s.Store != 3 {
			t.Fatalf("unexpected store %d", s.Store)
		}
		if s.Open == 1 {
			sum[i] += float64(s.Sales)
			n[i]++
		}
	}
	if m := sum[0] / float64(n[0]); m < 17000 || m > 26000 {
		t.Errorf("store 3 mean %.0f, want near its level 20000", m)
	}
	if m := sum[1] / float64(n[1]); m > 15000 {
		t.Errorf("store 9 mean %.0f, want a type-d level", m)
	}
}

func TestEaster(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		year int
		want string
	}{{2013, "2013-03-31"}, {2014, "2014-04-20"}, {2015, "2015-04-05"}, {2024, "2024-03-31"}, {2025, "2025-04-20"}} {
		if got := topics.Easter(tc.year).String(); got != tc.want {
			t.Errorf("topics.Easter(%d) = %s, want %s", tc.year, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	start, end := window()
	for name, c := range map[string]Config{
		"no stores":   {Start: start, End: end},
		"end < start": {Stores: 3, Start: end, End: start},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted %+v", name, c)
		}
	}
}
