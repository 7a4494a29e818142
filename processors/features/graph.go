package features

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/prometheus/client_golang/prometheus"

	feat "github.com/storecast/storecast/features"
	"github.com/storecast/storecast/topics"
)

// Stage names the processor in dead letters.
const Stage = "features"

// DefineGroup returns the features group graph for names n: inputs
// sale events, store info and feature snapshot requests (keyed by store),
// persists the per-store state (with the store's info), and emits training
// examples, feature snapshots and dead letters. Production (New) and goka's tester
// use the same graph. m must come from NewMetrics; log may be nil.
//
// A sale dated more than maxAhead days after its store's clock
// (features.State.FarAhead; 0 disables the check) goes to the dead-letter
// topic with reason far_future: one implausible event must not move a
// store's ring (and the forecasts' as-of day) years ahead.
func DefineGroup(n topics.Names, maxAhead int, m *Metrics, log *slog.Logger) *goka.GroupGraph {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{n: n, maxAhead: maxAhead, m: m, log: log, now: time.Now, cache: &stateCache{m: map[string]cachedState{}}, infos: newInfoCodec(),
		added: m.events.WithLabelValues("added"), corrected: m.events.WithLabelValues("corrected"),
		duplicate: m.events.WithLabelValues("duplicate"), redelivered: m.events.WithLabelValues("redelivered"),
		rejectedEv: m.events.WithLabelValues("rejected"), heldC: m.events.WithLabelValues("held"),
		releasedC: m.events.WithLabelValues("released"),
		exampleC:  m.examples.WithLabelValues("example"), tombstoneC: m.examples.WithLabelValues("tombstone"),
	}
	return goka.DefineGroup(n.FeaturesGroup,
		goka.Input(n.Sales, new(codec.Bytes), h.onSale),
		goka.Input(n.SnapshotRequests, new(codec.Bytes), h.onSnapshotRequest),
		goka.Input(goka.Stream(n.StoreInfo), new(codec.Bytes), h.onStoreInfo),
		goka.Persist(stateCodec{}),
		goka.Output(n.TrainingExamples, ExampleCodec{}),
		goka.Output(n.Snapshots, topics.SnapshotCodec{}),
		goka.Output(n.SalesDLQ, topics.DeadLetterCodec{}),
		goka.Output(n.StoreInfoDLQ, topics.DeadLetterCodec{}),
	)
}

// scratch holds encoding buffers reused across events.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

type handler struct {
	n        topics.Names
	maxAhead int
	m        *Metrics
	log      *slog.Logger
	now      func() time.Time
	cache    *stateCache
	infos    *infoCodec

	added, corrected, duplicate, redelivered, rejectedEv prometheus.Counter
	heldC, releasedC                                     prometheus.Counter
	exampleC, tombstoneC                                 prometheus.Counter
}

// onSale folds one sale into its store's state and emits the training
// examples the change affects. Invalid events go to the dead-letter topic.
//
// A sale whose store's info has not arrived yet is held in the state,
// unapplied, and folded in when the info comes (onStoreInfo), in the
// order the sales came: the state and the examples are the same whatever
// the interleaving of sales and store info.
//
// A duplicate (the state already holds the fact) changes nothing and emits
// nothing, unless its offset is not after the one that last changed the
// state: then it is a redelivery after a crash, whose table write and
// examples may never have reached Kafka, and both are done again.
func (h *handler) onSale(ctx goka.Context, msg any) {
	start := time.Now()
	defer func() { h.m.latency.Observe(time.Since(start).Seconds()) }()

	raw, _ := msg.([]byte)
	var sale topics.Sale
	if err := topics.DecodeSale(raw, &sale); err != nil {
		h.reject(ctx, raw, "decode", fmt.Errorf("decode sale: %w", err))
		return
	}
	if want := topics.StoreKey(sale.Store); ctx.Key() != want {
		h.reject(ctx, raw, "key", &topics.FieldError{Field: "key", Reason: fmt.Sprintf("key %q is not the sale's store key %q", ctx.Key(), want)})
		return
	}
	if err := sale.Validate(nil); err != nil {
		h.reject(ctx, raw, "invalid", err)
		return
	}
	f, err := feat.FactOf(&sale)
	if err != nil {
		h.reject(ctx, raw, "invalid", err)
		return
	}

	s := h.state(ctx)
	if clock, far := s.FarAhead(f.Date, h.maxAhead); far {
		h.reject(ctx, raw, "far_future", &topics.FieldError{Field: "date", Reason: fmt.Sprintf(
			"date %s is %d days after store %d's latest day %s (more than %d: --max-days-ahead)", f.Date, f.Date-clock, sale.Store, clock, h.maxAhead)})
		return
	}
	off := ctx.Offset() + 1
	si := h.info(s, sale.Store)
	if si == nil {
		h.hold(ctx, raw, s, f, off)
		return
	}
	if h.fold(ctx, s, si, f, off) {
		h.write(ctx, s)
	}
}

