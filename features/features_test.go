package features

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/topics"
)

// reference computes the features of (T, A) straight from a list of facts,
// by the definitions in doc.go, with the standard library's calendar: an
// independent recomputation to check the state's bookkeeping against.
func reference(facts []Fact, in *topics.StoreInfo, tgt, a topics.Date, k Known) []float64 {
	v := make([]float64, NumFeatures)
	for i := range v {
		v[i] = math.NaN()
	}
	tm := tgt.Time()
	v[FStore] = float64(in.Store)
	v[FStoreType] = float64(in.StoreType[0] - 'a')
	v[FAssortment] = float64(in.Assortment[0] - 'a')
	if in.CompetitionDistance != nil {
		v[FCompetitionDistance] = *in.CompetitionDistance
		if in.CompetitionOpenSinceYear != nil {
			v[FCompetitionMonths] = float64((tm.Year()-*in.CompetitionOpenSinceYear)*12 + int(tm.Month()) - *in.CompetitionOpenSinceMonth)
		}
	}
	if in.Promo2 == 0 {
		v[FPromo2Active], v[FPromo2Month] = 0, 0
	} else {
		// Monday of ISO week w: walk from Jan 4 back to Monday.
		jan4 := time.Date(*in.Promo2SinceYear, 1, 4, 0, 0, 0, 0, time.UTC)
		for jan4.Weekday() != time.Monday {
			jan4 = jan4.AddDate(0, 0, -1)
		}
		start := topics.DateOf(jan4.AddDate(0, 0, 7*(*in.Promo2SinceWeek-1)))
		active := tgt >= start
		v[FPromo2Active] = bit(active)
		v[FPromo2Weeks] = math.Floor(float64(tgt-start) / 7)
		mon := tm.Month().String()[:3]
		v[FPromo2Month] = bit(active && (strings.Contains(in.PromoInterval, mon) || (mon == "Sep" && strings.Contains(in.PromoInterval, "Sept"))))
	}
	_, week := tm.ISOWeek()
	v[FDayOfWeek] = float64(tgt.Weekday())
	v[FDayOfMonth] = float64(tm.Day())
	v[FMonth] = float64(tm.Month())
	v[FYear] = float64(tm.Year())
	v[FWeekOfYear] = float64(week)
	v[FDayOfYear] = float64(tm.YearDay())
	v[FPromo] = bit(k.Promo)
	v[FStateHoliday] = float64(k.StateHoliday)
	v[FSchoolHoliday] = bit(k.SchoolHoliday)
	isHoliday := func(d topics.Date) bool {
		y := d.Time().Year()
		e := topics.Easter(y)
		for _, h := range []topics.Date{topics.DateFromYMD(y, 1, 1), e - 2, e + 1, topics.DateFromYMD(y, 5, 1), e + 39, e + 50,
			topics.DateFromYMD(y, 10, 3), topics.DateFromYMD(y, 12, 25), topics.DateFromYMD(y, 12, 26)} {
			if h == d {
				return true
			}
		}
		return false
	}
	for n := 0; ; n++ {
		if isHoliday(tgt + topics.Date(n)) {
			v[FDaysToHoliday] = float64(n)
			break
		}
	}
	for n := 0; ; n++ {
		if isHoliday(tgt - topics.Date(n)) {
			v[FDaysSinceHoliday] = float64(n)
			break
		}
	}
	v[FEasterOffset] = float64(tgt - topics.Easter(tm.Year()))
	v[FDaysToChristmas] = float64(topics.DateFromYMD(tm.Year(), 12, 25) - tgt)
	v[FHorizon] = float64(tgt - a)
	for i, n := range []Neighbour{k.Before[0], k.After[0]} {
		if n.Set {
			v[FOpenPrev+4*i], v[FPromoPrev+4*i] = bit(n.Open), bit(n.Promo)
			v[FStateHolidayPrev+4*i], v[FSchoolHolidayPrev+4*i] = float64(n.StateHoliday), bit(n.SchoolHoliday)
		}
	}
	referenceContext(v, k)

	type acc struct{ n, sum, cust float64 }
	var all, dow, promo, dowPromo, month, w7, w14, w28, yoy acc
	var present, dowTrading float64
	add := func(x *acc, f Fact) { x.n++; x.sum += float64(f.Sales); x.cust += float64(f.Customers) }
	last := topics.Date(math.MinInt32)
	yoyDay := tgt - 364
	yoyMon := yoyDay - topics.Date(yoyDay.Weekday()-1)
	for _, f := range facts {
		if f.Date >= a {
			continue
		}
		sameDow := f.Date.Weekday() == tgt.Weekday()
		if sameDow {
			present++
		}
		if !f.Trading() {
			continue
		}
		add(&all, f)
		if sameDow {
			add(&dow, f)
			dowTrading++
		}
		if f.Promo == k.Promo {
			add(&promo, f)
			if sameDow {
				add(&dowPromo, f)
			}
		}
		if f.Date.Time().Month() == tm.Month() {
			add(&month, f)
		}
		if age := a - f.Date; age <= 28 {
			add(&w28, f)
			if age <= 14 {
				add(&w14, f)
			}
			if age <= 7 {
				add(&w7, f)
			}
			last = max(last, f.Date)
		}
		if f.Date >= yoyMon && f.Date < yoyMon+7 {
			add(&yoy, f)
		}
	}
	m := func(x acc) float64 {
		if x.n == 0 {
			return math.NaN()
		}
		return x.sum / x.n
	}
	var p1, p0 acc
	for _, f := range facts {
		if f.Date < a && f.Trading() {
			if f.Promo {
				add(&p1, f)
			} else {
				add(&p0, f)
			}
		}
	}
	v[FHistoryDays] = all.n
	v[FMeanSales] = m(all)
	v[FMeanSalesDow] = m(dow)
	v[FMeanSalesPromo] = m(promo)
	v[FMeanSalesDowPromo] = m(dowPromo)
	v[FMeanSalesMonth] = m(month)
	v[FPromoLift] = ratio(m(p1), m(p0))
	if present > 0 {
		v[FOpenRatioDow] = dowTrading / present
	}
	if all.n > 0 {
		v[FMeanCustomers] = all.cust / all.n
	}
	v[FSalesPerCustomer] = ratio(all.sum, all.cust)
	v[FMeanSales28] = m(w28)
	v[FTrend7] = ratio(m(w7), m(all))
	v[FTrend14] = ratio(m(w14), m(all))
	v[FTrend28] = ratio(m(w28), m(all))
	if last > math.MinInt32 {
		v[FDaysSinceTrading] = float64(a - last)
	}
	v[FYoYWeekMean] = m(yoy)
	v[FYoYRatio] = ratio(m(yoy), m(all))
	return v
}

