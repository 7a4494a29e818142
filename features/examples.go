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

// AffectedDays returns, in ascending order, the days whose training
// examples must be (re)emitted after day x changed: x itself, its
// neighbours x-1 and x+1 (their features read x's known inputs), and
// every day of the ring whose example's as-of day is after x (its features
// read x). Only days with an example (see Example) are returned. A change
// of the latest day affects itself and the day before; a late or corrected
// day re-emits the examples after it; a day folded straight into the
// aggregates re-emits every example the ring can compute.
func (s *State) AffectedDays(store int, x topics.Date, dst []topics.Date) []topics.Date {
	if !s.has {
		return dst
	}
	earliest := s.EarliestAsOf()
	if d := x - 1; d >= s.RingStart() && d <= s.latest && s.ring[slot(d)].trading() && ExampleAsOf(store, d) >= earliest {
		dst = append(dst, d)
	}
	for d := max(s.RingStart(), x); d <= s.latest; d++ {
		if !s.ring[slot(d)].trading() {
			continue
		}
		a := ExampleAsOf(store, d)
		if a < earliest {
			continue
		}
		if d == x || d == x+1 || a > x {
			dst = append(dst, d)
		}
	}
	return dst
}

// Snapshot answers a feature snapshot request: the examples of the
// trading days From..To the ring holds, all with features as of AsOf.
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
		vals, err := st.Append(make([]float64, 0, NumFeatures), in, d, s.KnownAt(f))
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
