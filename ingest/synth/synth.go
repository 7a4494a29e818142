package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/storecast/storecast/topics"
)

// Config chooses what the generator makes. Start and End bound the window
// in which one-off events (refurbishments, competitor openings) are placed
// and which Sales returns; Day works for any date.
type Config struct {
	// Stores is the number of stores, ids 1..Stores. Ignored when Infos is set.
	Stores int
	// Start and End are the first and last day of the window (inclusive).
	Start, End topics.Date
	// Seed makes the output reproducible.
	Seed uint64
	// Infos, when non-empty, are the stores to simulate (for example
	// store.csv's) instead of generated ones.
	Infos []topics.StoreInfo
	// Levels optionally sets a store's mean sales on an ordinary open day.
	Levels map[int]float64
}

// Validate reports a config that cannot generate.
func (c Config) Validate() error {
	if len(c.Infos) == 0 && (c.Stores < 1 || c.Stores > topics.MaxStoreID) {
		return fmt.Errorf("synth: stores %d is not in 1..%d", c.Stores, topics.MaxStoreID)
	}
	if c.End < c.Start {
		return fmt.Errorf("synth: end %s is before start %s", c.End, c.Start)
	}
	return nil
}

// Generator makes store metadata and daily sales. It is safe for
// concurrent use: it holds no mutable state after New.
type Generator struct {
	cfg    Config
	stores []store
	infos  []topics.StoreInfo
}

type store struct {
	id         int
	state      int
	level      float64
	basket     float64
	growth     float64
	sundayOpen bool
	// refurbFrom..refurbTo (exclusive) the store is closed; zero if never.
	refurbFrom, refurbTo topics.Date
	// compOpen is a competitor's opening inside the window (0 if none),
	// compDrop the share of sales it takes.
	compOpen topics.Date
	compDrop float64
	// promo2From is the first day of Promo2 (0 if none), promo2Months the
	// months (1..12) of its interval.
	promo2From   topics.Date
	promo2Months [13]bool
}

// New builds a generator.
func New(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg}
	infos := cfg.Infos
	generated := len(infos) == 0
	if generated {
		infos = make([]topics.StoreInfo, cfg.Stores)
		for i := range infos {
			infos[i] = g.genInfo(i + 1)
		}
	}
	g.infos = infos
	g.stores = make([]store, len(infos))
	anySunday := false
	for i := range infos {
		g.stores[i] = g.model(&infos[i], generated)
		anySunday = anySunday || g.stores[i].sundayOpen
	}
	if generated && !anySunday && len(infos) >= 5 {
		m := len(infos) / 2
		g.stores[m].sundayOpen = true
	}
	return g, nil
}

// Stores returns the stores' metadata, ordered by store id as configured.
func (g *Generator) Stores() []topics.StoreInfo {
	return append([]topics.StoreInfo(nil), g.infos...)
}

// Known reports whether a store id is one of the generator's stores.
func (g *Generator) Known() topics.KnownStores {
	ids := make(map[int]bool, len(g.infos))
	for _, s := range g.infos {
		ids[s.Store] = true
	}
	return func(id int) bool { return ids[id] }
}

// Sales returns every store's sale for every day of the window, ordered
// by (date, store).
func (g *Generator) Sales() []topics.Sale {
	n := int(g.cfg.End-g.cfg.Start+1) * len(g.stores)
	out := make([]topics.Sale, 0, n)
	for d := g.cfg.Start; d <= g.cfg.End; d++ {
		out = g.Day(d, out)
	}
	return out
}

// Day appends every store's sale on d to dst, by store id.
func (g *Generator) Day(d topics.Date, dst []topics.Sale) []topics.Sale {
	cal := g.calendar(d)
	for i := range g.stores {
		dst = append(dst, g.sale(&g.stores[i], d, &cal))
	}
	return dst
}

// ---- randomness ----

func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Purposes of daily draws.
const (
	tagNoise uint64 = iota + 1
	tagNoise2
	tagCustomers
	tagCustomers2
	tagClosed
	tagPromoWeek
	tagSummer
	tagAutumn
	tagEaster
)

// uniform returns a deterministic uniform in [0,1) for the given inputs.
func (g *Generator) uniform(a, b int64, tag uint64) float64 {
	h := mix(g.cfg.Seed ^ mix(uint64(a)*0x100000001b3^mix(uint64(b)^tag<<56)))
	return float64(h>>11) / (1 << 53)
}

// normal returns a deterministic standard normal (Box-Muller).
func (g *Generator) normal(a, b int64, tag1, tag2 uint64) float64 {
	u1 := g.uniform(a, b, tag1)
	u2 := g.uniform(a, b, tag2)
	return math.Sqrt(-2*math.Log(1-u1)) * math.Cos(2*math.Pi*u2)
}

