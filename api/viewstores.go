package api

import (
	"context"
	"fmt"
	"sync"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/topics"
	"github.com/storecast/storecast/views"
)

// ViewStores is the StoreReader over the features engineer's typed views.
// Feature sums as of a day (features.Stats) are cached per decoded state
// and as-of day: the views share one decoded *features.State per encoded
// value, so an unchanged store is neither decoded nor summed again.
type ViewStores struct {
	v *views.Views

	mu    sync.RWMutex
	stats map[statsKey]*features.Stats
}

var _ StoreReader = (*ViewStores)(nil)

type statsKey struct {
	state *features.State
	asOf  topics.Date
}

// maxStats bounds the Stats cache (about 1 KiB each); it is cleared when full.
const maxStats = 1 << 13

// NewViewStores returns a StoreReader over v.
func NewViewStores(v *views.Views) *ViewStores {
	return &ViewStores{v: v, stats: make(map[statsKey]*features.Stats)}
}

// Store implements StoreReader.
func (s *ViewStores) Store(_ context.Context, id int) (StoreFeatures, bool, error) {
	sf, found, err := s.v.Store(id)
	if err != nil || !found {
		return nil, found, err
	}
	return &cachedStore{s: s, state: sf.State, info: sf.Info}, true, nil
}

// StoreIDs implements StoreReader: the stores with both state and info.
func (s *ViewStores) StoreIDs(context.Context) ([]int, error) {
	ids, err := s.v.States.Stores()
	if err != nil {
		return nil, err
	}
	out := ids[:0]
	for _, id := range ids {
		_, ok, err := s.v.Infos.Get(id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, id)
		}
	}
	return out, nil
}

// LatestDay implements StoreReader.
func (s *ViewStores) LatestDay(context.Context) (topics.Date, bool, error) {
	return s.v.States.Latest()
}

// Recovered implements StoreReader (latched: see views.Views.Recovered).
func (s *ViewStores) Recovered() bool { return s.v.Recovered() }

func (s *ViewStores) statsOf(state *features.State, asOf topics.Date) (*features.Stats, error) {
	k := statsKey{state, asOf}
	s.mu.RLock()
	st, ok := s.stats[k]
	s.mu.RUnlock()
	if ok {
		return st, nil
	}
	st = new(features.Stats)
	if err := state.Stats(asOf, st); err != nil {
		return nil, fmt.Errorf("store state as of %s: %w", asOf, err)
	}
	s.mu.Lock()
	if len(s.stats) >= maxStats {
		clear(s.stats)
	}
	s.stats[k] = st
	s.mu.Unlock()
	return st, nil
}

// cachedStore computes features from cached Stats.
type cachedStore struct {
	s     *ViewStores
	state *features.State
	info  features.Info
}

// Features implements StoreFeatures with features.Stats.Append: the same
// code as views.StoreFeatures and the training examples.
func (c *cachedStore) Features(dst []float64, target, asOf topics.Date, in topics.KnownInputs) ([]float64, error) {
	k, err := features.KnownOf(in)
	if err != nil {
		return dst, err
	}
	st, err := c.s.statsOf(c.state, asOf)
	if err != nil {
		return dst, err
	}
	return st.Append(dst, &c.info, target, k)
}

// CacheKey implements Cacheable: the views share one immutable decoded
// state per encoded value, so its pointer identifies the store's facts.
func (c *cachedStore) CacheKey() any { return c.state }
