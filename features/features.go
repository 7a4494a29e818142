package features

import (
	"errors"
	"fmt"
	"math"

	"github.com/storecast/storecast/topics"
)

// SchemaVersion names the feature schema: the names, their order and
// their meaning. Any change to a feature's definition bumps it; models
// refuse vectors of another schema.
const SchemaVersion = "f3"

// Indices of the features in a vector (the order of Names).
const (
	FStore = iota
	FStoreType
	FAssortment
	FCompetitionDistance
	FCompetitionMonths
	FPromo2Active
	FPromo2Weeks
	FPromo2Month
	FDayOfWeek
	FDayOfMonth
	FMonth
	FYear
	FWeekOfYear
	FDayOfYear
	FPromo
	FStateHoliday
	FSchoolHoliday
	FDaysToHoliday
	FDaysSinceHoliday
	FEasterOffset
	FDaysToChristmas
	FHorizon
	FHistoryDays
	FMeanSales
	FMeanSalesDow
	FMeanSalesPromo
	FMeanSalesDowPromo
	FMeanSalesMonth
	FPromoLift
	FOpenRatioDow
	FMeanCustomers
	FSalesPerCustomer
	FMeanSales28
	FTrend7
	FTrend14
	FTrend28
	FDaysSinceTrading
	FYoYWeekMean
	FYoYRatio
	FOpenPrev
	FPromoPrev
	FStateHolidayPrev
	FSchoolHolidayPrev
	FOpenNext
	FPromoNext
	FStateHolidayNext
	FSchoolHolidayNext
	FDaysSinceClosed
	FClosedRunBefore
	FDaysSinceStateHoliday
	FPromoRunDay
	FSchoolRunDay
	FClosedPrev7
	FDaysToClosed
	FClosedRunAfter
	FDaysToStateHoliday
	FDaysToSchoolChange
	FClosedNext7
	// NumFeatures is the length of every feature vector.
	NumFeatures
)

// names is shared by every emitted example; never hand it out mutable.
var names = [NumFeatures]string{
	FStore: "store", FStoreType: "store_type", FAssortment: "assortment",
	FCompetitionDistance: "competition_distance", FCompetitionMonths: "competition_months",
	FPromo2Active: "promo2_active", FPromo2Weeks: "promo2_weeks", FPromo2Month: "promo2_month",
	FDayOfWeek: "day_of_week", FDayOfMonth: "day_of_month", FMonth: "month", FYear: "year",
	FWeekOfYear: "week_of_year", FDayOfYear: "day_of_year",
	FPromo: "promo", FStateHoliday: "state_holiday", FSchoolHoliday: "school_holiday",
	FDaysToHoliday: "days_to_holiday", FDaysSinceHoliday: "days_since_holiday",
	FEasterOffset: "easter_offset", FDaysToChristmas: "days_to_christmas",
	FHorizon: "horizon", FHistoryDays: "history_days",
	FMeanSales: "mean_sales", FMeanSalesDow: "mean_sales_dow", FMeanSalesPromo: "mean_sales_promo",
	FMeanSalesDowPromo: "mean_sales_dow_promo", FMeanSalesMonth: "mean_sales_month",
	FPromoLift: "promo_lift", FOpenRatioDow: "open_ratio_dow",
	FMeanCustomers: "mean_customers", FSalesPerCustomer: "sales_per_customer",
	FMeanSales28: "mean_sales_28", FTrend7: "trend_7", FTrend14: "trend_14", FTrend28: "trend_28",
	FDaysSinceTrading: "days_since_trading", FYoYWeekMean: "yoy_week_mean", FYoYRatio: "yoy_ratio",
	FOpenPrev: "open_prev", FPromoPrev: "promo_prev", FStateHolidayPrev: "state_holiday_prev",
	FSchoolHolidayPrev: "school_holiday_prev", FOpenNext: "open_next", FPromoNext: "promo_next",
	FStateHolidayNext: "state_holiday_next", FSchoolHolidayNext: "school_holiday_next",
	FDaysSinceClosed: "days_since_closed", FClosedRunBefore: "closed_run_before",
	FDaysSinceStateHoliday: "days_since_state_holiday", FPromoRunDay: "promo_run_day",
	FSchoolRunDay: "school_run_day", FClosedPrev7: "closed_prev_7", FDaysToClosed: "days_to_closed",
	FClosedRunAfter: "closed_run_after", FDaysToStateHoliday: "days_to_state_holiday",
	FDaysToSchoolChange: "days_to_school_change", FClosedNext7: "closed_next_7",
}

