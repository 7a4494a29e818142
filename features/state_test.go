package features

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/storecast/storecast/topics"
)

var day0 = topics.DateFromYMD(2015, 1, 1)

func fact(d topics.Date, sales uint32) Fact {
	return Fact{Date: d, Open: sales > 0, Sales: sales, Customers: sales / 10}
}

func TestApplyTransitions(t *testing.T) {
	t.Parallel()
	type step struct {
		f    Fact
		want Outcome
		// wasTrading is checked for Corrected.
		wasTrading bool
	}
	cases := []struct {
		name       string
		steps      []step
		wantLatest topics.Date
		wantHeld   int
		wantFolded []interval
	}{
		{
			name:       "first fact",
			steps:      []step{{fact(day0, 100), Added, false}},
			wantLatest: day0, wantHeld: 1,
		},
		{
			name:       "same fact twice is a duplicate",
			steps:      []step{{fact(day0, 100), Added, false}, {fact(day0, 100), Duplicate, false}},
			wantLatest: day0, wantHeld: 1,
		},
		{
			name:       "other values for a ring day correct it",
			steps:      []step{{fact(day0, 100), Added, false}, {fact(day0, 0), Corrected, true}, {fact(day0, 5), Corrected, false}},
			wantLatest: day0, wantHeld: 1,
		},
		{
			name:       "late day inside the ring is added",
			steps:      []step{{fact(day0+10, 100), Added, false}, {fact(day0+3, 100), Added, false}},
			wantLatest: day0 + 10, wantHeld: 2,
		},
		{
			name: "days fall out of the ring into the aggregates",
			steps: []step{
				{fact(day0, 100), Added, false}, {fact(day0+1, 100), Added, false},
				{fact(day0+RingDays+1, 100), Added, false},
			},
			wantLatest: day0 + RingDays + 1, wantHeld: 3, wantFolded: []interval{{day0, day0 + 1}},
		},
		{
			name: "a day older than the ring is folded once",
			steps: []step{
				{fact(day0+200, 100), Added, false},
				{fact(day0+50, 100), Added, false}, {fact(day0+50, 100), Duplicate, false},
				{fact(day0+50, 7), Duplicate, false}, // a folded day cannot be corrected
				{fact(day0+52, 100), Added, false}, {fact(day0+51, 100), Added, false},
				{fact(day0+10, 100), Added, false},
			},
			wantLatest: day0 + 200, wantHeld: 5, wantFolded: []interval{{day0 + 10, day0 + 10}, {day0 + 50, day0 + 52}},
		},
		{
			name: "a jump longer than the ring folds every ring day",
			steps: []step{
				{fact(day0, 100), Added, false}, {fact(day0+5, 100), Added, false},
				{fact(day0+1000, 100), Added, false},
			},
			wantLatest: day0 + 1000, wantHeld: 3, wantFolded: []interval{{day0, day0}, {day0 + 5, day0 + 5}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var s State
			for i, st := range c.steps {
				ch := s.Apply(st.f)
				if ch.Outcome != st.want {
					t.Fatalf("step %d (%s): got %s, want %s", i, st.f.Date, ch.Outcome, st.want)
				}
				if ch.Outcome == Corrected && ch.WasTrading != st.wasTrading {
					t.Fatalf("step %d: WasTrading %v, want %v", i, ch.WasTrading, st.wasTrading)
				}
			}
			if l, _ := s.Latest(); l != c.wantLatest {
				t.Errorf("latest %s, want %s", l, c.wantLatest)
			}
			if got := s.DaysHeld(); got != c.wantHeld {
				t.Errorf("days held %d, want %d", got, c.wantHeld)
			}
			if !slices.Equal(s.folded, c.wantFolded) {
				t.Errorf("folded %v, want %v", s.folded, c.wantFolded)
			}
			var back State
			if err := back.UnmarshalBinary(encode(t, &s)); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !bytes.Equal(encode(t, &back), encode(t, &s)) {
				t.Errorf("round trip changed the state")
			}
		})
	}
}

func TestCorrectionKeepsTheLastValue(t *testing.T) {
	t.Parallel()
	var s State
	s.Apply(fact(day0, 100))
	s.Apply(fact(day0, 120))
	if f, ok := s.Fact(day0); !ok || f.Sales != 120 {
		t.Errorf("fact after correction = %+v, %v; want sales 120", f, ok)
	}
}

