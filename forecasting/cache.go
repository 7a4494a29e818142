package forecasting

import (
	"hash/maphash"
	"sync"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/topics"
)

// predKey identifies one prediction: a forecast is a pure function of the
// model, the store's state, the as-of and target days and the inputs of
// the target day and of the days around it the request gives (the others
// come from the state).
type predKey struct {
	model      *ModelMeta
	state      any
	asOf, date topics.Date
	day        keyInputs
	near       [features.BackDays + features.AheadDays]keyInputs
}

// keyInputs are known inputs in a key; set is false for a missing neighbour.
type keyInputs struct {
	set     bool
	open    int8
	promo   int8
	school  int8
	holiday byte
}

func keyInputsOf(in *topics.KnownInputs) keyInputs {
	if in == nil {
		return keyInputs{}
	}
	k := keyInputs{set: true, open: int8(in.Open), promo: int8(in.Promo), school: int8(in.SchoolHoliday)}
	if len(in.StateHoliday) == 1 {
		k.holiday = in.StateHoliday[0]
	}
	return k
}

func keyOf(m *ModelMeta, state any, asOf, date topics.Date, in Inputs) predKey {
	k := predKey{model: m, state: state, asOf: asOf, date: date, day: keyInputsOf(&in.Day)}
	if in.Near != nil {
		for i := range features.BackDays {
			k.near[i] = keyInputsOf(in.Near(date - 1 - topics.Date(i)))
		}
		for i := range features.AheadDays {
			k.near[features.BackDays+i] = keyInputsOf(in.Near(date + 1 + topics.Date(i)))
		}
	}
	return k
}

const cacheShards = 32

// predCache is a bounded, sharded map of predictions; a full shard is
// cleared (old models and states then fall out too).
type predCache struct {
	seed   maphash.Seed
	max    int // per shard
	shards [cacheShards]struct {
		mu sync.RWMutex
		m  map[predKey]model.Prediction
	}
}

func newPredCache(size int) *predCache {
	c := &predCache{seed: maphash.MakeSeed(), max: max(size/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[predKey]model.Prediction)
	}
	return c
}

func (c *predCache) shard(k *predKey) int {
	var h maphash.Hash
	h.SetSeed(c.seed)
	var b [12]byte
	b[0], b[1], b[2], b[3] = byte(k.date), byte(k.date>>8), byte(k.asOf), byte(k.asOf>>8)
	b[4], b[5], b[6], b[7] = byte(k.day.open), byte(k.day.promo), byte(k.day.school), k.day.holiday
	_, _ = h.Write(b[:8])
	return int(h.Sum64() % cacheShards)
}

func (c *predCache) get(k *predKey) (model.Prediction, bool) {
	s := &c.shards[c.shard(k)]
	s.mu.RLock()
	v, ok := s.m[*k]
	s.mu.RUnlock()
	return v, ok
}

func (c *predCache) put(k *predKey, v model.Prediction) {
	s := &c.shards[c.shard(k)]
	s.mu.Lock()
	if len(s.m) >= c.max {
		clear(s.m)
	}
	s.m[*k] = v
	s.mu.Unlock()
}
