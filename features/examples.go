package features

import (
	"fmt"

	"github.com/storecast/storecast/topics"
)

// ExampleAsOf returns the as-of day of the training example of store's
// day d: d - HorizonFor(store, d).
func ExampleAsOf(store int, d topics.Date) topics.Date {
	return d - topics.Date(HorizonFor(store, d))
}

// Example returns the training example of day d: its features as of
// ExampleAsOf(in.Store, d), its known inputs and its sales as label. ok is
// false when the ring holds no trading day d, or when the example's as-of
// day is earlier than s.EarliestAsOf (the state can no longer compute it).
func (s *State) Example(in *Info, d topics.Date) (ex topics.TrainingExample, ok bool, err error) {
	f, held := s.Fact(d)
	if !held || !f.Trading() {
		return ex, false, nil
	}
	h := HorizonFor(in.Store, d)
	a := d - topics.Date(h)
	if a < s.EarliestAsOf() {
		return ex, false, nil
	}
	var st Stats
	if err := s.Stats(a, &st); err != nil {
		return ex, false, err
	}
	vals, err := st.Append(make([]float64, 0, NumFeatures), in, d, s.KnownAt(f))
	if err != nil {
		return ex, false, err
	}
	return topics.TrainingExample{
		V: topics.TrainingExampleVersion, Store: in.Store, Date: d, AsOf: a, Horizon: h,
		Label: float64(f.Sales), Schema: SchemaVersion,
		Features: topics.FeatureVector{Names: sharedNames, Values: vals},
	}, true, nil
}

// Completes returns, in ascending order, the days whose examples a new
// latest day x completes without reading x: the days after the latest day
// minus AheadDays and before x-AheadDays (after a gap in the days: x is
// more than a day after the latest). Call it before Apply(x), and emit
// their examples then: they are final, and an advance longer than the
// ring would drop them from it. It returns nothing when x is not after
// the latest day. Only days with an example (see Example) are returned.
func (s *State) Completes(store int, x topics.Date, dst []topics.Date) []topics.Date {
	if !s.has || x <= s.latest {
		return dst
	}
	return s.withExample(store, max(s.RingStart(), s.latest-AheadDays+1), min(s.latest, x-AheadDays-1), dst)
}

// AffectedDays returns, in ascending order, the days whose training
// examples must be (re)emitted after day x changed (ch is what Apply
// returned). The example of day d reads the known inputs of
// d-BackDays..d+AheadDays and the facts before its as-of day, so it is
// emitted only once it is complete: once the latest day is d+AheadDays or
// later. Until then a day has no example (the trainer never learns from a
// week-after context that is still unknown):
//   - when x became the latest day: x-AheadDays, which x completes (the
//     days before it that x completes, Completes returned before Apply).
//     So in order every day is emitted once;
//   - when x is a late or corrected day (or a redelivered one), every
//     complete day whose example reads x: from x-AheadDays (or, after a
//     run of absent days before x, from the days x completed when it
//     arrived) up to x+BackDays, and every later day whose as-of day is
//     after x. A day folded straight into the aggregates re-emits every
//     complete example the ring can compute.
//
// Only days with an example (see Example) are returned.
func (s *State) AffectedDays(store int, x topics.Date, ch Change, dst []topics.Date) []topics.Date {
	if !s.has {
		return dst
	}
	last := s.latest - AheadDays
	if ch.Advanced {
		return s.withExample(store, max(s.RingStart(), ch.Previous-AheadDays+1, x-AheadDays), last, dst)
	}
	lo := x - AheadDays
	if p, ok := s.presentBefore(x); ok && p < x-1 {
		lo = min(lo, p-AheadDays+1)
	}
	earliest := s.EarliestAsOf()
	for d := max(s.RingStart(), lo); d <= last; d++ {
		if !s.ring[slot(d)].trading() {
			continue
		}
		if a := ExampleAsOf(store, d); a >= earliest && (d <= x+BackDays || a > x) {
			dst = append(dst, d)
		}
	}
	return dst
}

// withExample appends the days from..to (within RingStart..latest) that
// have an example (see Example).
func (s *State) withExample(store int, from, to topics.Date, dst []topics.Date) []topics.Date {
	earliest := s.EarliestAsOf()
	for d := from; d <= to; d++ {
		if s.ring[slot(d)].trading() && ExampleAsOf(store, d) >= earliest {
			dst = append(dst, d)
		}
	}
	return dst
}

// presentBefore returns the latest day before x the ring holds (false when
// there is none).
func (s *State) presentBefore(x topics.Date) (topics.Date, bool) {
	for d := min(x, s.latest+1) - 1; d >= s.RingStart(); d-- {
		if s.ring[slot(d)].present() {
			return d, true
		}
	}
	return 0, false
}

// Snapshot answers a feature snapshot request: the examples of the
// trading days From..To the ring holds, all with features as of AsOf and
// known inputs as serving has them (KnownServed).
// When the request cannot be answered, Error says why and Examples is empty.
func (s *State) Snapshot(in *Info, req *topics.FeatureSnapshotRequest) *topics.FeatureSnapshot {
	out := &topics.FeatureSnapshot{
		V: topics.FeatureSnapshotRequestVersion, RequestID: req.RequestID, Store: in.Store, AsOf: req.AsOf,
		Examples: []topics.TrainingExample{},
	}
	fail := func(format string, args ...any) *topics.FeatureSnapshot {
		out.Error = fmt.Sprintf(format, args...)
		return out
	}
	switch {
	case req.To < req.From:
		return fail("to %s is before from %s", req.To, req.From)
	case req.From <= req.AsOf:
		return fail("from %s must be after as_of %s", req.From, req.AsOf)
	case int(req.To-req.AsOf) > MaxHorizon:
		return fail("to %s is %d days after as_of %s; features serve horizons 1..%d", req.To, req.To-req.AsOf, req.AsOf, MaxHorizon)
	}
	var st Stats
	if err := s.Stats(req.AsOf, &st); err != nil {
		return fail("as_of %s: %v (the state keeps days one by one from %s; the latest is %s)", req.AsOf, err, s.RingStart(), s.latest)
	}
	for d := req.From; d <= req.To; d++ {
		f, ok := s.Fact(d)
		if !ok || !f.Trading() {
			continue
		}
		vals, err := st.Append(make([]float64, 0, NumFeatures), in, d, s.KnownServed(f))
		if err != nil {
			return fail("%v", err)
		}
		out.Examples = append(out.Examples, topics.TrainingExample{
			V: topics.TrainingExampleVersion, Store: in.Store, Date: d, AsOf: req.AsOf, Horizon: int(d - req.AsOf),
			Label: float64(f.Sales), Schema: SchemaVersion,
			Features: topics.FeatureVector{Names: sharedNames, Values: vals},
		})
	}
	return out
}
