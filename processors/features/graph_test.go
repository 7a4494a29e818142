package features

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	feat "github.com/storecast/storecast/features"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

type rig struct {
	t     *testing.T
	tt    *tester.Tester
	n     topics.Names
	reg   *prometheus.Registry
	proc  *Processor
	ex    *tester.QueueTracker
	dlq   *tester.QueueTracker
	snaps *tester.QueueTracker
	table *tester.QueueTracker
}

func newRig(t *testing.T) *rig { return newRigWith(t, 0) }

func newRigWith(t *testing.T, maxAhead int) *rig {
	t.Helper()
	tt := tester.New(t)
	n := topics.DefaultNames()
	reg := prometheus.NewRegistry()
	p, err := New(Config{Names: n, Kafka: kafka.Config{Brokers: []string{"tester:9092"}}, MaxDaysAhead: maxAhead}, nil, reg, goka.WithTester(tt))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("processor: %v", err)
		}
	})
	r := &rig{t: t, tt: tt, n: n, reg: reg, proc: p,
		ex: tt.NewQueueTracker(string(n.TrainingExamples)), dlq: tt.NewQueueTracker(string(n.SalesDLQ)),
		snaps: tt.NewQueueTracker(string(n.Snapshots)), table: tt.NewQueueTracker(string(n.StoreTable()))}
	return r
}

