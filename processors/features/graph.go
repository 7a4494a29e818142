package features

import (
	"bytes"
	"encoding/json"
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
// sale events and feature snapshot requests (keyed by store), joins
// store_info, persists the per-store state, and emits training examples,
// feature snapshots and dead letters. Production (New) and goka's tester
// use the same graph. m must come from NewMetrics; log may be nil.
func DefineGroup(n topics.Names, m *Metrics, log *slog.Logger) *goka.GroupGraph {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{n: n, m: m, log: log, now: time.Now, cache: &stateCache{m: map[string]cachedState{}},
		added: m.events.WithLabelValues("added"), corrected: m.events.WithLabelValues("corrected"),
		duplicate: m.events.WithLabelValues("duplicate"), redelivered: m.events.WithLabelValues("redelivered"),
		rejectedEv: m.events.WithLabelValues("rejected"),
		exampleC:   m.examples.WithLabelValues("example"), tombstoneC: m.examples.WithLabelValues("tombstone"),
	}
	return goka.DefineGroup(n.FeaturesGroup,
		goka.Input(n.Sales, new(codec.Bytes), h.onSale),
		goka.Input(n.SnapshotRequests, new(codec.Bytes), h.onSnapshotRequest),
		goka.Join(n.StoreInfo, newInfoCodec()),
		goka.Persist(stateCodec{}),
		goka.Output(n.TrainingExamples, ExampleCodec{}),
		goka.Output(n.Snapshots, topics.SnapshotCodec{}),
		goka.Output(n.SalesDLQ, topics.DeadLetterCodec{}),
	)
}

// scratch holds encoding buffers reused across events.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

type handler struct {
	n     topics.Names
	m     *Metrics
	log   *slog.Logger
	now   func() time.Time
	cache *stateCache

	added, corrected, duplicate, redelivered, rejectedEv prometheus.Counter
	exampleC, tombstoneC                                 prometheus.Counter
}

// onSale folds one sale into its store's state and emits the training
// examples the change affects. Invalid events go to the dead-letter topic.
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
	if err := decodeSale(raw, &sale); err != nil {
		h.reject(ctx, raw, "decode", fmt.Errorf("decode sale: %w", err))
		return
	}
	if want := topics.StoreKey(sale.Store); ctx.Key() != want {
		h.reject(ctx, raw, "key", &topics.FieldError{Field: "key", Reason: fmt.Sprintf("key %q is not the sale's store key %q", ctx.Key(), want)})
		return
	}
	// store_info is joined: goka recovers it before the first sale, and a
	// sale of a store it does not hold (yet) goes to the DLQ, to be replayed
	// once store_info has the store.
	si, _ := ctx.Join(h.n.StoreInfo).(*storeInfo)
	known := func(store int) bool { return si != nil && si.err == nil && si.raw.Store == store }
	if err := sale.Validate(known); err != nil {
		reason := "invalid"
		if sale.Store >= 1 && sale.Store <= topics.MaxStoreID && !known(sale.Store) {
			// Validate's message names the unknown store; it does not wrap
			// topics.ErrUnknownStore, so classify here.
			reason = "unknown_store"
		}
		h.reject(ctx, raw, reason, err)
		return
	}
	f, err := feat.FactOf(&sale)
	if err != nil {
		h.reject(ctx, raw, "invalid", err)
		return
	}

	s := h.state(ctx)
	ch := s.Apply(f)
	key := ctx.Key()
	off := ctx.Offset() + 1
	counter := h.added
	switch {
	case ch.Outcome == feat.Duplicate && off > s.InputOffset():
		h.duplicate.Inc()
		return
	case ch.Outcome == feat.Duplicate:
		counter = h.redelivered
	case ch.Outcome == feat.Corrected:
		counter = h.corrected
		s.SetInputOffset(off)
	default:
		s.SetInputOffset(off)
	}
	sb := scratch.Get().(*[]byte)
	enc, err := s.AppendBinary((*sb)[:0])
	b := bytes.Clone(enc) // exact size, not zeroed first; the table and the producer keep it
	*sb = enc
	scratch.Put(sb)
	if err != nil {
		h.cache.drop(key)
		ctx.Fail(fmt.Errorf("encode state of store %d: %w", sale.Store, err))
	}
	ctx.SetValue(encodedState(b))
	h.cache.put(key, b, s)
	h.m.stateWritten(key, len(b))

	if !f.Trading() && (ch.WasTrading || counter == h.redelivered) {
		// The day lost its example (or may have, before a crash): withdraw it.
		ctx.Emit(h.n.TrainingExamples, topics.ExampleKey(sale.Store, f.Date), nil)
		h.tombstoneC.Inc()
	}
	var days [8]topics.Date
	for _, d := range s.AffectedDays(sale.Store, f.Date, days[:0]) {
		ex, ok, err := s.Example(&si.info, d)
		if err != nil {
			ctx.Fail(fmt.Errorf("example of store %d day %s: %w", sale.Store, d, err))
		}
		if ok {
			ctx.Emit(h.n.TrainingExamples, topics.ExampleKey(sale.Store, d), &ex)
			h.exampleC.Inc()
		}
	}
	counter.Inc()
}

// onSnapshotRequest answers a feature snapshot request from the store's
// state, without changing it.
func (h *handler) onSnapshotRequest(ctx goka.Context, msg any) {
	raw, _ := msg.([]byte)
	var req topics.FeatureSnapshotRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		h.reject(ctx, raw, "snapshot_request", fmt.Errorf("decode snapshot request: %w", err))
		return
	}
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
	if si, _ := ctx.Join(h.n.StoreInfo).(*storeInfo); si == nil || si.err != nil {
		snap = &topics.FeatureSnapshot{V: topics.FeatureSnapshotRequestVersion, RequestID: req.RequestID, Store: req.Store,
			AsOf: req.AsOf, Error: fmt.Sprintf("store %d: %v", req.Store, topics.ErrUnknownStore), Examples: []topics.TrainingExample{}}
	} else {
		snap = h.state(ctx).Snapshot(&si.info, &req)
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
