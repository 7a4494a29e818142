package ingest

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/storecast/storecast/ingest/kaggle"
	"github.com/storecast/storecast/ingest/synth"
	"github.com/storecast/storecast/topics"
)

// KaggleFiles names a Kaggle download and an optional date window.
type KaggleFiles struct {
	Store, Train string
	// From and To, when non-zero, keep only train.csv rows in From..To.
	From, To topics.Date
}

// LoadKaggle reads store.csv and (when named) train.csv into an Input:
// sales validated against store.csv's ids and ordered by (date, store),
// since Kaggle's train.csv is sorted by date descending.
func LoadKaggle(f KaggleFiles) (Input, error) {
	st, err := kaggle.ReadStoresFile(f.Store)
	if err != nil {
		return Input{}, err
	}
	in := Input{Stores: st.Stores, StoreRejects: st.Rejects}
	if f.Train == "" {
		return in, nil
	}
	sr, err := kaggle.ReadSalesFile(f.Train, kaggle.SalesOptions{Known: st.Known(), From: f.From, To: f.To})
	if err != nil {
		return Input{}, err
	}
	in.Sales, in.SaleRejects = sr.Sales, sr.Rejects
	SortSales(in.Sales)
	return in, nil
}

// FromGenerator returns the generator's stores and window of sales.
func FromGenerator(g *synth.Generator) Input {
	return Input{Stores: g.Stores(), Sales: g.Sales()}
}

// SortSales orders sales by (date, store), so each store's dates ascend.
// Kaggle's order (date descending, store ascending) is turned around in
// linear time: reverse everything, then each day's run; anything else is
// sorted.
func SortSales(sales []topics.Sale) {
	if len(sales) > 1 && sales[0].Date > sales[len(sales)-1].Date {
		slices.Reverse(sales)
		for i := 0; i < len(sales); {
			j := i + 1
			for j < len(sales) && sales[j].Date == sales[i].Date {
				j++
			}
			slices.Reverse(sales[i:j])
			i = j
		}
	}
	less := func(a, b *topics.Sale) int {
		if c := cmp.Compare(a.Date, b.Date); c != 0 {
			return c
		}
		return cmp.Compare(a.Store, b.Store)
	}
	if !slices.IsSortedFunc(sales, func(a, b topics.Sale) int { return less(&a, &b) }) {
		slices.SortFunc(sales, func(a, b topics.Sale) int { return less(&a, &b) })
	}
}

// ShiftToToday prepares the live demo: it re-dates in's history so that it
// ends within the week before yesterday, by a whole number of weeks so
// every weekday keeps its pattern, fills the days up to yesterday from the
// generator, and sets in.Live to continue with one generated day at a time
// from today on. History keeps its holiday flags on the shifted dates.
//
// live may be nil: a generator is then built for in.Stores with each
// store's level measured from its last year of history, so the new days
// continue the history's scale.
func ShiftToToday(in *Input, yesterday topics.Date, live *synth.Generator, seed uint64) error {
	if len(in.Stores) == 0 {
		return fmt.Errorf("shift to today: no stores (give store.csv)")
	}
	var shift topics.Date
	if n := len(in.Sales); n > 0 {
		last := in.Sales[n-1].Date
		for _, s := range in.Sales {
			last = max(last, s.Date)
		}
		off := int(yesterday - last)
		shift = topics.Date(off - ((off%7)+7)%7)
		for i := range in.Sales {
			in.Sales[i].Date += shift
		}
	}
	first, end := yesterday, topics.Date(0)
	if n := len(in.Sales); n > 0 {
		first, end = in.Sales[0].Date, in.Sales[n-1].Date
	} else {
		end = yesterday
	}
	if live == nil {
		g, err := synth.New(synth.Config{Infos: in.Stores, Start: first, End: yesterday, Seed: seed, Levels: Levels(in.Sales, 365)})
		if err != nil {
			return fmt.Errorf("shift to today: %w", err)
		}
		live = g
	}
	for d := end + 1; d <= yesterday; d++ {
		in.Sales = live.Day(d, in.Sales)
	}
	in.Live = func(d topics.Date) []topics.Sale { return live.Day(d, nil) }
	in.LiveFrom = yesterday + 1
	return nil
}

// Levels returns each store's mean sales over its open days among the
// last days of sales (ordered by date).
func Levels(sales []topics.Sale, days int) map[int]float64 {
	if len(sales) == 0 {
		return nil
	}
	from := sales[len(sales)-1].Date.AddDays(-days + 1)
	sum := map[int]float64{}
	n := map[int]int{}
	for _, s := range sales {
		if s.Date >= from && s.Open == 1 && s.Sales > 0 {
			sum[s.Store] += float64(s.Sales)
			n[s.Store]++
		}
	}
	out := make(map[int]float64, len(sum))
	for id, v := range sum {
		out[id] = v / float64(n[id])
	}
	return out
}