// TestStateIsAFunctionOfTheSetOfFacts applies the same facts in many
// orders, with duplicates, and wants byte-identical encodings.
func TestStateIsAFunctionOfTheSetOfFacts(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		facts := genFacts(r, day0-400-topics.Date(r.IntN(300)), day0, trial%2 == 0)
		want := encode(t, applyAll(facts))

		orders := map[string][]Fact{"descending": nil, "with duplicates": nil}
		desc := slices.Clone(facts)
		slices.Reverse(desc)
		orders["descending"] = desc
		dup := slices.Clone(facts)
		for range len(facts) / 3 {
			dup = append(dup, facts[r.IntN(len(facts))])
		}
		r.Shuffle(len(dup), func(i, j int) { dup[i], dup[j] = dup[j], dup[i] })
		orders["with duplicates"] = dup
		for i := range 4 {
			sh := slices.Clone(facts)
			r.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
			orders["shuffled "+string(rune('a'+i))] = sh
		}
		for name, fs := range orders {
			if got := encode(t, applyAll(fs)); !bytes.Equal(got, want) {
				t.Fatalf("trial %d, order %s: state differs from ascending order (%d vs %d bytes)", trial, name, len(got), len(want))
			}
		}
	}
}

func TestCodecRoundTripAndTruncation(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	states := []*State{new(State)}
	for i := range 10 {
		s := applyAll(genFacts(r, day0-topics.Date(10+r.IntN(900)), day0, i%2 == 0))
		s.SetInputOffset(int64(r.IntN(1 << 40)))
		states = append(states, s)
	}
	// States with the trailing section: held facts and a store info.
	held := new(State)
	held.Hold(fact(day0, 7000))
	held.Hold(Fact{Date: day0 + 1, StateHoliday: 3})
	withInfo := applyAll(genFacts(r, day0-300, day0, true))
	withInfo.SetStoreInfo([]byte(`{"store":1}`))
	withInfo.Hold(fact(day0+2, 123456))
	infoOnly := new(State)
	infoOnly.SetStoreInfo([]byte(`{}`))
	// A state carrying the examples a gap pushed out of the ring, with a store info.
	carried, _, _ := carrying(t)
	carried.SetStoreInfo([]byte(`{"store":7}`))
	states = append(states, held, withInfo, infoOnly, carried)
	for i, s := range states {
		b := encode(t, s)
		var back State
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatalf("state %d: decode: %v", i, err)
		}
		if got := encode(t, &back); !bytes.Equal(got, b) {
			t.Fatalf("state %d: round trip differs", i)
		}
		if back.InputOffset() != s.InputOffset() {
			t.Fatalf("state %d: offset %d, want %d", i, back.InputOffset(), s.InputOffset())
		}
		if !slices.Equal(back.Pending(), s.Pending()) || !bytes.Equal(back.StoreInfo(), s.StoreInfo()) {
			t.Fatalf("state %d: held facts %v info %q, want %v %q", i, back.Pending(), back.StoreInfo(), s.Pending(), s.StoreInfo())
		}
		for n := range len(b) {
			if err := new(State).UnmarshalBinary(b[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("state %d: decoding %d of %d bytes: err %v, want ErrCorrupt", i, n, len(b), err)
			}
		}
		if err := new(State).UnmarshalBinary(append(slices.Clone(b), 0)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("state %d: trailing byte accepted: %v", i, err)
		}
	}
}

// TestStateSizeStaysLean guards the table value size, which decides
// throughput: a realistic store with 2.5 years of history.
func TestStateSizeStaysLean(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	s := applyAll(genFacts(r, day0-900, day0, true))
	if n := len(encode(t, s)); n > 900 {
		t.Errorf("encoded state is %d bytes, want at most 900", n)
	} else {
		t.Logf("encoded state: %d bytes", n)
	}
}

func FuzzStateCodec(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	f.Add([]byte{codecVersion, 0, 0})
	for i := range 4 {
		s := applyAll(genFacts(r, day0-topics.Date(50+200*i), day0, i%2 == 1))
		b, _ := s.MarshalBinary()
		f.Add(b)
		s.SetStoreInfo([]byte(`{"store":2}`))
		s.Hold(fact(day0+5, 10))
		b, _ = s.MarshalBinary()
		f.Add(b)
	}
	carried, _, _ := carrying(f)
	b, _ := carried.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var s State
		if err := s.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		b1 := encode(t, &s)
		var s2 State
		if err := s2.UnmarshalBinary(b1); err != nil {
			t.Fatalf("re-decode of an encoded state: %v", err)
		}
		if b2 := encode(t, &s2); !bytes.Equal(b1, b2) {
			t.Fatalf("encoding is not stable")
		}
		// Whatever decodes must be usable.
		if l, ok := s.Latest(); ok {
			var st Stats
			in := testInfo()
			if err := s.Stats(l+1, &st); err == nil {
				if _, err := st.Append(nil, &in, l+2, Known{}); err != nil {
					t.Fatalf("append: %v", err)
				}
			}
			s.AffectedDays(1, l+3, s.Apply(Fact{Date: l + 3, Open: true, Sales: 1}), nil)
			s.AffectedDays(1, l-5, s.Apply(Fact{Date: l - 5, Open: true, Sales: 2}), nil)
		}
	})
}

