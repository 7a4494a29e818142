package features

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/storecast/storecast/topics"
)

// emitted simulates the processor's emissions into a compacted topic:
// the latest example per day, tombstones removing a key.
func emitted(t *testing.T, in *Info, facts []Fact) map[topics.Date]topics.TrainingExample {
	t.Helper()
	var s State
	out := map[topics.Date]topics.TrainingExample{}
	for _, f := range facts {
		for _, d := range s.Completes(in.Store, f.Date, nil) {
			ex, ok, err := s.Example(in, d)
			if err != nil || !ok {
				t.Fatalf("example of completed day %s: ok %v, err %v", d, ok, err)
			}
			out[d] = ex
		}
		ch := s.Apply(f)
		if ch.Outcome == Duplicate {
			continue
		}
		if ch.Outcome == Corrected && ch.WasTrading && !f.Trading() {
			delete(out, f.Date)
		}
		latest, _ := s.Latest()
		for _, d := range s.AffectedDays(in.Store, f.Date, ch, nil) {
			if d > latest-AheadDays {
				t.Fatalf("day %s emitted before it is complete (latest %s)", d, latest)
			}
			ex, ok, err := s.Example(in, d)
			if err != nil || !ok {
				t.Fatalf("example of affected day %s: ok %v, err %v", d, ok, err)
			}
			out[d] = ex
		}
	}
	return out
}

func sameExamples(t *testing.T, what string, got, want map[topics.Date]topics.TrainingExample) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d examples, want %d", what, len(got), len(want))
	}
	for d, w := range want {
		g, ok := got[d]
		if !ok {
			t.Fatalf("%s: no example for %s", what, d)
		}
		if g.AsOf != w.AsOf || g.Horizon != w.Horizon || g.Label != w.Label || g.Store != w.Store || g.Schema != w.Schema {
			t.Fatalf("%s: example %s = %+v, want %+v", what, d, g, w)
		}
		for i := range w.Features.Values {
			if math.Float64bits(g.Features.Values[i]) != math.Float64bits(w.Features.Values[i]) {
				t.Fatalf("%s: example %s feature %s = %v, want %v", what, d, names[i], g.Features.Values[i], w.Features.Values[i])
			}
		}
	}
}

// arrivalOrder delays every fact by up to maxLate days and sorts by arrival.
func arrivalOrder(r *rand.Rand, facts []Fact, maxLate int) []Fact {
	type arr struct {
		at int
		f  Fact
	}
	as := make([]arr, len(facts))
	for i, f := range facts {
		as[i] = arr{int(f.Date) + r.IntN(maxLate+1), f}
	}
	slices.SortStableFunc(as, func(a, b arr) int { return cmp.Compare(a.at, b.at) })
	out := make([]Fact, len(as))
	for i, a := range as {
		out[i] = a.f
	}
	return out
}

// MaxLateness is the lateness up to which re-emitted examples converge:
// a day arriving that late still finds every example it affects in the ring.
const maxLateness = RingDays - TrendDays - MaxHorizon - AheadDays - 1

// TestExamplesConvergeWhateverTheOrder: events late by up to maxLateness
// days, duplicated, or corrected, leave the same example per key as the
// ascending order of the final facts.
func TestExamplesConvergeWhateverTheOrder(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(21, 22))
	in := testInfo()
	for trial := range 6 {
		facts := genFacts(r, day0-400, day0, trial%2 == 0)
		want := emitted(t, &in, facts)
		if len(want) < 200 {
			t.Fatalf("only %d examples", len(want))
		}
		late := arrivalOrder(r, facts, maxLateness)
		sameExamples(t, "late", emitted(t, &in, late), want)

		// Duplicates anywhere after the original.
		dup := slices.Clone(late)
		for range 100 {
			f := late[r.IntN(len(late))]
			at := slices.Index(dup, f)
			dup = slices.Insert(dup, at+1+r.IntN(len(dup)-at), f)
		}
		sameExamples(t, "duplicated", emitted(t, &in, dup), want)

		// A wrong value first, corrected by the final value soon after:
		// including trading days that turn into non-trading days.
		var corr []Fact
		for i, f := range late {
			if i%17 == 0 {
				w := f
				w.Open, w.Sales, w.Customers = true, f.Sales+999, f.Customers+3
				corr = append(corr, w)
			}
			corr = append(corr, f)
		}
		sameExamples(t, "corrected", emitted(t, &in, corr), want)
	}
}