func (r *rig) storeInfo(store int) {
	r.t.Helper()
	dist := 570.0
	b, err := topics.StoreInfoCodec{}.Encode(&topics.StoreInfo{
		V: 1, Store: store, StoreType: "a", Assortment: "a", CompetitionDistance: &dist,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.tt.Consume(string(r.n.StoreInfo), topics.StoreKey(store), b)
}

func sale(store int, d topics.Date, sales int) *topics.Sale {
	s := &topics.Sale{V: 1, Store: store, DayOfWeek: d.Weekday(), Date: d, Sales: sales, Customers: sales / 9,
		Open: 1, StateHoliday: "0"}
	if sales == 0 {
		s.Open = 0
		s.Customers = 0
	}
	if d.Weekday() <= 5 && int(d)/7%2 == 0 {
		s.Promo = 1
	}
	return s
}

func salesOf(d topics.Date) int {
	if d.Weekday() == 7 {
		return 0
	}
	return 4000 + int(d)%13*100
}

func (r *rig) consume(s *topics.Sale) {
	b, err := json.Marshal(s)
	if err != nil {
		r.t.Fatal(err)
	}
	r.tt.Consume(string(r.n.Sales), topics.StoreKey(s.Store), b)
}

// history consumes store's sales of the days from..to in order.
func (r *rig) history(store int, from, to topics.Date) {
	for d := from; d <= to; d++ {
		r.consume(sale(store, d, salesOf(d)))
	}
}

// storedBeforeCrash makes the store's state look as if later offsets had
// been applied (local storage ahead of the committed offset after a crash)
// and drops what the rig saw emitted so far: the next sale that is not
// new is a redelivery.
func (r *rig) storedBeforeCrash(store int) *feat.State {
	s := r.state(store)
	s.SetInputOffset(1 << 40)
	r.tt.SetTableValue(r.n.StoreTable(), topics.StoreKey(store), s)
	r.drainExamples()
	r.drain(r.table)
	return s
}

func (r *rig) state(store int) *feat.State {
	r.t.Helper()
	v := r.tt.TableValue(r.n.StoreTable(), topics.StoreKey(store))
	raw, ok := v.(rawState)
	if !ok {
		r.t.Fatalf("table value of store %d is %T", store, v)
	}
	var s feat.State
	if err := s.UnmarshalBinary(raw); err != nil {
		r.t.Fatal(err)
	}
	return &s
}

// drainExamples returns the examples emitted since the last call, by key;
// a nil value is a tombstone.
func (r *rig) drainExamples() map[string]*topics.TrainingExample {
	r.t.Helper()
	out := map[string]*topics.TrainingExample{}
	for {
		k, raw, ok := r.ex.NextRaw()
		if !ok {
			return out
		}
		if raw == nil {
			out[k] = nil
			continue
		}
		var ex topics.TrainingExample
		if err := json.Unmarshal(raw, &ex); err != nil {
			r.t.Fatalf("example %s: %v", k, err)
		}
		out[k] = &ex
	}
}

func (r *rig) drain(q *tester.QueueTracker) int {
	n := 0
	for {
		if _, _, ok := q.NextRaw(); !ok {
			return n
		}
		n++
	}
}

func counter(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	return testutil.ToFloat64(c)
}

func pureState(sales []*topics.Sale) *feat.State {
	var s feat.State
	for _, x := range sales {
		f, _ := feat.FactOf(x)
		s.Apply(f)
	}
	return &s
}

func encodedWithoutOffset(t *testing.T, s *feat.State) []byte {
	t.Helper()
	c := s.Clone()
	c.SetInputOffset(0)
	c.SetStoreInfo(nil)
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var day0 = topics.DateFromYMD(2015, 1, 1)

func TestSalesBuildStateAndExamples(t *testing.T) {
	r := newRig(t)
	r.storeInfo(7)
	var sent []*topics.Sale
	for d := day0 - 200; d <= day0; d++ {
		s := sale(7, d, salesOf(d))
		sent = append(sent, s)
		r.consume(s)
	}
	got := r.state(7)
	want := pureState(sent)
	if !bytes.Equal(encodedWithoutOffset(t, got), encodedWithoutOffset(t, want)) {
		t.Fatalf("table state differs from the pure fold of the same sales")
	}
	if got.InputOffset() != int64(len(sent)) {
		t.Errorf("input offset %d, want %d", got.InputOffset(), len(sent))
	}
	exs := r.drainExamples()
	info := feat.NewInfo(&topics.StoreInfo{V: 1, Store: 7, StoreType: "a", Assortment: "a", CompetitionDistance: ptr(570.0)})
	trading := 0
	for _, s := range sent {
		if s.Sales == 0 || s.Date > day0-feat.AheadDays { // no example until its week after is known
			if _, ok := exs[topics.ExampleKey(7, s.Date)]; ok && s.Sales != 0 {
				t.Errorf("an example for %s before %s completes it", s.Date, s.Date+feat.AheadDays)
			}
			continue
		}
		trading++
		key := topics.ExampleKey(7, s.Date)
		ex, ok := exs[key]
		if !ok || ex == nil {
			t.Fatalf("no example for %s", key)
		}
		// Recompute from the pure fold of the sales before the example's as-of day.
		var before []*topics.Sale
		for _, x := range sent {
			if x.Date < ex.AsOf || x.Date == s.Date {
				before = append(before, x)
			}
		}
		k := feat.KnownFromFact(mustFact(t, s))
		k.Around(func(d topics.Date) (feat.Neighbour, bool) { // the neighbours' known inputs
			for _, x := range sent {
				if x.Date == d {
					return feat.KnownFromFact(mustFact(t, x)).AsNeighbour(), true
				}
			}
			return feat.Neighbour{}, false
		}, s.Date)
		wantVals, err := feat.Compute(pureState(before), &info, s.Date, ex.AsOf, k)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Horizon != feat.HorizonFor(7, s.Date) || ex.Label != float64(s.Sales) || ex.Schema != feat.SchemaVersion {
			t.Fatalf("example %s: %+v", key, ex)
		}
		for i, w := range wantVals {
			if g := ex.Features.Values[i]; !(g == w || (math.IsNaN(g) && math.IsNaN(w))) {
				t.Fatalf("example %s: %s = %v, want %v", key, ex.Features.Names[i], g, w)
			}
		}
	}
	if len(exs) != trading {
		t.Errorf("%d examples, want one per complete trading day (%d)", len(exs), trading)
	}
	if got := counter(t, r.proc.m.events.WithLabelValues("added")); got != float64(len(sent)) {
		t.Errorf("events added = %v, want %d", got, len(sent))
	}
	if got := counter(t, r.proc.m.stores); got != 1 {
		t.Errorf("table stores = %v, want 1", got)
	}
}

func mustFact(t *testing.T, s *topics.Sale) feat.Fact {
	t.Helper()
	f, err := feat.FactOf(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func ptr[T any](v T) *T { return &v }

func TestDuplicateChangesNothing(t *testing.T) {
	r := newRig(t)
	r.storeInfo(3)
	r.history(3, day0-100, day0)
	r.drainExamples()
	writes := r.drain(r.table)
	if writes == 0 {
		t.Fatal("no table writes observed")
	}
	r.consume(sale(3, day0-5, salesOf(day0-5)))     // in the ring
	r.consume(sale(3, day0-99, salesOf(day0-99)))   // folded
	r.consume(sale(3, day0-300, salesOf(day0-300))) // new, folded straight in
	if n := len(r.drainExamples()); n == 0 {
		t.Errorf("a new old day re-emitted no example")
	}
	r.drain(r.table)
	before := encodedWithoutOffset(t, r.state(3))
	r.consume(sale(3, day0-300, salesOf(day0-300)))
	r.consume(sale(3, day0-2, salesOf(day0-2)))
	if n := len(r.drainExamples()); n != 0 {
		t.Errorf("duplicates emitted %d examples", n)
	}
	if n := r.drain(r.table); n != 0 {
		t.Errorf("duplicates wrote the table %d times", n)
	}
	if !bytes.Equal(encodedWithoutOffset(t, r.state(3)), before) {
		t.Errorf("duplicates changed the state")
	}
	if got := counter(t, r.proc.m.events.WithLabelValues("duplicate")); got != 4 {
		t.Errorf("duplicate events = %v, want 4", got)
	}
}

// TestRedeliveryRedoesEffects: a duplicate whose offset is not after the
// one that last changed the state is a redelivery after a crash (local
// storage ahead of the committed offset): it rewrites the table and
// re-emits its example.
func TestRedeliveryRedoesEffects(t *testing.T) {
	r := newRig(t)
	r.storeInfo(5)
	r.history(5, day0-100, day0)
	s := r.storedBeforeCrash(5)
	r.consume(sale(5, day0, salesOf(day0)))
	exs := r.drainExamples()
	// The example the day completed on its first delivery: the one of the
	// day a week before it (whether that emission reached the topic before
	// the crash is not known).
	want := 0
	for d := day0 - feat.AheadDays; d <= day0-feat.AheadDays; d++ {
		if f, _ := s.Fact(d); !f.Trading() {
			continue
		}
		want++
		if _, ok := exs[topics.ExampleKey(5, d)]; !ok {
			t.Errorf("redelivery did not re-emit the example of %s", d)
		}
	}
	if want == 0 {
		t.Fatalf("%s is not a trading day: nothing to re-emit", day0-feat.AheadDays)
	}
	if len(exs) != want {
		t.Errorf("redelivery emitted %v, want the example of %s", keys(exs), day0-feat.AheadDays)
	}
	if n := r.drain(r.table); n != 1 {
		t.Errorf("redelivery wrote the table %d times, want 1", n)
	}
	if got := counter(t, r.proc.m.events.WithLabelValues("redelivered")); got != 1 {
		t.Errorf("redelivered = %v", got)
	}
}

// TestRedeliveryAfterALongGapReemitsWhatItCompleted: a day after a gap
// longer than the ring completes the week before the gap and pushes it out
// of the ring. Redelivered after a crash that kept the state but maybe not
// the examples, it re-emits those examples, carried by the state.
func TestRedeliveryAfterALongGapReemitsWhatItCompleted(t *testing.T) {
	r := newRig(t)
	r.storeInfo(5)
	r.history(5, day0-100, day0)
	r.drainExamples()
	x := day0 + feat.RingDays + 40
	r.consume(sale(5, x, salesOf(x)))
	first := r.drainExamples()
	if len(first) < 3 {
		t.Fatalf("the gap completed %v, want the week before it", keys(first))
	}
	s := r.storedBeforeCrash(5) // the state was stored; the examples may not have been
	for k, ex := range first {
		if _, held := s.Fact(ex.Date); held {
			t.Fatalf("%s is still in the ring", k)
		}
	}
	r.consume(sale(5, x, salesOf(x)))
	again := r.drainExamples()
	for k, want := range first {
		got, ok := again[k]
		if !ok {
			t.Errorf("redelivery did not re-emit %s", k)
			continue
		}
		if g, w := mustJSON(t, got), mustJSON(t, want); !bytes.Equal(g, w) {
			t.Errorf("redelivery re-emitted %s as %s, want %s", k, g, w)
		}
	}
	// A redelivery of another day re-emits none of them.
	r.consume(sale(5, x, salesOf(x)))
	r.drainExamples()
	r.consume(sale(5, x+1, salesOf(x+1)))
	r.storedBeforeCrash(5)
	r.consume(sale(5, x+1, salesOf(x+1)))
	for k := range r.drainExamples() {
		if _, ok := first[k]; ok {
			t.Errorf("redelivery of the next day re-emitted %s", k)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keys(m map[string]*topics.TrainingExample) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestLateDayReemitsAffectedExamples(t *testing.T) {
	r := newRig(t)
	r.storeInfo(9)
	late := day0 - 30
	var sent []*topics.Sale
	for d := day0 - 120; d <= day0; d++ {
		if d == late {
			continue
		}
		s := sale(9, d, salesOf(d))
		sent = append(sent, s)
		r.consume(s)
	}
	r.drainExamples()
	s := sale(9, late, 9999)
	sent = append(sent, s)
	r.consume(s)
	exs := r.drainExamples()
	want := pureState(sent).AffectedDays(9, late, feat.Change{Outcome: feat.Added}, nil)
	if len(want) < 5 {
		t.Fatalf("only %d affected days", len(want))
	}
	for _, d := range want {
		if _, ok := exs[topics.ExampleKey(9, d)]; !ok {
			t.Errorf("example of %s not re-emitted", d)
		}
		if (d < late-feat.AheadDays || d > late+feat.BackDays) && feat.ExampleAsOf(9, d) <= late {
			t.Errorf("day %s re-emitted but it neither reads %s's inputs nor has an as-of day after it", d, late)
		}
	}
	if len(exs) != len(want) {
		t.Errorf("%d examples re-emitted, want %d", len(exs), len(want))
	}
}

func TestCorrectionToClosedWithdrawsTheExample(t *testing.T) {
	r := newRig(t)
	r.storeInfo(4)
	for d := day0 - 100; d <= day0; d++ {
		r.consume(sale(4, d, salesOf(d)))
	}
	d := day0 - 1
	if salesOf(d) == 0 {
		d--
	}
	r.drainExamples()
	r.consume(sale(4, d, 0))
	exs := r.drainExamples()
	if v, ok := exs[topics.ExampleKey(4, d)]; !ok || v != nil {
		t.Errorf("no tombstone for %s: %v", d, v)
	}
	if got := counter(t, r.proc.m.events.WithLabelValues("corrected")); got != 1 {
		t.Errorf("corrected = %v", got)
	}
	if got := counter(t, r.proc.m.examples.WithLabelValues("tombstone")); got != 1 {
		t.Errorf("tombstones = %v", got)
	}
}

func TestInvalidEventsGoToTheDLQ(t *testing.T) {
	r := newRig(t)
	r.storeInfo(1)
	good := func() *topics.Sale { return sale(1, day0, 5000) }
	js := func(s *topics.Sale) []byte { b, _ := json.Marshal(s); return b }
	cases := []struct {
		name, key   string
		payload     []byte
		reason      string
		wantField   string
		wantInError string
	}{
		{"not JSON", "1", []byte("{nope"), "decode", "", "decode sale"},
		{"empty value", "1", nil, "decode", "", "decode sale"},
		{"bad promo", "1", js(func() *topics.Sale { s := good(); s.Promo = 2; return s }()), "invalid", "promo", "promo 2"},
		{"weekday mismatch", "1", js(func() *topics.Sale { s := good(); s.DayOfWeek = s.DayOfWeek%7 + 1; return s }()), "invalid", "day_of_week", "does not match"},
		{"closed with sales", "1", js(func() *topics.Sale { s := good(); s.Open = 0; return s }()), "invalid", "sales", "closed day"},
		{"unknown store (held)", "2", js(func() *topics.Sale { s := good(); s.Store = 2; return s }()), "", "", ""},
		{"store out of range", "0", js(func() *topics.Sale { s := good(); s.Store = 0; return s }()), "invalid", "store", "out of range"},
		{"key is not the store", "1", js(func() *topics.Sale { s := good(); s.Store = 1; return s }()), "", "", ""},
		{"wrong key", "11", js(good()), "key", "key", "not the sale's store key"},
	}
	for _, c := range cases {
		r.tt.Consume(string(r.n.Sales), c.key, c.payload)
		_, v, ok := r.dlq.Next()
		if c.reason == "" {
			if ok {
				t.Errorf("%s: valid event went to the DLQ: %+v", c.name, v)
			}
			continue
		}
		if !ok {
			t.Errorf("%s: no dead letter", c.name)
			continue
		}
		dl := v.(*topics.DeadLetter)
		if !strings.Contains(dl.Reason, c.wantInError) || dl.Stage != Stage || dl.Source != string(r.n.Sales) || dl.Payload != string(c.payload) || dl.Key != c.key {
			t.Errorf("%s: dead letter %+v", c.name, dl)
		}
		if c.wantField != "" && (len(dl.Fields) == 0 || dl.Fields[0] != c.wantField) {
			t.Errorf("%s: fields %v, want %s", c.name, dl.Fields, c.wantField)
		}
	}
	for reason, want := range map[string]float64{"decode": 2, "invalid": 4, "unknown_store": 0, "key": 1} {
		if got := counter(t, r.proc.m.rejected.WithLabelValues(reason)); got != want {
			t.Errorf("rejected{%s} = %v, want %v", reason, got, want)
		}
	}
	// The processor kept running: the valid event was applied.
	if l, ok := r.state(1).Latest(); !ok || l != day0 {
		t.Errorf("latest = %s, %v after the bad events", l, ok)
	}
}

func TestSnapshotRequests(t *testing.T) {
	r := newRig(t)
	r.storeInfo(8)
	for d := day0 - 150; d <= day0; d++ {
		r.consume(sale(8, d, salesOf(d)))
	}
	before := encodedWithoutOffset(t, r.state(8))
	ask := func(key string, req topics.FeatureSnapshotRequest) *topics.FeatureSnapshot {
		b, _ := json.Marshal(req)
		r.tt.Consume(string(r.n.SnapshotRequests), key, b)
		k, v, ok := r.snaps.Next()
		if !ok {
			t.Fatalf("no snapshot for %+v", req)
		}
		if want := req.RequestID + "|" + key; k != want {
			t.Errorf("snapshot key %q, want %q", k, want)
		}
		return v.(*topics.FeatureSnapshot)
	}
	asOf := day0 - 42
	snap := ask("8", topics.FeatureSnapshotRequest{V: 1, RequestID: "req-1", Store: 8, AsOf: asOf, From: asOf + 1, To: day0})
	if snap.Error != "" || len(snap.Examples) < 30 {
		t.Fatalf("snapshot: error %q, %d examples", snap.Error, len(snap.Examples))
	}
	for _, ex := range snap.Examples {
		if ex.AsOf != asOf || ex.Horizon != int(ex.Date-asOf) || ex.Store != 8 {
			t.Fatalf("snapshot example %+v", ex)
		}
	}
	if !bytes.Equal(encodedWithoutOffset(t, r.state(8)), before) {
		t.Errorf("a snapshot request changed the state")
	}
	if s := ask("8", topics.FeatureSnapshotRequest{V: 1, RequestID: "req-2", Store: 8, AsOf: day0 - feat.RingDays, From: day0 - feat.RingDays + 1, To: day0 - feat.RingDays + 40}); !strings.Contains(s.Error, "earlier than") {
		t.Errorf("too early: error %q", s.Error)
	}
	if s := ask("77", topics.FeatureSnapshotRequest{V: 1, RequestID: "req-3", Store: 77, AsOf: asOf, From: asOf + 1, To: day0}); !strings.Contains(s.Error, "unknown store") {
		t.Errorf("unknown store: error %q", s.Error)
	}
	r.tt.Consume(string(r.n.SnapshotRequests), "8", []byte(`{"request_id":""}`))
	if _, v, ok := r.dlq.Next(); !ok || !strings.Contains(v.(*topics.DeadLetter).Reason, "request_id") {
		t.Errorf("bad request: dead letter %v, %v", v, ok)
	}
	if got := counter(t, r.proc.m.snapshots.WithLabelValues("error")); got != 2 {
		t.Errorf("snapshot errors = %v, want 2", got)
	}
}

func TestExampleCodecMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	var s feat.State
	for d := day0 - 200; d <= day0; d++ {
		f, _ := feat.FactOf(sale(2, d, salesOf(d)))
		s.Apply(f)
	}
	info := feat.NewInfo(&topics.StoreInfo{V: 1, Store: 2, StoreType: "b", Assortment: "c"})
	n := 0
	for d := day0 - 60; d <= day0; d++ {
		ex, ok, err := s.Example(&info, d)
		if err != nil || !ok {
			continue
		}
		n++
		for i, label := range []float64{ex.Label, 0, 1e15, 12.5, -3} {
			ex.Label = label
			// Values on both sides of the integer fast path.
			ex.Features.Values[feat.FHistoryDays] = []float64{999999, 1e6, -999999, -1e6, math.Copysign(0, -1)}[i]
			got, err := ExampleCodec{}.Encode(&ex)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(&ex)
			if !bytes.Equal(got, want) {
				t.Fatalf("codec:\n%s\nencoding/json:\n%s", got, want)
			}
			back, err := ExampleCodec{}.Decode(got)
			if err != nil {
				t.Fatal(err)
			}
			if b := back.(*topics.TrainingExample); b.Label != label || b.Date != ex.Date || len(b.Features.Values) != feat.NumFeatures {
				t.Fatalf("round trip: %+v", b)
			}
		}
	}
	if n == 0 {
		t.Fatal("no example to encode")
	}
	if b, err := (ExampleCodec{}).Encode((*topics.TrainingExample)(nil)); b != nil || err != nil {
		t.Errorf("nil example: %q, %v", b, err)
	}
}

func TestKeyHasherPutsExamplesOnTheStorePartition(t *testing.T) {
	t.Parallel()
	part := func(h func() interface {
		Write([]byte) (int, error)
		Sum32() uint32
	}, key string) uint32 {
		x := h()
		_, _ = x.Write([]byte(key))
		return x.Sum32() % topics.Partitions
	}
	mine := func() interface {
		Write([]byte) (int, error)
		Sum32() uint32
	} {
		return KeyHasher()
	}
	def := func() interface {
		Write([]byte) (int, error)
		Sum32() uint32
	} {
		return goka.DefaultHasher()()
	}
	for store := 1; store <= 1115; store++ {
		key := topics.StoreKey(store)
		if part(mine, key) != part(def, key) {
			t.Fatalf("store key %s hashes differently from goka's default", key)
		}
		if part(mine, topics.ExampleKey(store, day0)) != part(def, key) {
			t.Fatalf("example of store %d is not on the store's partition", store)
		}
	}
	h := KeyHasher()
	_, _ = h.Write([]byte("12|x"))
	h.Reset()
	_, _ = h.Write([]byte("34"))
	g := goka.DefaultHasher()()
	_, _ = g.Write([]byte("34"))
	if h.Sum32() != g.Sum32() {
		t.Errorf("Reset does not clear the prefix state")
	}
}

var _ = time.Second

// finalExamples returns the raw value each example key ends with (nil: a
// tombstone), as the compacted topic keeps it.
func (r *rig) finalExamples() map[string]string {
	out := map[string]string{}
	for {
		k, raw, ok := r.ex.NextRaw()
		if !ok {
			return out
		}
		out[k] = string(raw)
	}
}

func (r *rig) rawState(store int) []byte {
	r.t.Helper()
	raw, ok := r.tt.TableValue(r.n.StoreTable(), topics.StoreKey(store)).(rawState)
	if !ok {
		r.t.Fatalf("no table value for store %d", store)
	}
	return raw
}

// TestSalesBeforeStoreInfoAreHeld: sales that reach the processor before
// their store's info are held and folded in when it comes, giving the
// same table bytes and training examples as when the info came first,
// and no dead letter.
func TestSalesBeforeStoreInfoAreHeld(t *testing.T) {
	var sales []*topics.Sale
	for d := day0 - 130; d <= day0; d++ {
		sales = append(sales, sale(6, d, salesOf(d)))
	}
	sales = append(sales, sale(6, day0-3, 1234), sale(6, day0-3, 1234)) // a correction and its duplicate
	run := func(infoAt int) (*rig, []byte, map[string]string) {
		r := newRig(t)
		for i, s := range sales {
			if i == infoAt {
				r.storeInfo(6)
			}
			r.consume(s)
		}
		if infoAt >= len(sales) {
			r.storeInfo(6)
		}
		return r, r.rawState(6), r.finalExamples()
	}
	_, wantState, wantEx := run(0)
	if len(wantEx) < 100 {
		t.Fatalf("info first: %d examples", len(wantEx))
	}
	for _, at := range []int{1, 40, len(sales) - 1, len(sales)} {
		r, st, ex := run(at)
		if !bytes.Equal(st, wantState) {
			t.Errorf("info after %d sales: table bytes differ from info first", at)
		}
		if len(ex) != len(wantEx) {
			t.Errorf("info after %d sales: %d example keys, want %d", at, len(ex), len(wantEx))
		}
		for k, v := range wantEx {
			if ex[k] != v {
				t.Errorf("info after %d sales: example %s differs", at, k)
				break
			}
		}
		if n := r.drain(r.dlq); n != 0 {
			t.Errorf("info after %d sales: %d dead letters", at, n)
		}
		if got := counter(t, r.proc.m.events.WithLabelValues("released")); at > 0 && got == 0 {
			t.Errorf("info after %d sales: no held sale released", at)
		}
		var s feat.State
		if err := s.UnmarshalBinary(st); err != nil || len(s.Pending()) != 0 {
			t.Errorf("info after %d sales: %d sales still held (%v)", at, len(s.Pending()), err)
		}
	}
}

func TestInvalidStoreInfoGoesToItsDLQ(t *testing.T) {
	r := newRig(t)
	info := r.tt.NewQueueTracker(string(r.n.StoreInfoDLQ))
	r.consume(sale(4, day0, 5000))
	r.tt.Consume(string(r.n.StoreInfo), "4", []byte(`{"v":1,"store":5,"store_type":"a","assortment":"a"}`))
	r.tt.Consume(string(r.n.StoreInfo), "4", []byte(`{nope`))
	if n := r.drain(info); n != 2 {
		t.Errorf("%d store info dead letters, want 2 (wrong key, undecodable)", n)
	}
	if got := len(r.state(4).Pending()); got != 1 {
		t.Errorf("%d held sales, want 1: a bad store info releases nothing", got)
	}
	r.storeInfo(4)
	if got := len(r.state(4).Pending()); got != 0 {
		t.Errorf("%d held sales after a valid store info", got)
	}
	if l, ok := r.state(4).Latest(); !ok || l != day0 {
		t.Errorf("latest %s %v, want the held sale applied", l, ok)
	}
}

// TestFarFutureSaleGoesToTheDLQ: a sale years after its store's latest day
// is dead-lettered with its reason and changes neither the state nor the
// examples; late and out-of-order sales are applied as before.
func TestFarFutureSaleGoesToTheDLQ(t *testing.T) {
	r := newRigWith(t, feat.DefaultMaxDaysAhead)
	r.storeInfo(7)
	for d := day0 - 120; d <= day0; d++ {
		if d != day0-30 {
			r.consume(sale(7, d, salesOf(d)))
		}
	}
	r.drainExamples()
	before := r.rawState(7)
	far := topics.DateFromYMD(2030, 1, 1)
	r.consume(sale(7, far, 9999))
	_, v, ok := r.dlq.Next()
	if !ok {
		t.Fatal("no dead letter for the 2030 sale")
	}
	if dl := v.(*topics.DeadLetter); !strings.Contains(dl.Reason, "2030-01-01") || !strings.Contains(dl.Reason, "--max-days-ahead") || len(dl.Fields) == 0 || dl.Fields[0] != "date" {
		t.Errorf("dead letter %+v", dl)
	}
	if got := counter(t, r.proc.m.rejected.WithLabelValues("far_future")); got != 1 {
		t.Errorf("rejected{far_future} = %v", got)
	}
	if !bytes.Equal(r.rawState(7), before) {
		t.Errorf("the far-future sale changed the state")
	}
	if exs := r.drainExamples(); len(exs) != 0 {
		t.Errorf("the far-future sale emitted %d examples", len(exs))
	}
	// Late (a missing day) and the next day still count.
	r.consume(sale(7, day0-30, salesOf(day0-30)))
	r.consume(sale(7, day0+1, salesOf(day0+1)))
	if n := r.drain(r.dlq); n != 0 {
		t.Errorf("%d dead letters for late and next-day sales", n)
	}
	if l, _ := r.state(7).Latest(); l != day0+1 {
		t.Errorf("latest %s, want %s", l, day0+1)
	}
	if _, ok := r.state(7).Fact(day0 - 30); !ok {
		t.Errorf("the late day was not applied")
	}
}