var sharedNames = names[:]

// Names returns the feature names in vector order (a fresh copy).
func Names() []string { return append([]string(nil), sharedNames...) }

// Errors of the feature functions.
var (
	// ErrNoHistory: the store has no fact yet.
	ErrNoHistory = errors.New("no history for the store")
	// ErrAsOfTooEarly: the as-of day is before the state's EarliestAsOf.
	ErrAsOfTooEarly = errors.New("as-of day is earlier than the store state can serve")
	// ErrHorizon: the target day is not 1..MaxHorizon days after the as-of day.
	ErrHorizon = errors.New("horizon out of range")
)

// Stats are a state's sums as of one day A: everything the features read
// about the past, built once and shared by every target day of that as-of
// day. They read only facts of days before A. A Stats refers to its state:
// use it before the state changes.
type Stats struct {
	s           *State
	asOf        topics.Date
	agg         aggregates
	win         [3]week // trading days in the last 7, 14 and 28 days before A
	lastTrading topics.Date
	hasLast     bool
}

// AsOf returns the as-of day of st.
func (st *Stats) AsOf() topics.Date { return st.asOf }

var windows = [3]topics.Date{7, 14, TrendDays}

// Stats fills st with the sums of s as of day a: the aggregates (every day
// before the ring) plus the ring days before a. It fails with
// ErrNoHistory or ErrAsOfTooEarly.
func (s *State) Stats(a topics.Date, st *Stats) error {
	if !s.has {
		return ErrNoHistory
	}
	if a < s.EarliestAsOf() {
		return fmt.Errorf("%w: as-of %s, earliest %s", ErrAsOfTooEarly, a, s.EarliestAsOf())
	}
	*st = Stats{s: s, asOf: a, agg: s.agg}
	b, hi := s.RingStart(), min(a-1, s.latest)
	if b > hi {
		return nil
	}
	y, m, _ := civil(b)
	nextMonth := firstOfNextMonth(y, m)
	wd := b.Weekday() - 1
	for d := b; d <= hi; d++ {
		if d == nextMonth {
			if m++; m > 12 {
				m, y = 1, y+1
			}
			nextMonth = firstOfNextMonth(y, m)
		}
		if x := s.ring[slot(d)]; x.present() {
			st.agg.add(wd, m-1, x)
			if x.trading() {
				if age := a - d; age <= TrendDays {
					for i, w := range windows {
						if age <= w {
							st.win[i].cnt++
							st.win[i].sum += uint64(x.sales)
						}
					}
					st.lastTrading, st.hasLast = d, true
				}
			}
		}
		if wd++; wd == 7 {
			wd = 0
		}
	}
	return nil
}

func firstOfNextMonth(y, m int) topics.Date {
	if m == 12 {
		return dateOf(y+1, 1, 1)
	}
	return dateOf(y, m+1, 1)
}

var nan = math.NaN()

func mean(sum uint64, cnt uint32) float64 {
	if cnt == 0 {
		return nan
	}
	return float64(sum) / float64(cnt)
}

func ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return nan
	}
	return a / b
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Append appends the NumFeatures features of target day t (as of st's day)
// to dst, in Names order. t must be 1..MaxHorizon days after the as-of day.
func (st *Stats) Append(dst []float64, in *Info, t topics.Date, k Known) ([]float64, error) {
	h := int(t - st.asOf)
	if h < 1 || h > MaxHorizon {
		return dst, fmt.Errorf("%w: target %s is %d days after as-of %s, want 1..%d", ErrHorizon, t, h, st.asOf, MaxHorizon)
	}
	n := len(dst)
	if cap(dst)-n < NumFeatures {
		dst = append(make([]float64, 0, n+NumFeatures), dst...)
	}
	v := dst[n : n+NumFeatures]
	y, m, dd := civil(t)
	wd := t.Weekday()

	// The store.
	v[FStore] = float64(in.Store)
	v[FStoreType] = in.storeType
	v[FAssortment] = in.assortment
	v[FCompetitionDistance] = in.compDist
	v[FCompetitionMonths] = nan
	if in.compSince >= 0 {
		v[FCompetitionMonths] = float64(y*12 + m - 1 - in.compSince)
	}
	switch {
	case !in.promo2:
		v[FPromo2Active], v[FPromo2Weeks], v[FPromo2Month] = 0, nan, 0
	case !in.promo2Know:
		v[FPromo2Active], v[FPromo2Weeks], v[FPromo2Month] = nan, nan, nan
	default:
		active := t >= in.promo2From
		v[FPromo2Active] = bit(active)
		v[FPromo2Weeks] = math.Floor(float64(t-in.promo2From) / 7)
		v[FPromo2Month] = bit(active && in.promoMonth&(1<<(m-1)) != 0)
	}

	// The target day's calendar and known inputs.
	v[FDayOfWeek] = float64(wd)
	v[FDayOfMonth] = float64(dd)
	v[FMonth] = float64(m)
	v[FYear] = float64(y)
	v[FWeekOfYear] = float64(isoWeek(t))
	v[FDayOfYear] = float64(t-dateOf(y, 1, 1)) + 1
	v[FPromo] = bit(k.Promo)
	v[FStateHoliday] = float64(k.StateHoliday)
	v[FSchoolHoliday] = bit(k.SchoolHoliday)
	if next, prev, ok := holidayDistance(t); ok {
		v[FDaysToHoliday], v[FDaysSinceHoliday] = float64(next), float64(prev)
	} else {
		v[FDaysToHoliday], v[FDaysSinceHoliday] = nan, nan
	}
	v[FEasterOffset] = float64(t - easterOf(y))
	v[FDaysToChristmas] = float64(dateOf(y, 12, 25) - t)
	v[FHorizon] = float64(h)
	knownAround(v, &k)

	// The store's history before the as-of day.
	a := &st.agg
	var n0, n1 uint32
	var s0, s1 uint64
	for i := range 7 {
		n0, n1 = n0+a.cnt[i][0], n1+a.cnt[i][1]
		s0, s1 = s0+a.sum[i][0], s1+a.sum[i][1]
	}
	total := mean(s0+s1, n0+n1)
	w, p := wd-1, 0
	if k.Promo {
		p = 1
	}
	v[FHistoryDays] = float64(n0 + n1)
	v[FMeanSales] = total
	v[FMeanSalesDow] = mean(a.sum[w][0]+a.sum[w][1], a.cnt[w][0]+a.cnt[w][1])
	if p == 1 {
		v[FMeanSalesPromo] = mean(s1, n1)
	} else {
		v[FMeanSalesPromo] = mean(s0, n0)
	}
	v[FMeanSalesDowPromo] = mean(a.sum[w][p], a.cnt[w][p])
	v[FMeanSalesMonth] = mean(a.msum[m-1], a.mcnt[m-1])
	v[FPromoLift] = ratio(mean(s1, n1), mean(s0, n0))
	v[FOpenRatioDow] = nan
	if a.present[w] > 0 {
		v[FOpenRatioDow] = float64(a.cnt[w][0]+a.cnt[w][1]) / float64(a.present[w])
	}
	v[FMeanCustomers] = mean(a.cust, n0+n1)
	v[FSalesPerCustomer] = ratio(float64(s0+s1), float64(a.cust))
	m28 := mean(st.win[2].sum, st.win[2].cnt)
	v[FMeanSales28] = m28
	v[FTrend7] = ratio(mean(st.win[0].sum, st.win[0].cnt), total)
	v[FTrend14] = ratio(mean(st.win[1].sum, st.win[1].cnt), total)
	v[FTrend28] = ratio(m28, total)
	v[FDaysSinceTrading] = nan
	if st.hasLast {
		v[FDaysSinceTrading] = float64(st.asOf - st.lastTrading)
	}
	yoy := st.yoyWeekMean(t)
	v[FYoYWeekMean] = yoy
	v[FYoYRatio] = ratio(yoy, total)
	return dst[:n+NumFeatures], nil
}

// knownAround fills the features of the known inputs of the days around
// the target day: the day before's and after's own inputs and the context.
func knownAround(v []float64, k *Known) {
	neighbour(v[FOpenPrev:FSchoolHolidayPrev+1], k.Before[0])
	neighbour(v[FOpenNext:FSchoolHolidayNext+1], k.After[0])
	context(v, k)
}

// context fills the features of the known inputs around the target day
// (k.Before, k.After): distances to closed days and state holidays, runs
// of closed days, promo and school-holiday days, and counts of closed days
// in the week before and after. A distance search that meets an unknown
// day before finding its event is NaN; one that finds nothing in reach is
// reach+1.
func context(v []float64, k *Known) {
	closed := func(n Neighbour) bool { return !n.Open }
	holiday := func(n Neighbour) bool { return n.StateHoliday != 0 }
	v[FDaysSinceClosed] = distance(k.Before[:], closed)
	v[FClosedRunBefore] = run(k.Before[:], closed)
	v[FDaysSinceStateHoliday] = distance(k.Before[:], holiday)
	v[FPromoRunDay], v[FSchoolRunDay] = 0, 0
	if k.Promo {
		v[FPromoRunDay] = 1 + run(k.Before[:], func(n Neighbour) bool { return n.Promo })
	}
	if k.SchoolHoliday {
		v[FSchoolRunDay] = 1 + run(k.Before[:], func(n Neighbour) bool { return n.SchoolHoliday })
	}
	v[FClosedPrev7] = count(k.Before[:7], closed)
	v[FDaysToClosed] = distance(k.After[:], closed)
	v[FClosedRunAfter] = run(k.After[:], closed)
	v[FDaysToStateHoliday] = distance(k.After[:], holiday)
	v[FDaysToSchoolChange] = distance(k.After[:], func(n Neighbour) bool { return n.SchoolHoliday != k.SchoolHoliday })
	v[FClosedNext7] = count(k.After[:7], closed)
}

// distance is 1 + the index of the first day of ns (nearest first) where
// is holds, len(ns)+1 when none does, NaN when an unknown day comes first.
func distance(ns []Neighbour, is func(Neighbour) bool) float64 {
	for i, n := range ns {
		if !n.Set {
			return nan
		}
		if is(n) {
			return float64(i + 1)
		}
	}
	return float64(len(ns) + 1)
}

// run is how many days of ns (nearest first) in a row are known and
// satisfy is.
func run(ns []Neighbour, is func(Neighbour) bool) float64 {
	i := 0
	for i < len(ns) && ns[i].Set && is(ns[i]) {
		i++
	}
	return float64(i)
}

// count is how many days of ns satisfy is, NaN when one is unknown.
func count(ns []Neighbour, is func(Neighbour) bool) float64 {
	c := 0
	for _, n := range ns {
		if !n.Set {
			return nan
		}
		if is(n) {
			c++
		}
	}
	return float64(c)
}

// neighbour fills the four features of a neighbouring day's inputs: open,
// promo, state holiday, school holiday (NaN when unknown).
func neighbour(v []float64, n Neighbour) {
	if !n.Set {
		v[0], v[1], v[2], v[3] = nan, nan, nan, nan
		return
	}
	v[0], v[1], v[2], v[3] = bit(n.Open), bit(n.Promo), float64(n.StateHoliday), bit(n.SchoolHoliday)
}

// yoyWeekMean is the mean sales of the trading days of the week holding
// t-364 (the same weekday 52 weeks earlier), NaN when the weekly sums do
// not hold that whole week.
func (st *Stats) yoyWeekMean(t topics.Date) float64 {
	w := weekIndex(t - 364)
	b := st.s.RingStart()
	lo, _ := weekRange(b)
	if sunday := topics.Date(w*7 + 3); w < lo || sunday >= b {
		return nan
	}
	wk := st.s.weeks[weekSlot(w)]
	return mean(wk.sum, wk.cnt)
}

var easterTable = func() []topics.Date {
	out := make([]topics.Date, 0, holidayLastYear-holidayFirstYear+1)
	for y := holidayFirstYear; y <= holidayLastYear; y++ {
		out = append(out, topics.Easter(y))
	}
	return out
}()

func easterOf(y int) topics.Date {
	if y >= holidayFirstYear && y <= holidayLastYear {
		return easterTable[y-holidayFirstYear]
	}
	return topics.Easter(y)
}

// Compute returns the features of target day t as of day a, for a store
// with state s and info in: the one function training examples, feature
// snapshots and serving share. For many target days of one as-of day, call
// s.Stats once and Stats.Append per day instead.
func Compute(s *State, in *Info, t, a topics.Date, k Known) ([]float64, error) {
	var st Stats
	if err := s.Stats(a, &st); err != nil {
		return nil, err
	}
	return st.Append(make([]float64, 0, NumFeatures), in, t, k)
}

// HorizonFor returns the horizon, 1..MaxHorizon, of the training example
// of store's day d: a hash of (store, d), so that every horizon gets the
// same share of examples and a day's horizon never changes.
func HorizonFor(store int, d topics.Date) int {
	x := uint64(uint32(store))<<32 | uint64(uint32(d))
	// splitmix64 finaliser
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return int(x%MaxHorizon) + 1
}