func TestAffectedDays(t *testing.T) {
	t.Parallel()
	in := testInfo()
	r := rand.New(rand.NewPCG(23, 24))
	s := applyAll(genFacts(r, day0-300, day0, false))
	latest, _ := s.Latest()
	withExample := func(s *State, days ...topics.Date) []topics.Date {
		var out []topics.Date
		for _, d := range days {
			if _, has, _ := s.Example(&in, d); has {
				out = append(out, d)
			}
		}
		return out
	}
	// A new latest day: the days it completes, once each (those before
	// x-AheadDays from Completes before Apply, x-AheadDays from
	// AffectedDays after). A day before the new latest day's week is
	// complete already (its example is final); a day in that week is not
	// complete yet.
	for _, tc := range []struct {
		name string
		f    Fact
	}{
		{"next day open", Fact{Date: latest + 1, Open: true, Sales: 100}},
		{"next day closed", Fact{Date: latest + 1}},
		{"after a gap", Fact{Date: latest + 3, Open: true, Sales: 100, StateHoliday: 1}},
		{"after a gap longer than the ring", Fact{Date: latest + RingDays + 40, Open: true, Sales: 100}},
	} {
		c := s.Clone()
		x := tc.f.Date
		var want []topics.Date
		for d := latest - AheadDays + 1; d < min(x-AheadDays, latest+1); d++ {
			want = append(want, withExample(c, d)...)
		}
		got := c.Completes(in.Store, x, nil)
		ch := c.Apply(tc.f)
		if !ch.Advanced || ch.Previous != latest {
			t.Fatalf("%s: change %+v, want advanced from %s", tc.name, ch, latest)
		}
		want = append(want, withExample(c, x-AheadDays)...)
		got = c.AffectedDays(in.Store, x, ch, got)
		if len(want) == 0 && x <= latest+AheadDays {
			t.Fatalf("%s: no day to complete", tc.name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: completed %v, want %v", tc.name, got, want)
		}
		for d := x - AheadDays - 30; d < x-AheadDays; d++ { // complete already: unchanged
			before, has, _ := s.Example(&in, d)
			after, _, _ := c.Example(&in, d)
			if d <= latest-AheadDays && has && !slices.EqualFunc(before.Features.Values, after.Features.Values, sameFloat) {
				t.Errorf("%s: the complete example of %s changed", tc.name, d)
			}
		}
	}
	// A redelivered latest day after a gap re-emits the days it completed.
	gap := s.Clone()
	gap.Apply(Fact{Date: latest + 12, Open: true, Sales: 100})
	var want []topics.Date
	for d := latest - AheadDays + 1; d <= latest+12-AheadDays; d++ {
		want = append(want, withExample(gap, d)...)
	}
	redelivered := Change{Outcome: Duplicate}
	if got := gap.AffectedDays(in.Store, latest+12, redelivered, nil); !slices.Equal(got, want) {
		t.Errorf("redelivery after a gap: affected %v, want %v", got, want)
	}
	old := s.Clone()
	x := s.RingStart() - 10
	all := old.AffectedDays(in.Store, x, old.Apply(Fact{Date: x, Open: true, Sales: 1}), nil)
	for d := s.RingStart(); d <= latest; d++ {
		f, ok := old.Fact(d)
		_, has, _ := old.Example(&in, d)
		has = has && d <= latest-AheadDays
		if got := slices.Contains(all, d); got != has {
			t.Errorf("day %s (fact %v %+v): affected %v, has an example %v", d, ok, f, got, has)
		}
	}
	mid := latest - 20
	c := s.Clone()
	fm, _ := c.Fact(mid)
	fm.Promo = !fm.Promo
	affected := c.AffectedDays(in.Store, mid, c.Apply(fm), nil)
	if !slices.IsSorted(affected) || len(slices.Compact(slices.Clone(affected))) != len(affected) {
		t.Errorf("affected days %v are not ascending and distinct", affected)
	}
	for d := mid - AheadDays; d <= min(mid+BackDays, latest-AheadDays); d++ { // complete, and read mid's inputs
		if _, has, _ := c.Example(&in, d); has && !slices.Contains(affected, d) {
			t.Errorf("day %s has an example reading %s's inputs but is not affected", d, mid)
		}
	}
	for _, d := range affected {
		if (d < mid-AheadDays || d > mid+BackDays) && ExampleAsOf(in.Store, d) <= mid {
			t.Errorf("day %s is affected by %s but neither reads its inputs nor has an as-of day after it", d, mid)
		}
	}
}

func TestSnapshot(t *testing.T) {
	t.Parallel()
	in := testInfo()
	r := rand.New(rand.NewPCG(25, 26))
	s := applyAll(genFacts(r, day0-300, day0, false))
	latest, _ := s.Latest()
	asOf := latest - 43
	req := &topics.FeatureSnapshotRequest{V: 1, RequestID: "r1", Store: 7, AsOf: asOf, From: asOf + 1, To: latest}
	snap := s.Snapshot(&in, req)
	if snap.Error != "" {
		t.Fatalf("snapshot error: %s", snap.Error)
	}
	n := 0
	for d := req.From; d <= req.To; d++ {
		if f, ok := s.Fact(d); ok && f.Trading() {
			ex := snap.Examples[n]
			k := s.KnownServed(f)
			if d == latest && (!k.After[0].Set || k.After[0] != s.Assumed(latest+1, f.SchoolHoliday)) {
				t.Errorf("the latest day's next day is %+v, want it assumed as serving does", k.After[0])
			}
			want, err := Compute(s, &in, d, asOf, k)
			if err != nil {
				t.Fatal(err)
			}
			if ex.Date != d || ex.AsOf != asOf || ex.Horizon != int(d-asOf) || ex.Label != float64(f.Sales) {
				t.Fatalf("example %d = %+v", n, ex)
			}
			for i := range want {
				if !sameFloat(ex.Features.Values[i], want[i]) {
					t.Fatalf("example %s: %s = %v, want %v", d, names[i], ex.Features.Values[i], want[i])
				}
			}
			n++
		}
	}
	if n != len(snap.Examples) || n < 30 {
		t.Fatalf("%d examples, want %d (>= 30)", len(snap.Examples), n)
	}

	bad := []struct {
		name, want string
		req        topics.FeatureSnapshotRequest
	}{
		{"to before from", "before from", topics.FeatureSnapshotRequest{AsOf: asOf, From: asOf + 5, To: asOf + 4}},
		{"from on as_of", "must be after as_of", topics.FeatureSnapshotRequest{AsOf: asOf, From: asOf, To: asOf + 4}},
		{"beyond the horizon", "horizons 1..48", topics.FeatureSnapshotRequest{AsOf: asOf, From: asOf + 1, To: asOf + 49}},
		{"as_of too early", "earlier than the store state can serve", topics.FeatureSnapshotRequest{AsOf: s.EarliestAsOf() - 1, From: s.EarliestAsOf(), To: s.EarliestAsOf() + 3}},
	}
	for _, b := range bad {
		snap := s.Snapshot(&in, &b.req)
		if !strings.Contains(snap.Error, b.want) || len(snap.Examples) != 0 {
			t.Errorf("%s: error %q with %d examples, want one containing %q", b.name, snap.Error, len(snap.Examples), b.want)
		}
	}
	if snap := new(State).Snapshot(&in, req); !strings.Contains(snap.Error, "no history") {
		t.Errorf("empty state: error %q", snap.Error)
	}
}

// TestKnownAtReadsTheNeighbours: examples carry the known inputs of the
// days before and after them from the ring, NaN where the ring has no day.
func TestKnownAtReadsTheNeighbours(t *testing.T) {
	t.Parallel()
	in := testInfo()
	r := rand.New(rand.NewPCG(27, 28))
	s := applyAll(genFacts(r, day0-300, day0, false))
	latest, _ := s.Latest()
	checked := 0
	for d := s.RingStart() + 1; d <= latest; d++ {
		ex, ok, err := s.Example(&in, d)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		v := ex.Features.Values
		for i, nd := range []topics.Date{d - 1, d + 1} {
			got := v[FOpenPrev+4*i : FSchoolHolidayPrev+4*i+1]
			f, held := s.Fact(nd)
			want := []float64{math.NaN(), math.NaN(), math.NaN(), math.NaN()}
			if held {
				want = []float64{bit(f.Open), bit(f.Promo), float64(f.StateHoliday), bit(f.SchoolHoliday)}
			}
			for j := range want {
				if !sameFloat(got[j], want[j]) {
					t.Fatalf("example %s: %s = %v, want %v (fact of %s held %v: %+v)", d, names[FOpenPrev+4*i+j], got[j], want[j], nd, held, f)
				}
			}
		}
		checked++
	}
	if _, ok, _ := s.Example(&in, latest); ok {
		if v, _, _ := s.Example(&in, latest); !math.IsNaN(v.Features.Values[FOpenNext]) {
			t.Errorf("the latest day's example knows the next day: %v", v.Features.Values[FOpenNext])
		}
	}
	if checked < 20 {
		t.Fatalf("only %d examples checked", checked)
	}
}

// BenchmarkEmitInOrder is the processor's work per new day without I/O:
// apply the day, then compute every example AffectedDays names.
func BenchmarkEmitInOrder(b *testing.B) {
	in := testInfo()
	facts := genFacts(rand.New(rand.NewPCG(31, 32)), day0-900, day0, false)
	b.ReportAllocs()
	var emitted int
	for b.Loop() {
		var s State
		for _, f := range facts {
			for _, d := range s.Completes(in.Store, f.Date, nil) {
				if _, ok, _ := s.Example(&in, d); ok {
					emitted++
				}
			}
			ch := s.Apply(f)
			for _, d := range s.AffectedDays(in.Store, f.Date, ch, nil) {
				if _, ok, _ := s.Example(&in, d); ok {
					emitted++
				}
			}
		}
	}
	b.ReportMetric(float64(emitted)/float64(b.N)/float64(len(facts)), "examples/day")
}

// TestInOrderEmissionsAreFinal: after in-order arrival (with gaps, holidays
// and school-holiday runs), the last emitted example of every day the
// final state can still compute equals the one computed from it: no change
// of a day's features went without an emission.
func TestInOrderEmissionsAreFinal(t *testing.T) {
	t.Parallel()
	in := testInfo()
	for seed := range uint64(12) {
		r := rand.New(rand.NewPCG(seed, 77))
		facts := genFacts(r, day0-200, day0, seed%2 == 0)
		for i := range facts { // sprinkle state holidays and school-holiday runs
			if r.IntN(15) == 0 {
				facts[i].StateHoliday, facts[i].Open, facts[i].Sales = 1, false, 0
			}
			facts[i].SchoolHoliday = (facts[i].Date/9)%3 == 0
		}
		got := emitted(t, &in, facts)
		final := applyAll(facts)
		latest, _ := final.Latest()
		var s State
		times := map[topics.Date]int{}
		for _, f := range facts {
			for _, d := range s.Completes(in.Store, f.Date, nil) {
				times[d]++
			}
			for _, d := range s.AffectedDays(in.Store, f.Date, s.Apply(f), nil) {
				times[d]++
			}
		}
		// Every day with an example once the days up to a week after it are
		// known has been emitted with that example, gaps in the days
		// longer than the ring included.
		for i, f := range facts {
			if f.Date > latest-AheadDays {
				break
			}
			j := i
			for j < len(facts) && facts[j].Date <= f.Date+AheadDays {
				j++
			}
			ref := applyAll(facts[:j])
			want, ok, err := ref.Example(&in, f.Date)
			if err != nil || !ok {
				continue
			}
			g, has := got[f.Date]
			if !has || !slices.EqualFunc(g.Features.Values, want.Features.Values, sameFloat) {
				t.Fatalf("seed %d: day %s: emitted %v (%v), want the example of the days up to a week after it", seed, f.Date, has, g.Features.Values)
			}
		}
		for d, n := range times {
			if n != 1 {
				t.Fatalf("seed %d: the example of %s was emitted %d times in order, want once", seed, d, n)
			}
		}
		for d := final.RingStart(); d <= latest; d++ {
			want, ok, err := final.Example(&in, d)
			if err != nil || !ok {
				continue
			}
			g, has := got[d]
			if d > latest-AheadDays {
				if has {
					t.Fatalf("seed %d: %s has an example before the day %s completes it", seed, d, d+AheadDays)
				}
				continue
			}
			if !has {
				t.Fatalf("seed %d: no example emitted for %s", seed, d)
			}
			for i := range want.Features.Values {
				if !sameFloat(g.Features.Values[i], want.Features.Values[i]) {
					t.Fatalf("seed %d: example %s feature %s = %v emitted, %v from the final state", seed, d, names[i], g.Features.Values[i], want.Features.Values[i])
				}
			}
		}
	}
}