func BenchmarkStateCodec(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	s := applyAll(genFacts(r, day0-900, day0, false))
	enc, _ := s.MarshalBinary()
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 2048)
		for b.Loop() {
			buf, _ = s.AppendBinary(buf[:0])
		}
		b.SetBytes(int64(len(enc)))
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		var s State
		for b.Loop() {
			if err := s.UnmarshalBinary(enc); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(len(enc)))
	})
	b.Run("decode-apply-encode", func(b *testing.B) {
		b.ReportAllocs()
		var s State
		d := day0 + 1
		for b.Loop() {
			if err := s.UnmarshalBinary(enc); err != nil {
				b.Fatal(err)
			}
			s.Apply(Fact{Date: d, Open: true, Sales: 5000, Customers: 500})
			_, _ = s.MarshalBinary()
		}
	})
}

func TestHoldKeepsFactsUntilTaken(t *testing.T) {
	t.Parallel()
	s := applyAll([]Fact{fact(day0-3, 100)})
	if o, ok := s.Hold(fact(day0, 200)); o != Added || !ok {
		t.Fatalf("hold: %v %v, want added", o, ok)
	}
	if o, _ := s.Hold(fact(day0, 200)); o != Duplicate {
		t.Fatalf("second hold of the same fact: %v, want duplicate", o)
	}
	s.Hold(fact(day0-10, 50))
	s.Hold(fact(day0-10, 60))
	if o, _ := s.Hold(fact(day0-10, 50)); o != Added {
		t.Fatalf("a fact back to an earlier value: %v, want added (the last value wins)", o)
	}
	if got, ok := s.Clock(); !ok || got != day0 {
		t.Fatalf("clock %s %v, want %s (held facts count)", got, ok, day0)
	}
	if got, _ := s.Latest(); got != day0-3 {
		t.Fatalf("latest %s, want %s (held facts are not applied)", got, day0-3)
	}
	got := s.TakePending()
	want := []Fact{fact(day0, 200), fact(day0-10, 50), fact(day0-10, 60), fact(day0-10, 50)}
	if !slices.Equal(got, want) {
		t.Fatalf("taken %v, want %v in arrival order", got, want)
	}
	if len(s.Pending()) != 0 {
		t.Fatalf("still held after take: %v", s.Pending())
	}
	full := new(State)
	for i := range MaxPending {
		full.Hold(fact(day0+topics.Date(i), 1))
	}
	if _, ok := full.Hold(fact(day0-1, 1)); ok {
		t.Fatalf("hold beyond MaxPending accepted")
	}
	if _, ok := new(State).Clock(); ok {
		t.Fatalf("empty state has a clock")
	}
}

func TestFarAhead(t *testing.T) {
	t.Parallel()
	s := applyAll([]Fact{fact(day0-10, 100), fact(day0, 100)})
	s.Hold(fact(day0+5, 1)) // held facts move the clock too
	cases := []struct {
		name  string
		st    *State
		d     topics.Date
		max   int
		clock topics.Date
		far   bool
	}{
		{"the next day", s, day0 + 6, 366, day0 + 5, false},
		{"exactly the limit", s, day0 + 5 + 366, 366, day0 + 5, false},
		{"one past the limit", s, day0 + 5 + 367, 366, day0 + 5, true},
		{"years ahead", s, topics.DateFromYMD(2030, 1, 1), 366, day0 + 5, true},
		{"late data", s, day0 - 500, 366, day0 + 5, false},
		{"limit off", s, topics.DateFromYMD(2030, 1, 1), 0, day0 + 5, false},
		{"no history", new(State), topics.DateFromYMD(2030, 1, 1), 366, 0, false},
	}
	for _, c := range cases {
		clock, far := c.st.FarAhead(c.d, c.max)
		if far != c.far || (c.clock != 0 && clock != c.clock) {
			t.Errorf("%s: clock %s far %v, want %s %v", c.name, clock, far, c.clock, c.far)
		}
	}
}
