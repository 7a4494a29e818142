package features

import (
	"encoding/binary"
	"fmt"

	"github.com/storecast/storecast/topics"
)

// MaxPending is how many facts a state holds back while its store's info
// has not arrived. A store whose info never comes cannot grow without
// bound: beyond this the processor dead-letters the sale instead.
const MaxPending = 4096

// Hold keeps f back, unapplied, until the store's info arrives (see
// TakePending): a sale may reach the processor before its store's info,
// and applying it later, in the order it came, gives the same state and
// the same examples as if the info had come first. A fact equal to the
// last one held for its day is a Duplicate; ok is false when MaxPending
// facts are held.
func (s *State) Hold(f Fact) (o Outcome, ok bool) {
	for i := len(s.pending) - 1; i >= 0; i-- {
		if s.pending[i].Date == f.Date {
			if s.pending[i] == f {
				return Duplicate, true
			}
			break
		}
	}
	if len(s.pending) >= MaxPending {
		return Duplicate, false
	}
	s.pending = append(s.pending, f)
	return Added, true
}

// Pending returns the facts held back, in the order they came. The slice
// belongs to the state.
func (s *State) Pending() []Fact { return s.pending }

// TakePending returns the facts held back and forgets them: the caller
// applies them, in order, now that the info is there.
func (s *State) TakePending() []Fact {
	p := s.pending
	s.pending = nil
	return p
}

// Clock returns the latest day of every fact the state has seen, applied
// or held, and false when it has seen none. It does not depend on whether
// the store's info had arrived, so decisions made against it are the same
// whatever the interleaving of sales and store info.
func (s *State) Clock() (topics.Date, bool) {
	d, ok := s.latest, s.has
	for _, p := range s.pending {
		if !ok || p.Date > d {
			d, ok = p.Date, true
		}
	}
	return d, ok
}

// StoreInfo returns the encoded store info the processor last saw for the
// store (opaque to this package), or nil.
func (s *State) StoreInfo() []byte { return s.info }

// SetStoreInfo records the encoded store info b (kept, not copied).
func (s *State) SetStoreInfo(b []byte) { s.info = b }

// maxInfoBytes bounds the store info a state keeps (a store_info value is
// a few hundred bytes of JSON).
const maxInfoBytes = 1 << 16

// trailerFollows is the has byte's bit saying the trailing section follows.
const trailerFollows = 2

// trailerFlag returns trailerFollows when the state writes the trailing
// section: only when it keeps a store info or held facts, so states
// written before the section existed keep their bytes.
func (s *State) trailerFlag() byte {
	if len(s.info) == 0 && len(s.pending) == 0 {
		return 0
	}
	return trailerFollows
}

// appendTrailer appends the optional trailing section (see trailerFlag):
// the store info (length, bytes) and the held facts (count, then each as
// zig-zag date, flags byte, sales, customers).
func (s *State) appendTrailer(b []byte) ([]byte, error) {
	if s.trailerFlag() == 0 {
		return b, nil
	}
	if len(s.info) > maxInfoBytes {
		return nil, fmt.Errorf("encode state: store info of %d bytes", len(s.info))
	}
	b = appendUvarint(b, uint64(len(s.info)))
	b = append(b, s.info...)
	b = appendUvarint(b, uint64(len(s.pending)))
	for _, f := range s.pending {
		x := dayOf(f)
		b = binary.AppendVarint(b, int64(f.Date))
		b = append(b, x.flags)
		b = appendUvarint(b, uint64(x.sales))
		b = appendUvarint(b, uint64(x.customers))
	}
	return b, nil
}

// readTrailer decodes the trailing section.
func (s *State) readTrailer(r *reader) {
	if r.err != nil {
		return
	}
	n := r.uvarint()
	if r.err != nil {
		return
	}
	if n > maxInfoBytes || n > uint64(len(r.b)) {
		r.fail("store info of %d bytes in %d", n, len(r.b))
		return
	}
	if n > 0 {
		s.info = append([]byte(nil), r.b[:n]...)
	}
	r.b = r.b[n:]
	np := r.uvarint()
	if r.err != nil {
		return
	}
	if np > MaxPending || np*4 > uint64(len(r.b)) { // every fact takes at least 4 bytes
		r.fail("%d held facts in %d bytes", np, len(r.b))
		return
	}
	if n == 0 && np == 0 {
		r.fail("empty trailing section") // not canonical
		return
	}
	if np > 0 {
		s.pending = make([]Fact, 0, np)
	}
	for i := uint64(0); i < np && r.err == nil; i++ {
		d := r.varint()
		fl := r.byte()
		sales, cust := r.u32(), r.u32()
		if d < minDate || d > maxDate || fl&^flagsKnown != 0 || fl&flagPresent == 0 {
			r.fail("held fact %d: day %d flags %#x", i, d, fl)
			return
		}
		s.pending = append(s.pending, day{flags: fl, sales: sales, customers: cust}.fact(topics.Date(d)))
	}
}

// DefaultMaxDaysAhead is how far past its store's clock a fact may be
// dated before it counts as implausible (FarAhead). The Rossmann data's
// longest gap in a store's history is 185 days (stores closed for
// refurbishment in the second half of 2014); a year leaves room for that.
const DefaultMaxDaysAhead = 366

// FarAhead reports whether a fact of day d is dated more than maxAhead
// days after the store's clock (Clock: the latest day of every fact it has
// seen), and returns the clock. A state that has seen nothing, or maxAhead
// <= 0, accepts every day. The clock is the store's own, not the chain's:
// it depends only on the store's events, in their order, so a replay of
// the same log decides the same.
func (s *State) FarAhead(d topics.Date, maxAhead int) (clock topics.Date, far bool) {
	clock, ok := s.Clock()
	if !ok || maxAhead <= 0 {
		return clock, false
	}
	return clock, int(d-clock) > maxAhead
}