func lognormal(r *rand.Rand, sigma float64) float64 {
	return math.Exp(r.NormFloat64()*sigma - sigma*sigma/2)
}

func (g *Generator) storeRand(id int) *rand.Rand {
	return rand.New(rand.NewPCG(g.cfg.Seed, uint64(id)*0x9e3779b97f4a7c15+1))
}

func pick(r *rand.Rand, weights []float64) int {
	u := r.Float64()
	for i, w := range weights {
		if u < w {
			return i
		}
		u -= w
	}
	return len(weights) - 1
}

// ---- stores ----

var (
	storeTypes     = []string{"a", "b", "c", "d"}
	storeTypeShare = []float64{0.54, 0.015, 0.13, 0.315}
	typeLevel      = map[string]float64{"a": 6900, "b": 10200, "c": 6900, "d": 6800}
	typeBasket     = map[string]float64{"a": 8.8, "b": 5.1, "c": 8.6, "d": 11.3}
	promoIntervals = topics.PromoIntervals[1:]
	intervalMonths = [][]int{{1, 4, 7, 10}, {2, 5, 8, 11}, {3, 6, 9, 12}}
	stateShare     = []float64{0.28, 0.16, 0.10, 0.10, 0.09, 0.09, 0.11, 0.07}
)

func ptr(n int) *int { return &n }

// genInfo draws store.csv-like metadata for store id.
func (g *Generator) genInfo(id int) topics.StoreInfo {
	r := g.storeRand(id)
	s := topics.StoreInfo{V: topics.StoreInfoVersion, Store: id}
	s.StoreType = storeTypes[pick(r, storeTypeShare)]
	if s.StoreType == "b" {
		s.Assortment = []string{"b", "a", "c"}[pick(r, []float64{0.5, 0.3, 0.2})]
	} else {
		s.Assortment = []string{"a", "c"}[pick(r, []float64{0.53, 0.47})]
	}
	if r.Float64() >= 0.003 {
		d := math.Round(math.Min(75000, math.Max(20, 2300*math.Exp(r.NormFloat64()*1.2)))/10) * 10
		s.CompetitionDistance = &d
	}
	if r.Float64() < 0.68 {
		var t time.Time
		if r.Float64() < 0.25 {
			span := int(g.cfg.End - g.cfg.Start + 1)
			t = g.cfg.Start.AddDays(r.IntN(span)).Time()
		} else {
			t = g.cfg.Start.Time().AddDate(0, -1-r.IntN(15*12), 0)
		}
		s.CompetitionOpenSinceMonth = ptr(int(t.Month()))
		s.CompetitionOpenSinceYear = ptr(t.Year())
	}
	if r.Float64() < 0.51 {
		s.Promo2 = 1
		endYear := g.cfg.End.Time().Year()
		s.Promo2SinceYear = ptr(endYear - r.IntN(5))
		s.Promo2SinceWeek = ptr(1 + r.IntN(50))
		s.PromoInterval = promoIntervals[r.IntN(len(promoIntervals))]
	}
	return s
}

// model derives a store's simulation parameters from its metadata.
func (g *Generator) model(info *topics.StoreInfo, generated bool) store {
	r := g.storeRand(info.Store)
	// Draw in a fixed order after a fixed skip so the parameters do not
	// depend on how many draws genInfo made.
	r = rand.New(rand.NewPCG(r.Uint64(), r.Uint64()^0x5851f42d4c957f2d))
	s := store{id: info.Store}
	s.state = pick(r, stateShare)
	level := typeLevel[info.StoreType]
	if level == 0 {
		level = 6900
	}
	s.level = level * lognormal(r, 0.33)
	if generated && info.Promo2 == 1 {
		s.level *= 0.92
	}
	if l, ok := g.cfg.Levels[info.Store]; ok && l > 0 {
		s.level = l
	}
	basket := typeBasket[info.StoreType]
	if basket == 0 {
		basket = 9
	}
	s.basket = basket * lognormal(r, 0.10)
	s.growth = 0.02 + 0.03*r.NormFloat64()
	s.sundayOpen = info.StoreType == "b" || r.Float64() < 0.015
	span := int(g.cfg.End - g.cfg.Start + 1)
	if r.Float64() < 0.05 && span > 30 {
		s.refurbFrom = g.cfg.Start.AddDays(r.IntN(span))
		s.refurbTo = s.refurbFrom.AddDays(60 + r.IntN(121))
	}
	if info.CompetitionOpenSinceYear != nil && info.CompetitionOpenSinceMonth != nil {
		open := topics.DateFromYMD(*info.CompetitionOpenSinceYear, time.Month(*info.CompetitionOpenSinceMonth), 1+r.IntN(28))
		if open > g.cfg.Start && open <= g.cfg.End {
			s.compOpen = open
			dist := 5000.0
			if info.CompetitionDistance != nil {
				dist = *info.CompetitionDistance
			}
			s.compDrop = 0.05 + 0.15*math.Exp(-dist/2000)
		}
	}
	if info.Promo2 == 1 && info.Promo2SinceYear != nil && info.Promo2SinceWeek != nil {
		jan4 := topics.DateFromYMD(*info.Promo2SinceYear, time.January, 4)
		monday := jan4.AddDays(1 - jan4.Weekday())
		s.promo2From = monday.AddDays(7 * (*info.Promo2SinceWeek - 1))
		for i, p := range promoIntervals {
			if p == info.PromoInterval {
				for _, m := range intervalMonths[i] {
					s.promo2Months[m] = true
				}
			}
		}
	}
	return s
}