// referenceContext recomputes the neighbourhood features by offset from
// the target day: -1..-BackDays before, 1..AheadDays after.
func referenceContext(v []float64, k Known) {
	at := func(off int) (Neighbour, bool) {
		var n Neighbour
		switch {
		case off < 0 && -off <= BackDays:
			n = k.Before[-off-1]
		case off > 0 && off <= AheadDays:
			n = k.After[off-1]
		default:
			return n, false
		}
		return n, n.Set
	}
	nan := math.NaN()
	// find returns |off| of the first day in direction dir where is holds.
	find := func(dir, reach int, is func(Neighbour) bool) float64 {
		for off := dir; off*dir <= reach; off += dir {
			n, ok := at(off)
			if !ok {
				return nan
			}
			if is(n) {
				return float64(off * dir)
			}
		}
		return float64(reach + 1)
	}
	streak := func(dir, reach int, is func(Neighbour) bool) float64 {
		c := 0
		for off := dir; off*dir <= reach; off += dir {
			n, ok := at(off)
			if !ok || !is(n) {
				break
			}
			c++
		}
		return float64(c)
	}
	tally := func(dir int, is func(Neighbour) bool) float64 {
		c := 0
		for off := dir; off*dir <= 7; off += dir {
			n, ok := at(off)
			if !ok {
				return nan
			}
			if is(n) {
				c++
			}
		}
		return float64(c)
	}
	closed := func(n Neighbour) bool { return !n.Open }
	hol := func(n Neighbour) bool { return n.StateHoliday > 0 }
	v[FDaysSinceClosed] = find(-1, BackDays, closed)
	v[FClosedRunBefore] = streak(-1, BackDays, closed)
	v[FDaysSinceStateHoliday] = find(-1, BackDays, hol)
	v[FPromoRunDay], v[FSchoolRunDay] = 0, 0
	if k.Promo {
		v[FPromoRunDay] = 1 + streak(-1, BackDays, func(n Neighbour) bool { return n.Promo })
	}
	if k.SchoolHoliday {
		v[FSchoolRunDay] = 1 + streak(-1, BackDays, func(n Neighbour) bool { return n.SchoolHoliday })
	}
	v[FClosedPrev7] = tally(-1, closed)
	v[FDaysToClosed] = find(1, AheadDays, closed)
	v[FClosedRunAfter] = streak(1, AheadDays, closed)
	v[FDaysToStateHoliday] = find(1, AheadDays, hol)
	v[FDaysToSchoolChange] = find(1, AheadDays, func(n Neighbour) bool { return n.SchoolHoliday != k.SchoolHoliday })
	v[FClosedNext7] = tally(1, closed)
}

