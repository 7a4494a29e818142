package forecasting

import (
	"context"
	"fmt"
	"sync"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/topics"
)

// StoreReader reads per-store state for the Engine. Implementations must
// be safe for concurrent use.
type StoreReader interface {
	// Store returns the feature source of store id; found is false when
	// the store is unknown.
	Store(ctx context.Context, id int) (src StoreFeatures, found bool, err error)
	// StoreIDs returns every store that can be forecast, ascending.
	StoreIDs(ctx context.Context) ([]int, error)
	// LatestDay returns the chain's as-of day (the latest day a quorum of
	// stores reached: features.QuorumDay); ok is false while the table is
	// empty.
	LatestDay(ctx context.Context) (day topics.Date, ok bool, err error)
	// Recovered reports whether the store table has caught up with its
	// topics.
	Recovered() bool
}

// StoreFeatures computes one store's feature vectors.
type StoreFeatures interface {
	// Features appends to dst the feature vector of target as seen on asOf
	// (facts of days strictly before asOf) with the known inputs of target
	// and of its neighbouring days, in the order of the model's feature
	// names.
	Features(dst []float64, target, asOf topics.Date, in Inputs) ([]float64, error)
}

// Inputs are the known inputs of a target day (Day) and, through Near,
// those of the other days the caller has (the rows of the same request):
// the neighbourhood the context features read (features.Known.Before and
// After). A day Near does not give is taken from the store's state when it
// holds that day (a day up to the as-of day), else it is assumed from the
// store's history (features.State.Assumed: its weekly closing days, the
// two-week promo cycle, nationwide public holidays, the target day's
// school holiday). Near may be nil.
type Inputs struct {
	Day  topics.KnownInputs
	Near func(d topics.Date) *topics.KnownInputs
}

// Cacheable is implemented by StoreFeatures whose vectors depend only on
// an immutable identity (a decoded *features.State shared by the views),
// so the Engine may reuse a prediction for the same identity, model, days
// and inputs.
type Cacheable interface {
	// CacheKey returns a comparable identity of the store's state.
	CacheKey() any
}

// StateFeatures computes a store's feature vectors from its state and
// info with the features package (the code that built the training
// examples): the one step from known inputs to a feature vector.
type StateFeatures struct {
	state *features.State
	info  *features.Info
	stats *StatsCache
}

var (
	_ StoreFeatures = StateFeatures{}
	_ Cacheable     = StateFeatures{}
)

// NewStateFeatures returns the feature source of a store. state and info
// are read, never modified; stats caches the state's sums per as-of day.
func NewStateFeatures(state *features.State, info *features.Info, stats *StatsCache) StateFeatures {
	return StateFeatures{state: state, info: info, stats: stats}
}

// Features implements StoreFeatures.
func (s StateFeatures) Features(dst []float64, target, asOf topics.Date, in Inputs) ([]float64, error) {
	k, err := features.KnownOf(in.Day)
	if err != nil {
		return dst, err
	}
	var bad error
	k.Around(func(d topics.Date) (features.Neighbour, bool) {
		n, ok, err := s.neighbour(in.Near, d, k.SchoolHoliday)
		if err != nil && bad == nil {
			bad = err
		}
		return n, ok
	}, target)
	if bad != nil {
		return dst, bad
	}
	st, err := s.stats.Of(s.state, asOf)
	if err != nil {
		return dst, err
	}
	return st.Append(dst, s.info, target, k)
}

// neighbour returns the known inputs of day d: near's when it gives them,
// else the state's fact of d when it holds one (its known inputs only),
// else those assumed for a day after the state's latest, else unknown.
func (s StateFeatures) neighbour(near func(topics.Date) *topics.KnownInputs, d topics.Date, school bool) (features.Neighbour, bool, error) {
	if near != nil {
		if in := near(d); in != nil {
			k, err := features.KnownOf(*in)
			if err != nil {
				return features.Neighbour{}, false, fmt.Errorf("inputs of %s: %w", d, err)
			}
			return k.AsNeighbour(), true, nil
		}
	}
	if f, ok := s.state.Fact(d); ok {
		return features.KnownFromFact(f).AsNeighbour(), true, nil
	}
	n := s.state.Assumed(d, school)
	return n, n.Set, nil
}

// Latest returns the store's latest day (false for an empty state).
func (s StateFeatures) Latest() (topics.Date, bool) { return s.state.Latest() }

// CacheKey implements Cacheable: the views share one immutable decoded
// state per encoded value, so its pointer identifies the store's facts.
func (s StateFeatures) CacheKey() any { return s.state }

// StatsCache keeps features.Stats (a state's sums as of a day) per decoded
// state and as-of day, so an unchanged store is not summed again. It is
// bounded (cleared when full) and safe for concurrent use.
type StatsCache struct {
	max   int
	mu    sync.RWMutex
	stats map[statsKey]*features.Stats
}

type statsKey struct {
	state *features.State
	asOf  topics.Date
}

// NewStatsCache returns a cache of at most size entries (about 1 KiB each).
func NewStatsCache(size int) *StatsCache {
	return &StatsCache{max: max(size, 1), stats: make(map[statsKey]*features.Stats)}
}

// Of returns the sums of state as of asOf. The result is shared: do not
// modify it.
func (c *StatsCache) Of(state *features.State, asOf topics.Date) (*features.Stats, error) {
	k := statsKey{state, asOf}
	c.mu.RLock()
	st, ok := c.stats[k]
	c.mu.RUnlock()
	if ok {
		return st, nil
	}
	st = new(features.Stats)
	if err := state.Stats(asOf, st); err != nil {
		return nil, fmt.Errorf("store state as of %s: %w", asOf, err)
	}
	c.mu.Lock()
	if len(c.stats) >= c.max {
		clear(c.stats)
	}
	c.stats[k] = st
	c.mu.Unlock()
	return st, nil
}

// Tables is the store table and store_info as a local copy holds them
// (views.Views implements it). Returned values are shared and read-only.
type Tables interface {
	// StoreState returns the state and info of store; found is false when
	// either is missing.
	StoreState(store int) (state *features.State, info *features.Info, found bool, err error)
	// StoreIDs returns the stores with both state and info, ascending.
	StoreIDs() ([]int, error)
	// LatestDay returns the chain's as-of day (features.QuorumDay).
	LatestDay() (topics.Date, bool, error)
	// Recovered reports whether the tables caught up with their topics.
	Recovered() bool
}

// TableStores is the StoreReader over Tables, with the state sums cached
// (StatsCache).
type TableStores struct {
	t     Tables
	stats *StatsCache
}

var _ StoreReader = (*TableStores)(nil)

// NewTableStores returns a StoreReader over t.
func NewTableStores(t Tables) *TableStores {
	return &TableStores{t: t, stats: NewStatsCache(1 << 13)}
}

// Store implements StoreReader.
func (s *TableStores) Store(_ context.Context, id int) (StoreFeatures, bool, error) {
	st, info, found, err := s.t.StoreState(id)
	if err != nil || !found {
		return nil, found, err
	}
	return NewStateFeatures(st, info, s.stats), true, nil
}

// StoreIDs implements StoreReader.
func (s *TableStores) StoreIDs(context.Context) ([]int, error) { return s.t.StoreIDs() }

// LatestDay implements StoreReader.
func (s *TableStores) LatestDay(context.Context) (topics.Date, bool, error) { return s.t.LatestDay() }

// Recovered implements StoreReader.
func (s *TableStores) Recovered() bool { return s.t.Recovered() }
