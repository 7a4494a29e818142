package features

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/storecast/storecast/topics"
)

// maxCarried bounds the examples a state carries: the days one new latest
// day completes (Completes: at most AheadDays).
const maxCarried = AheadDays

// Carry keeps, of exs (the examples of the days Completes returned before
// day x was applied), those whose days Apply(x) pushed out of the ring:
// after a gap longer than the ring the state can no longer compute them.
// If the processor crashes after the state is stored but before those
// examples reach Kafka, the redelivered day x finds them here (Carried)
// instead of losing them. They replace any carried before and are dropped
// once the latest day is RingDays after x; Apply keeps them otherwise.
// Call it after Apply(x) advanced the latest day to x.
func (s *State) Carry(x topics.Date, exs []topics.TrainingExample) {
	var kept []topics.TrainingExample
	for i := range exs {
		if exs[i].Date < s.RingStart() && len(kept) < maxCarried {
			kept = append(kept, cloneExample(&exs[i]))
		}
	}
	if len(kept) > 0 {
		s.carried, s.carriedBy = kept, x
	}
}

// Carried returns the examples the arrival of day x completed and pushed
// out of the ring (see Carry), for a redelivery of x; nil for other days.
// The slice is the state's: do not modify it.
func (s *State) Carried(x topics.Date) []topics.TrainingExample {
	if len(s.carried) == 0 || x != s.carriedBy {
		return nil
	}
	return s.carried
}

// expireCarried drops the carried examples once the latest day is RingDays
// after the day that carried them: by then the processor has committed
// that day's offset (it commits within seconds; a store's RingDays days are
// thousands of its partition's messages even in a bulk replay).
func (s *State) expireCarried() {
	if len(s.carried) > 0 && s.latest >= s.carriedBy+RingDays {
		s.carried, s.carriedBy = nil, 0
	}
}

func cloneExample(ex *topics.TrainingExample) topics.TrainingExample {
	c := *ex
	c.Features.Values = slices.Clone(ex.Features.Values)
	return c
}

func cloneExamples(exs []topics.TrainingExample) []topics.TrainingExample {
	if exs == nil {
		return nil
	}
	out := make([]topics.TrainingExample, len(exs))
	for i := range exs {
		out[i] = cloneExample(&exs[i])
	}
	return out
}

// carriedFollows is the has byte's bit saying the carried section follows
// the trailing one: only states that carry examples write it, so every
// other state keeps its bytes.
const carriedFollows = 4

func (s *State) carriedFlag() byte {
	if len(s.carried) == 0 {
		return 0
	}
	return carriedFollows
}

// appendCarried appends the carried section (see carriedFlag): the day
// that carried them (zig-zag), their count, then each example as store,
// date and as-of (zig-zag), horizon, the label and the NumFeatures values
// as float64 bits (little endian). Schema, version and feature names are
// this package's (SchemaVersion): a state is never read by another schema.
func (s *State) appendCarried(b []byte) []byte {
	if len(s.carried) == 0 {
		return b
	}
	b = binary.AppendVarint(b, int64(s.carriedBy))
	b = appendUvarint(b, uint64(len(s.carried)))
	for i := range s.carried {
		ex := &s.carried[i]
		b = appendUvarint(b, uint64(ex.Store))
		b = binary.AppendVarint(b, int64(ex.Date))
		b = binary.AppendVarint(b, int64(ex.AsOf))
		b = appendUvarint(b, uint64(ex.Horizon))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(ex.Label))
		for _, v := range ex.Features.Values {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return b
}

// readCarried decodes the carried section, refusing what Carry and
// expireCarried never leave (no example, too many, a day still in the ring,
// a carrier RingDays or more before the latest day).
func (s *State) readCarried(r *reader) {
	if r.err != nil {
		return
	}
	if !s.has {
		r.fail("carried examples in a state without facts")
		return
	}
	by := r.varint()
	n := r.uvarint()
	if r.err != nil {
		return
	}
	if by < minDate || by > int64(s.latest) || int64(s.latest) >= by+RingDays {
		r.fail("carried by day %d with latest day %s", by, s.latest)
		return
	}
	if n == 0 || n > maxCarried {
		r.fail("%d carried examples", n)
		return
	}
	s.carriedBy = topics.Date(by)
	s.carried = make([]topics.TrainingExample, 0, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		store, d, asOf, h := r.uvarint(), r.varint(), r.varint(), r.uvarint()
		label := r.float64()
		vals := make([]float64, NumFeatures)
		for j := range vals {
			vals[j] = r.float64()
		}
		if r.err != nil {
			return
		}
		if store > math.MaxInt32 || d < minDate || d >= int64(s.RingStart()) || asOf >= d || h != uint64(d-asOf) {
			r.fail("carried example %d: store %d day %d as of %d horizon %d", i, store, d, asOf, h)
			return
		}
		s.carried = append(s.carried, topics.TrainingExample{
			V: topics.TrainingExampleVersion, Store: int(store), Date: topics.Date(d), AsOf: topics.Date(asOf),
			Horizon: int(h), Label: label, Schema: SchemaVersion,
			Features: topics.FeatureVector{Names: sharedNames, Values: vals},
		})
	}
}