func testStoreInfo() *topics.StoreInfo {
	dist, month, year := 1270.0, 9, 2008
	week, pyear := 13, 2010
	return &topics.StoreInfo{
		V: 1, Store: 7, StoreType: "c", Assortment: "a", CompetitionDistance: &dist,
		CompetitionOpenSinceMonth: &month, CompetitionOpenSinceYear: &year,
		Promo2: 1, Promo2SinceWeek: &week, Promo2SinceYear: &pyear, PromoInterval: "Jan,Apr,Jul,Oct",
	}
}

func diffVectors(t *testing.T, what string, got, want []float64) {
	t.Helper()
	for i := range NumFeatures {
		if !sameFloat(got[i], want[i]) {
			t.Fatalf("%s: feature %s = %v, want %v", what, names[i], got[i], want[i])
		}
	}
}

// TestFeaturesMatchReference checks every feature, for every as-of day the
// state serves and every horizon, against the independent recomputation.
func TestFeaturesMatchReference(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(11, 12))
	si := testStoreInfo()
	in := NewInfo(si)
	for trial := range 6 {
		facts := genFacts(r, day0-700, day0+topics.Date(r.IntN(60)), trial%2 == 0)
		shuffled := slices.Clone(facts)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		s := applyAll(shuffled)
		latest, _ := s.Latest()
		for a := s.EarliestAsOf(); a <= latest+1; a += topics.Date(1 + r.IntN(4)) {
			var st Stats
			if err := s.Stats(a, &st); err != nil {
				t.Fatalf("stats as of %s: %v", a, err)
			}
			for h := 1; h <= MaxHorizon; h += 1 + r.IntN(5) {
				tg := a + topics.Date(h)
				k := Known{Promo: r.IntN(2) == 0, SchoolHoliday: r.IntN(3) == 0, StateHoliday: uint8(r.IntN(4))}
				k.Around(func(topics.Date) (Neighbour, bool) {
					return Neighbour{Set: true, Open: r.IntN(3) != 0, Promo: r.IntN(2) == 0, SchoolHoliday: r.IntN(2) == 0, StateHoliday: uint8(r.IntN(4) / 3)}, r.IntN(12) != 0
				}, tg)
				got, err := st.Append(nil, &in, tg, k)
				if err != nil {
					t.Fatal(err)
				}
				diffVectors(t, "as of "+a.String()+" for "+tg.String(), got, reference(facts, si, tg, a, k))
			}
		}
	}
}