// ---- one day ----

var (
	weekdayFactor = [8]float64{0, 1.18, 1.04, 0.98, 0.97, 1.03, 0.85, 1.05}
	monthFactor   = [13]float64{0, 0.94, 0.95, 1, 1, 1, 1, 1.02, 0.98, 0.97, 0.97, 1.03, 1.15}
)

const (
	promoLift      = 1.30
	promoCustomers = 1.15
	promo2Lift     = 1.03
	schoolLift     = 1.03
	preHolidayLift = 1.10
	reopenLift     = 0.15
	noiseSigma     = 0.09
	custSigma      = 0.04
	randomClosed   = 0.003
	extraPromoWeek = 0.15
	promoDays      = 5 // Monday to Friday
)

// calendar is what is shared by every store on one day.
type calendar struct {
	d        topics.Date
	weekday  int
	month    int
	seasonal float64
	promo    bool
	// holiday[state] is the state-holiday code of d ("0" if none), next
	// that of d+1, school whether d is a school holiday.
	holiday [8]string
	next    [8]string
	school  [8]bool
}

func (g *Generator) calendar(d topics.Date) calendar {
	t := d.Time()
	c := calendar{d: d, weekday: d.Weekday(), month: int(t.Month())}
	c.seasonal = monthFactor[c.month]
	switch day := t.Day(); {
	case c.month == 12 && day >= 14 && day <= 23:
		c.seasonal *= 1.15
	case c.month == 12 && day == 24:
		c.seasonal *= 0.75
	case c.month == 12 && day == 31:
		c.seasonal *= 0.85
	}
	monday := d.AddDays(1 - c.weekday)
	week := int64(monday) / 7
	c.promo = c.weekday <= promoDays && (week%2 == 0 || g.uniform(week, 0, tagPromoWeek) < extraPromoWeek)
	for st := range stateShare {
		c.holiday[st] = stateHoliday(d, st)
		c.next[st] = stateHoliday(d+1, st)
		c.school[st] = g.schoolHoliday(d, st)
	}
	return c
}

func (g *Generator) sale(s *store, d topics.Date, c *calendar) topics.Sale {
	out := topics.Sale{
		V: topics.SaleVersion, Store: s.id, DayOfWeek: c.weekday, Date: d,
		StateHoliday: c.holiday[s.state], SchoolHoliday: b2i(c.school[s.state]),
		Promo: b2i(c.promo),
	}
	closed := (c.weekday == 7 || c.holiday[s.state] != "0") && !s.sundayOpen
	closed = closed || s.refurbFrom != 0 && d >= s.refurbFrom && d < s.refurbTo
	closed = closed || g.uniform(int64(s.id), int64(d), tagClosed) < randomClosed
	if closed {
		return out
	}
	out.Open = 1
	x := s.level * weekdayFactor[c.weekday] * c.seasonal
	if c.promo {
		x *= promoLift
	}
	if s.promo2From != 0 && d >= s.promo2From && s.promo2Months[c.month] {
		x *= promo2Lift
	}
	if c.school[s.state] {
		x *= schoolLift
	}
	if c.next[s.state] != "0" && !s.sundayOpen {
		x *= preHolidayLift
	}
	if s.refurbTo != 0 && d >= s.refurbTo && d < s.refurbTo+30 {
		x *= 1 + reopenLift*float64(s.refurbTo+30-d)/30
	}
	if s.compOpen != 0 && d >= s.compOpen {
		phase := math.Min(1, float64(d-s.compOpen+1)/28)
		x *= 1 - s.compDrop*phase
	}
	years := float64(d-g.cfg.Start) / 365.25
	x *= math.Pow(1+s.growth, years)
	x *= math.Exp(noiseSigma*g.normal(int64(s.id), int64(d), tagNoise, tagNoise2) - noiseSigma*noiseSigma/2)
	out.Sales = int(math.Round(x))
	cust := x / s.basket * math.Exp(custSigma*g.normal(int64(s.id), int64(d), tagCustomers, tagCustomers2))
	if c.promo {
		cust *= promoCustomers / promoLift
	}
	out.Customers = int(math.Round(cust))
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
