package features

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/storecast/storecast/topics"
)

// codecVersion is the first byte of every encoded State. Decoding refuses
// other versions; a new layout gets a new version and a replay. Version 2:
// a ring of 128 days (96 in version 1).
const codecVersion = 2

// ErrCorrupt is wrapped by every decoding error.
var ErrCorrupt = errors.New("corrupt store state")

// AppendBinary appends the compact binary encoding of s to b. The encoding
// is canonical: equal states encode to equal bytes.
//
// Layout (uvarints unless noted): version byte; offset; has byte (bit 0:
// the state holds facts; bit 1: the trailing section follows); then, if
// has: latest (zig-zag varint); the RingDays ring days from RingStart, each
// a flags byte followed by sales and customers when flag bit 6 is set; the
// 14 weekday×promo (count, sum) pairs, the 12 month pairs (a sum only
// when its count is not 0), the customers sum and the 7 present counts; the
// WeekSpan weekly (count, sum) pairs oldest first; the number of folded
// intervals and each as (gap from the previous end, length - 1), the first
// gap from 0 as a zig-zag varint; then, only when the state keeps a store
// info or held facts, the trailing section of appendTrailer; then, only
// when the state carries examples (has bit 2), the section of
// appendCarried.
func (s *State) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, codecVersion)
	b = appendUvarint(b, uint64(s.offset))
	if !s.has {
		if len(s.folded) > 0 {
			return nil, fmt.Errorf("encode state: folded days without a latest day")
		}
		return s.appendTrailer(append(b, s.trailerFlag()))
	}
	b = append(b, 1|s.trailerFlag()|s.carriedFlag())
	b = binary.AppendVarint(b, int64(s.latest))
	for i, n := slot(s.RingStart()), 0; n < RingDays; i, n = i+1, n+1 {
		if i == RingDays {
			i = 0
		}
		x := s.ring[i]
		fl := x.flags
		if x.sales != 0 || x.customers != 0 {
			fl |= flagNumbers
		}
		b = append(b, fl)
		if fl&flagNumbers != 0 {
			b = appendUvarint(b, uint64(x.sales))
			b = appendUvarint(b, uint64(x.customers))
		}
	}
	pair := func(b []byte, c uint32, sum uint64) []byte {
		b = appendUvarint(b, uint64(c))
		if c != 0 {
			b = appendUvarint(b, sum)
		}
		return b
	}
	a := &s.agg
	for wd := range 7 {
		for p := range 2 {
			b = pair(b, a.cnt[wd][p], a.sum[wd][p])
		}
	}
	for m := range 12 {
		b = pair(b, a.mcnt[m], a.msum[m])
	}
	b = appendUvarint(b, a.cust)
	for wd := range 7 {
		b = appendUvarint(b, uint64(a.present[wd]))
	}
	lo, hi := weekRange(s.RingStart())
	for w := lo; w <= hi; w++ {
		wk := s.weeks[weekSlot(w)]
		b = pair(b, wk.cnt, wk.sum)
	}
	b = appendUvarint(b, uint64(len(s.folded)))
	var prev int64
	for i, iv := range s.folded {
		if i == 0 {
			b = binary.AppendVarint(b, int64(iv.lo))
		} else {
			b = appendUvarint(b, uint64(int64(iv.lo)-prev))
		}
		b = appendUvarint(b, uint64(iv.hi-iv.lo))
		prev = int64(iv.hi)
	}
	b, err := s.appendTrailer(b)
	if err != nil {
		return nil, err
	}
	return s.appendCarried(b), nil
}