// TestFeaturesAreCausal poisons every fact on or after the as-of day
// (changed values, removed and added days) and wants every feature of
// every horizon unchanged.
func TestFeaturesAreCausal(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(13, 14))
	in := testInfo()
	for trial := range 8 {
		facts := genFacts(r, day0-500, day0, trial%2 == 1)
		clean := applyAll(facts)
		latest, _ := clean.Latest()
		for a := clean.EarliestAsOf(); a <= latest; a += 7 {
			var poisoned []Fact
			for _, f := range facts {
				switch {
				case f.Date < a || f.Date == latest:
					poisoned = append(poisoned, f)
				case r.IntN(5) == 0: // drop the day
				default:
					f.Open, f.Promo, f.SchoolHoliday = !f.Open, !f.Promo, !f.SchoolHoliday
					f.StateHoliday = (f.StateHoliday + 1) % 4
					f.Sales = f.Sales*1000 + 7
					f.Customers = f.Customers*3 + 1
					poisoned = append(poisoned, f)
				}
			}
			for d := a; d < latest; d++ { // add the days that were missing
				if !slices.ContainsFunc(facts, func(f Fact) bool { return f.Date == d }) {
					poisoned = append(poisoned, Fact{Date: d, Open: true, Promo: true, Sales: 1 << 30, Customers: 1})
				}
			}
			dirty := applyAll(poisoned)
			for h := 1; h <= MaxHorizon; h++ {
				tg := a + topics.Date(h)
				k := Known{Promo: h%2 == 0, StateHoliday: uint8(h % 4), After: [AheadDays]Neighbour{{Set: h%3 == 0, Promo: true}}}
				want, err := Compute(clean, &in, tg, a, k)
				if err != nil {
					t.Fatal(err)
				}
				got, err := Compute(dirty, &in, tg, a, k)
				if err != nil {
					t.Fatal(err)
				}
				for i := range NumFeatures {
					if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
						t.Fatalf("as of %s, target %s: feature %s reads a day on or after the as-of day: %v with poison, %v without",
							a, tg, names[i], got[i], want[i])
					}
				}
			}
		}
	}
}