// hold keeps a sale of a store without info in the state (see onSale).
func (h *handler) hold(ctx goka.Context, raw []byte, s *feat.State, f feat.Fact, off int64) {
	o, ok := s.Hold(f)
	switch {
	case !ok:
		h.reject(ctx, raw, "unknown_store", &topics.FieldError{Field: "store", Err: topics.ErrUnknownStore,
			Reason: fmt.Sprintf("store %s is not in store_info and already holds %d sales waiting for it (unknown store)", ctx.Key(), feat.MaxPending)})
		return
	case o == feat.Duplicate && off > s.InputOffset():
		h.duplicate.Inc()
		return
	case o == feat.Duplicate:
		h.redelivered.Inc()
	default:
		s.SetInputOffset(off)
		h.heldC.Inc()
	}
	h.write(ctx, s)
}

// fold applies one fact to s and emits the examples it affects. off is 1 +
// the sale's offset, or 0 for a held fact folded in when the store info
// came (no redelivery check, the watermark stays). It reports whether s
// changed (or must be written again after a redelivery).
func (h *handler) fold(ctx goka.Context, s *feat.State, si *storeInfo, f feat.Fact, off int64) bool {
	var days [16]topics.Date
	var done [feat.AheadDays]topics.TrainingExample
	store := si.info.Store
	// A new latest day completes the examples of the days a week before it:
	// those it does not read are emitted before it is applied (a long gap
	// would drop them from the ring, and the state carries them instead).
	completed := h.emitExamples(ctx, s, &si.info, s.Completes(store, f.Date, days[:0]), done[:0])
	ch := s.Apply(f)
	if ch.Advanced {
		s.Carry(f.Date, completed)
	}
	counter := h.added
	switch {
	case ch.Outcome == feat.Duplicate && (off == 0 || off > s.InputOffset()):
		h.duplicate.Inc()
		return false
	case ch.Outcome == feat.Duplicate:
		counter = h.redelivered
		// The examples this day completed and pushed out of the ring on its
		// first delivery: whether they reached Kafka before the crash is
		// not known.
		for _, ex := range s.Carried(f.Date) {
			ctx.Emit(h.n.TrainingExamples, topics.ExampleKey(store, ex.Date), &ex)
			h.exampleC.Inc()
		}
	case ch.Outcome == feat.Corrected:
		counter = h.corrected
		if off > 0 {
			s.SetInputOffset(off)
		}
	case off > 0:
		s.SetInputOffset(off)
	}
	if !f.Trading() && (ch.WasTrading || counter == h.redelivered) {
		// The day lost its example (or may have, before a crash): withdraw it.
		ctx.Emit(h.n.TrainingExamples, topics.ExampleKey(store, f.Date), nil)
		h.tombstoneC.Inc()
	}
	h.emitExamples(ctx, s, &si.info, s.AffectedDays(store, f.Date, ch, days[:0]), nil)
	counter.Inc()
	return true
}

// emitExamples emits the training examples of days (features.State.Example)
// and returns them appended to dst when dst has room for them.
func (h *handler) emitExamples(ctx goka.Context, s *feat.State, in *feat.Info, days []topics.Date, dst []topics.TrainingExample) []topics.TrainingExample {
	for _, d := range days {
		ex, ok, err := s.Example(in, d)
		if err != nil {
			ctx.Fail(fmt.Errorf("example of store %d day %s: %w", in.Store, d, err))
		}
		if ok {
			ctx.Emit(h.n.TrainingExamples, topics.ExampleKey(in.Store, d), &ex)
			h.exampleC.Inc()
			if len(dst) < cap(dst) {
				dst = append(dst, ex)
			}
		}
	}
	return dst
}

// write stores s as the key's new table value.
func (h *handler) write(ctx goka.Context, s *feat.State) {
	key := ctx.Key()
	sb := scratch.Get().(*[]byte)
	enc, err := s.AppendBinary((*sb)[:0])
	b := bytes.Clone(enc) // exact size, not zeroed first; the table and the producer keep it
	*sb = enc
	scratch.Put(sb)
	if err != nil {
		h.cache.drop(key)
		ctx.Fail(fmt.Errorf("encode state of key %q: %w", key, err))
	}
	ctx.SetValue(encodedState(b))
	h.cache.put(key, b, s)
	h.m.stateWritten(key, len(b))
}

// info returns the store info the state keeps for store, or nil when it
// has none (or an invalid one, or one of another store).
func (h *handler) info(s *feat.State, store int) *storeInfo {
	b := s.StoreInfo()
	if b == nil {
		return nil
	}
	v, _ := h.infos.Decode(b) // never fails: a bad value carries its error
	si, _ := v.(*storeInfo)
	if si == nil || si.err != nil || si.raw.Store != store {
		return nil
	}
	return si
}

