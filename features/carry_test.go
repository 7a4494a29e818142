package features

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/storecast/storecast/topics"
)

// carrying returns a store's state after a day x that jumps a gap longer
// than the ring, carrying the examples x completed, and those examples.
func carrying(t testing.TB) (*State, topics.Date, []topics.TrainingExample) {
	t.Helper()
	s := applyAll(genFacts(rand.New(rand.NewPCG(11, 12)), day0-300, day0, false))
	in := testInfo()
	x := day0 + RingDays + 40
	var exs []topics.TrainingExample
	for _, d := range s.Completes(in.Store, x, nil) {
		ex, ok, err := s.Example(&in, d)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			exs = append(exs, ex)
		}
	}
	if len(exs) < 3 {
		t.Fatalf("the gap completes %d examples, want a week's", len(exs))
	}
	if ch := s.Apply(fact(x, 5000)); !ch.Advanced {
		t.Fatalf("%s did not advance the state", x)
	}
	s.Carry(x, exs)
	return s, x, exs
}

func sameCarried(t *testing.T, got, want []topics.TrainingExample) {
	t.Helper()
	byDay := func(exs []topics.TrainingExample) map[topics.Date]topics.TrainingExample {
		m := map[topics.Date]topics.TrainingExample{}
		for _, ex := range exs {
			m[ex.Date] = ex
		}
		return m
	}
	sameExamples(t, "carried", byDay(got), byDay(want))
}

func TestCarryKeepsWhatAGapPushedOutOfTheRing(t *testing.T) {
	t.Parallel()
	s, x, exs := carrying(t)
	for _, ex := range exs {
		if _, held := s.Fact(ex.Date); held {
			t.Fatalf("%s is still in the ring: nothing to carry", ex.Date)
		}
	}
	sameCarried(t, s.Carried(x), exs)
	if got := s.Carried(x - 1); got != nil {
		t.Errorf("Carried of another day = %d examples, want none", len(got))
	}

	// The table value keeps them, exactly.
	b := encode(t, s)
	var back State
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	sameCarried(t, back.Carried(x), exs)
	if !bytes.Equal(encode(t, &back), b) {
		t.Fatal("round trip differs")
	}

	// A clone does not share them.
	c := s.Clone()
	c.Carried(x)[0].Features.Values[0] = -1
	sameCarried(t, s.Carried(x), exs)

	// Later days keep them until the latest day is RingDays after x; a late
	// day or a redelivery does not touch them.
	s.Apply(fact(x-3, 10))
	s.Apply(fact(x, 5000))
	for d := x + 1; d < x+RingDays; d++ {
		s.Apply(fact(d, 4000))
	}
	sameCarried(t, s.Carried(x), exs)
	s.Apply(fact(x+RingDays, 4000))
	if got := s.Carried(x); got != nil {
		t.Errorf("%d examples carried RingDays after the gap, want none", len(got))
	}
}

func TestCarryKeepsNothingTheRingStillHolds(t *testing.T) {
	t.Parallel()
	s := applyAll(genFacts(rand.New(rand.NewPCG(13, 14)), day0-300, day0, false))
	in := testInfo()
	before := encode(t, s)
	// Days that jump a short gap: what they complete stays in the ring.
	x, _ := s.Latest()
	x += 5
	var exs []topics.TrainingExample
	for _, d := range s.Completes(in.Store, x, nil) {
		if ex, ok, _ := s.Example(&in, d); ok {
			exs = append(exs, ex)
		}
	}
	if len(exs) == 0 {
		t.Fatal("the short gap completes no example")
	}
	s.Apply(fact(x, 5000))
	s.Carry(x, exs)
	if got := s.Carried(x); got != nil {
		t.Errorf("carried %d examples the ring holds", len(got))
	}
	if len(encode(t, s)) > len(before)+20 {
		t.Errorf("the state grew from %d to %d bytes", len(before), len(encode(t, s)))
	}
}