func TestFeatureTable(t *testing.T) {
	t.Parallel()
	d := func(s string) topics.Date {
		x, err := topics.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	// A store open every day but Sunday with sales 1000 on promo days
	// (even weeks, Monday to Friday) and 500 otherwise, customers a tenth.
	var s State
	for x := d("2014-01-01"); x < d("2015-06-19"); x++ {
		f := Fact{Date: x, Open: x.Weekday() != 7}
		f.Promo = x.Weekday() <= 5 && (int(x)/7)%2 == 0
		if f.Open {
			f.Sales = 500
			if f.Promo {
				f.Sales = 1000
			}
			f.Customers = f.Sales / 10
		}
		s.Apply(f)
	}
	noComp := NewInfo(&topics.StoreInfo{V: 1, Store: 3, StoreType: "a", Assortment: "c"})
	sinceOnly := 100.0
	compNoSince := NewInfo(&topics.StoreInfo{V: 1, Store: 4, StoreType: "d", Assortment: "b", CompetitionDistance: &sinceOnly})
	promo2 := testInfo()
	cases := []struct {
		name   string
		in     Info
		target string
		asOf   string
		k      Known
		want   map[int]float64
	}{
		{"calendar of 2015-06-19", promo2, "2015-06-19", "2015-06-18", Known{}, map[int]float64{
			FDayOfWeek: 5, FDayOfMonth: 19, FMonth: 6, FYear: 2015, FWeekOfYear: 25, FDayOfYear: 170, FHorizon: 1,
		}},
		{"store info", promo2, "2015-06-19", "2015-06-18", Known{}, map[int]float64{
			FStore: 7, FStoreType: 2, FAssortment: 0, FCompetitionDistance: 1270,
			FCompetitionMonths: 81, // 2008-09 .. 2015-06
		}},
		{"promo2 active in a promo month", promo2, "2015-07-10", "2015-06-18", Known{}, map[int]float64{
			FPromo2Active: 1, FPromo2Month: 1, FPromo2Weeks: 275, // since Monday 2010-03-29
		}},
		{"promo2 active outside its months", promo2, "2015-05-10", "2015-05-01", Known{}, map[int]float64{
			FPromo2Active: 1, FPromo2Month: 0,
		}},
		{"no promo2, no competition", noComp, "2015-05-10", "2015-05-01", Known{}, map[int]float64{
			FPromo2Active: 0, FPromo2Month: 0, FPromo2Weeks: math.NaN(),
			FCompetitionDistance: math.NaN(), FCompetitionMonths: math.NaN(), FStoreType: 0, FAssortment: 2,
		}},
		{"competition without a date", compNoSince, "2015-05-10", "2015-05-01", Known{}, map[int]float64{
			FCompetitionDistance: 100, FCompetitionMonths: math.NaN(), FStoreType: 3, FAssortment: 1,
		}},
		{"known inputs", promo2, "2015-06-19", "2015-06-10", Known{Promo: true, SchoolHoliday: true, StateHoliday: 2}, map[int]float64{
			FPromo: 1, FSchoolHoliday: 1, FStateHoliday: 2, FHorizon: 9,
		}},
		{"neighbours' inputs", promo2, "2015-06-19", "2015-06-10", Known{
			Before: [BackDays]Neighbour{{Set: true, Open: true, Promo: true, StateHoliday: 1}},
			After:  [AheadDays]Neighbour{{Set: true, SchoolHoliday: true}},
		}, map[int]float64{
			FOpenPrev: 1, FPromoPrev: 1, FStateHolidayPrev: 1, FSchoolHolidayPrev: 0,
			FOpenNext: 0, FPromoNext: 0, FStateHolidayNext: 0, FSchoolHolidayNext: 1,
		}},
		{"neighbours unknown", promo2, "2015-06-19", "2015-06-10", Known{}, map[int]float64{
			FOpenPrev: math.NaN(), FPromoPrev: math.NaN(), FStateHolidayPrev: math.NaN(), FSchoolHolidayPrev: math.NaN(),
			FOpenNext: math.NaN(), FPromoNext: math.NaN(), FStateHolidayNext: math.NaN(), FSchoolHolidayNext: math.NaN(),
		}},
		{"on a holiday", promo2, "2015-05-14", "2015-04-20", Known{}, map[int]float64{
			FEasterOffset: 39, FDaysToHoliday: 0, FDaysSinceHoliday: 0, FDaysToChristmas: 225,
		}},
		{"between holidays", promo2, "2015-06-01", "2015-05-20", Known{}, map[int]float64{
			FDaysToHoliday: 124, FDaysSinceHoliday: 7,
		}},
		{"means by promo and weekday", promo2, "2015-06-19", "2015-06-18", Known{Promo: true}, map[int]float64{
			FMeanSalesPromo: 1000, FMeanSalesDowPromo: 1000, FPromoLift: 2, FSalesPerCustomer: 10,
		}},
		{"Sunday is never open", promo2, "2015-06-21", "2015-06-18", Known{}, map[int]float64{
			FOpenRatioDow: 0, FMeanSalesDow: math.NaN(), FMeanSalesDowPromo: math.NaN(),
		}},
		{"Monday is always open", promo2, "2015-06-22", "2015-06-18", Known{}, map[int]float64{
			FOpenRatioDow: 1, FMeanSalesDowPromo: 500, FDaysSinceTrading: 1,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := Compute(&s, &c.in, d(c.target), d(c.asOf), c.k)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range c.want {
				if !sameFloat(got[i], want) {
					t.Errorf("%s = %v, want %v", names[i], got[i], want)
				}
			}
		})
	}
}

func TestComputeErrors(t *testing.T) {
	t.Parallel()
	in := testInfo()
	var empty State
	if _, err := Compute(&empty, &in, day0+1, day0, Known{}); !errors.Is(err, ErrNoHistory) {
		t.Errorf("empty state: err %v, want ErrNoHistory", err)
	}
	s := applyAll(genFacts(rand.New(rand.NewPCG(1, 1)), day0-300, day0, false))
	cases := []struct {
		name    string
		tgt, a  topics.Date
		wantErr error
	}{
		{"as of the earliest day", s.EarliestAsOf() + 1, s.EarliestAsOf(), nil},
		{"as of a day too early", s.EarliestAsOf(), s.EarliestAsOf() - 1, ErrAsOfTooEarly},
		{"horizon 0", day0, day0, ErrHorizon},
		{"horizon 48", day0 + 48, day0, nil},
		{"horizon 49", day0 + 49, day0, ErrHorizon},
		{"as of far after the latest day", day0 + 300, day0 + 290, nil},
	}
	for _, c := range cases {
		_, err := Compute(s, &in, c.tgt, c.a, Known{})
		if !errors.Is(err, c.wantErr) || (err == nil) != (c.wantErr == nil) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.wantErr)
		}
	}
}