// appendUvarint is binary.AppendUvarint with the one- and two-byte cases
// (flags, counts, most sales) inline.
func appendUvarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<7:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, byte(v)|0x80, byte(v>>7))
	}
	return binary.AppendUvarint(b, v)
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (s *State) MarshalBinary() ([]byte, error) { return s.AppendBinary(make([]byte, 0, 1024)) }

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	if len(r.b) > 0 && r.b[0] < 0x80 { // one byte: most flags and counts
		v := uint64(r.b[0])
		r.b = r.b[1:]
		return v
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad uvarint")
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) float64() float64 {
	if len(r.b) < 8 {
		r.fail("truncated")
		r.b = nil
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *reader) u32() uint32 {
	v := r.uvarint()
	if v > 1<<32-1 {
		r.fail("count %d out of range", v)
	}
	return uint32(v)
}

// Dates a state may hold: far wider than topics.Sale accepts, narrow
// enough that no arithmetic on them overflows.
const (
	minDate = -1 << 24
	maxDate = 1 << 24
)

// UnmarshalBinary implements encoding.BinaryUnmarshaler. It refuses
// truncated, oversized and inconsistent input with an error wrapping
// ErrCorrupt.
func (s *State) UnmarshalBinary(data []byte) error {
	*s = State{}
	r := reader{b: data}
	if v := r.byte(); r.err == nil && v != codecVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrCorrupt, v, codecVersion)
	}
	off := r.uvarint()
	if off > 1<<62 {
		r.fail("offset %d out of range", off)
	}
	s.offset = int64(off)
	has := r.byte()
	trailer, carried := has&trailerFollows != 0, has&carriedFollows != 0
	switch has &^= trailerFollows | carriedFollows; {
	case r.err != nil:
		return r.err
	case has == 0:
		if carried {
			r.fail("carried examples in a state without facts")
		}
		if trailer {
			s.readTrailer(&r)
		}
		if r.err != nil {
			return r.err
		}
		if len(r.b) != 0 {
			return fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(r.b))
		}
		return nil
	case has != 1:
		return fmt.Errorf("%w: has byte %d", ErrCorrupt, has)
	}
	s.has = true
	latest := r.varint()
	if latest < minDate || latest > maxDate {
		r.fail("latest day %d out of range", latest)
		return r.err
	}
	s.latest = topics.Date(latest)
	for i, n := slot(s.RingStart()), 0; n < RingDays && r.err == nil; i, n = i+1, n+1 {
		if i == RingDays {
			i = 0
		}
		fl := r.byte()
		if fl&^(flagsKnown|flagNumbers) != 0 || (fl&flagPresent == 0 && fl != 0) {
			r.fail("ring day %s has flags %#x", s.RingStart()+topics.Date(n), fl)
			break
		}
		x := day{flags: fl &^ flagNumbers}
		if fl&flagNumbers != 0 {
			x.sales, x.customers = r.u32(), r.u32()
			if x.sales == 0 && x.customers == 0 {
				r.fail("ring day %s flags numbers that are zero", s.RingStart()+topics.Date(n))
			}
		}
		s.ring[i] = x
	}
	pair := func() (uint32, uint64) {
		c := r.u32()
		if c == 0 {
			return 0, 0
		}
		return c, r.uvarint()
	}
	a := &s.agg
	for wd := range 7 {
		for p := range 2 {
			a.cnt[wd][p], a.sum[wd][p] = pair()
		}
	}
	for m := range 12 {
		a.mcnt[m], a.msum[m] = pair()
	}
	a.cust = r.uvarint()
	for wd := range 7 {
		a.present[wd] = r.u32()
	}
	lo, hi := weekRange(s.RingStart())
	for w := lo; w <= hi; w++ {
		wk := &s.weeks[weekSlot(w)]
		wk.cnt, wk.sum = pair()
	}
	n := r.uvarint()
	if r.err != nil {
		return r.err
	}
	if n > uint64(len(r.b)) { // every interval takes at least 2 bytes
		return fmt.Errorf("%w: %d folded intervals in %d bytes", ErrCorrupt, n, len(r.b))
	}
	if n > 0 {
		s.folded = make([]interval, 0, n)
	}
	var prev int64
	for i := uint64(0); i < n && r.err == nil; i++ {
		var lo int64
		if i == 0 {
			lo = r.varint()
		} else {
			gap := r.uvarint()
			if gap < 2 || gap > maxDate-minDate {
				r.fail("folded interval gap %d", gap)
				break
			}
			lo = prev + int64(gap)
		}
		ln := r.uvarint()
		if ln > maxDate-minDate {
			r.fail("folded interval length %d", ln)
			break
		}
		hi := lo + int64(ln)
		if lo < minDate || hi >= int64(s.RingStart()) {
			r.fail("folded interval %d..%d is not before the ring start %s", lo, hi, s.RingStart())
			break
		}
		s.folded = append(s.folded, interval{topics.Date(lo), topics.Date(hi)})
		prev = hi
	}
	if trailer {
		s.readTrailer(&r)
	}
	if carried {
		s.readCarried(&r)
	}
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(r.b))
	}
	return nil
}

// Codec is the goka codec of the store table: *State in binary.
type Codec struct{}

// Encode implements goka.Codec; it accepts *State or State.
func (Codec) Encode(value any) ([]byte, error) {
	switch v := value.(type) {
	case *State:
		return v.MarshalBinary()
	case State:
		return v.MarshalBinary()
	}
	return nil, fmt.Errorf("encode state: want *features.State, got %T", value)
}

// Decode implements goka.Codec, returning *State.
func (Codec) Decode(data []byte) (any, error) {
	s := new(State)
	if err := s.UnmarshalBinary(data); err != nil {
		return nil, err
	}
	return s, nil
}