// onStoreInfo keeps a store's info in its state and folds in the sales
// held while it was missing, in the order they came. An invalid info goes
// to the store info dead-letter topic and leaves the state as it was; a
// tombstone forgets the info (later sales are held again).
func (h *handler) onStoreInfo(ctx goka.Context, msg any) {
	raw, _ := msg.([]byte)
	s := h.state(ctx)
	if raw == nil {
		if s.StoreInfo() != nil {
			s.SetStoreInfo(nil)
			h.write(ctx, s)
		}
		return
	}
	v, _ := h.infos.Decode(raw)
	si, _ := v.(*storeInfo)
	switch {
	case si == nil || si.err != nil:
		err := errors.New("undecodable")
		if si != nil {
			err = si.err
		}
		h.rejectInfo(ctx, raw, fmt.Errorf("store info: %w", err))
		return
	case topics.StoreKey(si.raw.Store) != ctx.Key():
		h.rejectInfo(ctx, raw, &topics.FieldError{Field: "key", Reason: fmt.Sprintf("key %q is not the store info's store key %q", ctx.Key(), topics.StoreKey(si.raw.Store))})
		return
	case bytes.Equal(s.StoreInfo(), raw) && len(s.Pending()) == 0:
		return
	}
	s.SetStoreInfo(bytes.Clone(raw))
	for _, f := range s.TakePending() {
		h.fold(ctx, s, si, f, 0)
		h.releasedC.Inc()
	}
	h.write(ctx, s)
}

// rejectInfo sends a store info record to its dead-letter topic.
func (h *handler) rejectInfo(ctx goka.Context, raw []byte, err error) {
	dl := topics.NewDeadLetter(Stage, string(ctx.Topic()), raw, err, h.now())
	dl.Partition, dl.Offset, dl.Key = ctx.Partition(), ctx.Offset(), ctx.Key()
	ctx.Emit(h.n.StoreInfoDLQ, ctx.Key(), dl)
	h.m.rejected.WithLabelValues("store_info").Inc()
	h.log.Debug("store info rejected", "partition", ctx.Partition(), "offset", ctx.Offset(), "key", ctx.Key(), "err", err)
}

// onSnapshotRequest answers a feature snapshot request from the store's
// state, without changing it.
func (h *handler) onSnapshotRequest(ctx goka.Context, msg any) {
	raw, _ := msg.([]byte)
	v, err := topics.SnapshotRequestCodec{}.Decode(raw)
	if err != nil {
		h.reject(ctx, raw, "snapshot_request", fmt.Errorf("decode snapshot request: %w", err))
		return
	}
	req := *v.(*topics.FeatureSnapshotRequest)
	var errs []error
	if req.RequestID == "" {
		errs = append(errs, &topics.FieldError{Field: "request_id", Reason: "is empty"})
	}
	if want := topics.StoreKey(req.Store); ctx.Key() != want {
		errs = append(errs, &topics.FieldError{Field: "key", Reason: fmt.Sprintf("key %q is not the request's store key %q", ctx.Key(), want)})
	}
	if err := errors.Join(errs...); err != nil {
		h.reject(ctx, raw, "snapshot_request", err)
		return
	}
	var snap *topics.FeatureSnapshot
	s := h.state(ctx)
	if si := h.info(s, req.Store); si == nil {
		snap = &topics.FeatureSnapshot{V: topics.FeatureSnapshotRequestVersion, RequestID: req.RequestID, Store: req.Store,
			AsOf: req.AsOf, Error: fmt.Sprintf("store %d: %v", req.Store, topics.ErrUnknownStore), Examples: []topics.TrainingExample{}}
	} else {
		snap = s.Snapshot(&si.info, &req)
	}
	ctx.Emit(h.n.Snapshots, req.RequestID+"|"+ctx.Key(), snap)
	outcome := "ok"
	if snap.Error != "" {
		outcome = "error"
	}
	h.m.snapshots.WithLabelValues(outcome).Inc()
}

// state returns the store's state from the group table (decoded, or from
// the cache when the table still holds the bytes it was encoded to), or
// an empty one.
func (h *handler) state(ctx goka.Context) *feat.State {
	raw, _ := ctx.Value().(rawState)
	if raw == nil {
		return new(feat.State)
	}
	s, err := h.cache.get(ctx.Key(), raw)
	if err != nil {
		ctx.Fail(fmt.Errorf("state of key %q: %w", ctx.Key(), err))
	}
	return s
}

// reject sends the record to the dead-letter topic with the reason.
func (h *handler) reject(ctx goka.Context, raw []byte, reason string, err error) {
	dl := topics.NewDeadLetter(Stage, string(ctx.Topic()), raw, err, h.now())
	dl.Partition, dl.Offset, dl.Key = ctx.Partition(), ctx.Offset(), ctx.Key()
	ctx.Emit(h.n.SalesDLQ, ctx.Key(), dl)
	h.m.rejected.WithLabelValues(reason).Inc()
	if ctx.Topic() == h.n.Sales {
		h.rejectedEv.Inc()
	}
	h.log.Debug("event rejected", "topic", ctx.Topic(), "partition", ctx.Partition(), "offset", ctx.Offset(), "key", ctx.Key(), "reason", reason, "err", err)
}