func TestHorizonForCoversEveryHorizonEvenly(t *testing.T) {
	t.Parallel()
	counts := make([]int, MaxHorizon+1)
	n := 0
	for store := 1; store <= 1115; store++ {
		for d := day0 - 900; d <= day0; d += 3 {
			h := HorizonFor(store, d)
			if h < 1 || h > MaxHorizon {
				t.Fatalf("HorizonFor(%d, %s) = %d", store, d, h)
			}
			if h != HorizonFor(store, d) {
				t.Fatal("HorizonFor is not deterministic")
			}
			counts[h]++
			n++
		}
	}
	mean := float64(n) / MaxHorizon
	for h := 1; h <= MaxHorizon; h++ {
		// 5 standard deviations of a binomial count: a biased hash fails.
		if dev := math.Abs(float64(counts[h]) - mean); dev > 5*math.Sqrt(mean) {
			t.Errorf("horizon %d has %d examples, %.0f off the mean %.0f", h, counts[h], dev, mean)
		}
	}
}

func TestNamesMatchTheDocTable(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(line, "//\t") {
			in = false
			continue
		}
		f := strings.Fields(strings.TrimPrefix(line, "//"))
		switch {
		case len(f) >= 2 && f[0] == "name" && f[1] == "meaning":
			in = true
		case in && len(f) >= 2:
			documented = append(documented, f[0])
		case in:
			in = false
		}
	}
	if !slices.Equal(documented, Names()) {
		t.Errorf("doc.go documents %v,\nNames() is %v", documented, Names())
	}
	if len(Names()) != NumFeatures {
		t.Errorf("%d names, %d features", len(Names()), NumFeatures)
	}
	for i, n := range Names() {
		if n == "" || slices.Index(Names(), n) != i {
			t.Errorf("feature %d has an empty or repeated name %q", i, n)
		}
	}
}

func BenchmarkFeatures(b *testing.B) {
	r := rand.New(rand.NewPCG(15, 16))
	s := applyAll(genFacts(r, day0-900, day0, false))
	in := testInfo()
	b.Run("stats", func(b *testing.B) {
		b.ReportAllocs()
		var st Stats
		for b.Loop() {
			_ = s.Stats(day0-10, &st)
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var st Stats
		_ = s.Stats(day0-10, &st)
		buf := make([]float64, 0, NumFeatures)
		for b.Loop() {
			buf, _ = st.Append(buf[:0], &in, day0+5, Known{Promo: true})
		}
	})
	b.Run("compute", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = Compute(s, &in, day0+5, day0-10, Known{Promo: true})
		}
	})
}
