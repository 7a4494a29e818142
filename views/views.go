// Package views holds the read side over Kafka: typed, read-only facades
// over goka views of the store table (per-store features.State) and of
// store_info, and tails of compacted topics.
//
// StoreStates and StoreInfos each have Get (value, found, err), Run and
// Recovered; Views runs both, exports their metrics and is the
// forecasting.Tables the forecast API reads stores through (the
// forecasting core computes the feature vectors).
//
// Tail follows a topic from its oldest offset. ModelFeed tails the models
// topic into a model.Registry (which verifies each artifact and keeps the
// previous model when one is refused); ResultFeed tails train_results into
// a ResultTracker, the in-memory state of train requests.
//
// Decoded values are cached by their encoded bytes and shared between
// callers: treat every returned *features.State and *topics.StoreInfo as
// read-only.
//
// # Metrics
//
//	storecast_view_recovered{table}      1 once the view caught up with its topic
//	storecast_view_lag_messages{table}   messages behind the topic's high watermark
//	storecast_view_table_stores{table}   keys held
//	storecast_view_table_bytes{table}    encoded bytes held
//	storecast_model_events_total{outcome} model events loaded, refused, ignored (ModelFeed)
//	storecast_model_registry_diverged{name} 1 while the registry's champion is not the served version (RegistryWatch)
//
// This package may import topics, features, model and internal/platform.
package views

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/platform/logging"
	"github.com/storecast/storecast/internal/platform/metrics"
	"github.com/storecast/storecast/topics"
)

// Config configures the views.
type Config struct {
	Names topics.Names
	Kafka kafka.Config
	// StorageDir keeps the views' local copies in LevelDB under it, so a
	// restart reads only the topics' tails; empty keeps them in memory.
	StorageDir string
	// Clock derives the as-of day and the stale stores (zero: the
	// defaults, features.DefaultClock).
	Clock features.Clock
}

// options returns the goka view options: sarama configs from
// internal/platform/kafka, storage, and reconnecting on errors.
func (c Config) options(log *slog.Logger, sub string) []goka.ViewOption {
	sc := c.Kafka.Sarama()
	sc.Consumer.Return.Errors = true
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Fetch.Default = 4 << 20
	tm := goka.NewTopicManagerConfig()
	tm.Table.Replication, tm.Stream.Replication = 1, 1
	sb := storage.MemoryBuilder()
	if c.StorageDir != "" {
		sb = storage.DefaultBuilder(c.StorageDir + "/" + sub)
	}
	return []goka.ViewOption{
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(sc)),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(c.Kafka.Sarama(), tm)),
		goka.WithViewStorageBuilder(sb),
		goka.WithViewAutoReconnect(),
		goka.WithViewLogger(logging.Goka{L: log.With("component", "goka-view", "table", sub)}),
	}
}

// cache maps encoded bytes to a decoded value, so a value that did not
// change is decoded once. It forgets everything past max entries.
type cache[T any] struct {
	mu     sync.RWMutex
	m      map[string]T
	max    int
	decode func([]byte) (T, error)
}

func (c *cache[T]) get(data []byte) (T, error) {
	c.mu.RLock()
	v, ok := c.m[string(data)]
	c.mu.RUnlock()
	if ok {
		return v, nil
	}
	v, err := c.decode(data)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[string(data)] = v
	c.mu.Unlock()
	return v, nil
}

// cachingCodec is a goka codec whose Decode goes through a cache.
type cachingCodec[T any] struct {
	c      *cache[T]
	encode func(any) ([]byte, error)
}

func (c cachingCodec[T]) Encode(v any) ([]byte, error) { return c.encode(v) }
func (c cachingCodec[T]) Decode(b []byte) (any, error) { return c.c.get(b) }

// table is a typed goka view.
type table[T any] struct {
	v    *goka.View
	name string
}

func (t *table[T]) get(store int) (T, bool, error) {
	var zero T
	v, err := t.v.Get(topics.StoreKey(store))
	if err != nil {
		return zero, false, fmt.Errorf("view %s get store %d: %w", t.name, store, err)
	}
	if v == nil {
		return zero, false, nil
	}
	x, ok := v.(T)
	if !ok {
		return zero, false, fmt.Errorf("view %s get store %d: value is %T", t.name, store, v)
	}
	return x, true, nil
}

// Run runs the view until ctx is done.
func (t *table[T]) Run(ctx context.Context) error {
	if err := t.v.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("view %s: %w", t.name, err)
	}
	return nil
}

// Recovered reports whether the view caught up with its topic.
func (t *table[T]) Recovered() bool { return t.v.Recovered() }

// Stores returns the store ids the view holds, ascending.
func (t *table[T]) Stores() ([]int, error) {
	it, err := t.v.Iterator()
	if err != nil {
		return nil, fmt.Errorf("view %s iterate: %w", t.name, err)
	}
	defer it.Release()
	var out []int
	for it.Next() {
		if n, err := strconv.Atoi(it.Key()); err == nil {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out, it.Err()
}

// StoreStates is the view of the store table: one features.State per store.
type StoreStates struct {
	table[*features.State]
	clock features.Clock
}

// NewStoreStates builds the store table view. opts come after the
// production options (tests pass goka.WithViewTester).
func NewStoreStates(cfg Config, log *slog.Logger, opts ...goka.ViewOption) (*StoreStates, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := cachingCodec[*features.State]{
		c: &cache[*features.State]{m: map[string]*features.State{}, max: 1 << 14, decode: func(b []byte) (*features.State, error) {
			s := new(features.State)
			return s, s.UnmarshalBinary(b)
		}},
		encode: features.Codec{}.Encode,
	}
	name := cfg.Names.StoreTable()
	v, err := goka.NewView(cfg.Kafka.Brokers, name, c, append(cfg.options(log, "store-table"), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("store table view: %w", err)
	}
	return &StoreStates{table: table[*features.State]{v: v, name: string(name)}, clock: cfg.Clock.WithDefaults()}, nil
}

// Get returns the state of store; found is false when the table has none.
// The state is shared: do not modify it.
func (s *StoreStates) Get(store int) (*features.State, bool, error) { return s.get(store) }

// Latest returns the chain's as-of day: the latest day that at least
// the clock's quorum of the stores have reached (features.Clock.AsOf), so
// one store far ahead (a far-future event) or far behind does not move
// it.
func (s *StoreStates) Latest() (topics.Date, bool, error) {
	it, err := s.v.Iterator()
	if err != nil {
		return 0, false, fmt.Errorf("view %s iterate: %w", s.name, err)
	}
	defer it.Release()
	var latest []topics.Date
	for it.Next() {
		v, err := it.Value()
		if err != nil {
			return 0, false, fmt.Errorf("view %s value of %s: %w", s.name, it.Key(), err)
		}
		st, ok := v.(*features.State)
		if !ok || st == nil {
			continue
		}
		if l, ok := st.Latest(); ok {
			latest = append(latest, l)
		}
	}
	if err := it.Err(); err != nil {
		return 0, false, fmt.Errorf("view %s iterate: %w", s.name, err)
	}
	day, ok := s.clock.AsOf(latest)
	return day, ok, nil
}

// StoreInfo is a store_info value with its prepared features.Info.
type StoreInfo struct {
	*topics.StoreInfo
	Features features.Info
}

// StoreInfos is the view of store_info.
type StoreInfos struct{ table[*StoreInfo] }

// NewStoreInfos builds the store_info view.
func NewStoreInfos(cfg Config, log *slog.Logger, opts ...goka.ViewOption) (*StoreInfos, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := cachingCodec[*StoreInfo]{
		c: &cache[*StoreInfo]{m: map[string]*StoreInfo{}, max: 1 << 14, decode: func(b []byte) (*StoreInfo, error) {
			v, err := topics.StoreInfoCodec{}.Decode(b)
			if err != nil {
				return nil, err
			}
			si := v.(*topics.StoreInfo)
			return &StoreInfo{StoreInfo: si, Features: features.NewInfo(si)}, nil
		}},
		encode: func(v any) ([]byte, error) {
			if si, ok := v.(*StoreInfo); ok {
				v = si.StoreInfo
			}
			return topics.StoreInfoCodec{}.Encode(v)
		},
	}
	v, err := goka.NewView(cfg.Kafka.Brokers, goka.Table(cfg.Names.StoreInfo), c, append(cfg.options(log, "store-info"), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("store_info view: %w", err)
	}
	return &StoreInfos{table[*StoreInfo]{v: v, name: string(cfg.Names.StoreInfo)}}, nil
}

// Get returns the info of store; found is false when store_info has none.
// The value is shared: do not modify it.
func (s *StoreInfos) Get(store int) (*StoreInfo, bool, error) { return s.get(store) }

// Views runs the store table and store_info views together.
type Views struct {
	States *StoreStates
	Infos  *StoreInfos

	// recovered latches the first time both views are recovered.
	recovered atomic.Bool
}

// New builds both views and registers their metrics on reg.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Views, error) {
	states, err := NewStoreStates(cfg, log)
	if err != nil {
		return nil, err
	}
	infos, err := NewStoreInfos(cfg, log)
	if err != nil {
		return nil, err
	}
	v := &Views{States: states, Infos: infos}
	if reg != nil {
		if err := reg.Register(v.Collector()); err != nil {
			return nil, fmt.Errorf("views metrics: %w", err)
		}
	}
	return v, nil
}

// Run runs both views until ctx is done or one fails.
func (v *Views) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- v.States.Run(ctx) }()
	go func() { errc <- v.Infos.Run(ctx) }()
	err := <-errc
	cancel()
	return errors.Join(err, <-errc)
}

// Recovered reports whether both views caught up with their topics.
//
// It latches: once both views have recovered it stays true, because a goka
// view that reconnects after a broker hiccup reports "recovering" again
// while its local copy still holds every store; readers keep being served
// from that copy, at most seconds behind, instead of failing.
func (v *Views) Recovered() bool {
	if v.recovered.Load() {
		return true
	}
	if v.States.Recovered() && v.Infos.Recovered() {
		v.recovered.Store(true)
		return true
	}
	return false
}

// WaitRecovered waits until both views are recovered or ctx is done.
func (v *Views) WaitRecovered(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !v.Recovered() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// StoreState returns the state and info of store (forecasting.Tables);
// found is false when store_info or the store table does not hold it. Both
// are shared: do not modify them.
func (v *Views) StoreState(store int) (*features.State, *features.Info, bool, error) {
	si, ok, err := v.Infos.Get(store)
	if err != nil || !ok {
		return nil, nil, false, err
	}
	st, ok, err := v.States.Get(store)
	if err != nil || !ok {
		return nil, nil, false, err
	}
	return st, &si.Features, true, nil
}

// StoreIDs returns the stores that can be forecast, ascending: those
// with both a state and an info whose latest day is not stale against the
// as-of day (features.Clock.Stale).
func (v *Views) StoreIDs() ([]int, error) {
	ids, err := v.States.Stores()
	if err != nil {
		return nil, err
	}
	asOf, haveAsOf, err := v.States.Latest()
	if err != nil {
		return nil, err
	}
	out := ids[:0]
	for _, id := range ids {
		_, ok, err := v.Infos.Get(id)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		st, ok, err := v.States.Get(id)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if _, has := st.Latest(); has && (!haveAsOf || v.States.excluded(st, asOf) == "") {
			out = append(out, id)
		}
	}
	return out, nil
}

// AsOf is how the chain's as-of day was derived.
type AsOf struct {
	Day topics.Date
	// Rule says how Day was derived (features.Clock.Rule).
	Rule string
	// Stores is how many stores have facts.
	Stores int
	// Excluded are the stores too far behind Day to be forecast.
	Excluded []ExcludedStore
}

// ExcludedStore is a store left out of forecasts, and why.
type ExcludedStore struct {
	Store  int
	Latest topics.Date
	Reason string
}

// excluded returns why a store with state st cannot be forecast as of
// asOf, or "": its latest day is stale (features.Clock.Stale), or its
// facts run so far past asOf that the state no longer holds the days
// before it.
func (s *StoreStates) excluded(st *features.State, asOf topics.Date) string {
	l, _ := st.Latest()
	switch {
	case s.clock.Stale(l, asOf):
		return fmt.Sprintf("no sales since %s, %d days before the as-of day (more than %d)", l, asOf-l, s.clock.StaleDays)
	case st.EarliestAsOf() > asOf:
		return fmt.Sprintf("its sales run to %s, so far past the as-of day that its state no longer holds the days before it", l)
	}
	return ""
}

// AsOfReport returns the as-of day, the stores it was derived from and
// the stores excluded; ok is false while the table is empty.
func (v *Views) AsOfReport() (rep AsOf, ok bool, err error) {
	day, ok, err := v.States.Latest()
	if err != nil || !ok {
		return rep, ok, err
	}
	rep.Day, rep.Rule = day, v.States.clock.Rule()
	ids, err := v.States.Stores()
	if err != nil {
		return rep, false, err
	}
	for _, id := range ids {
		st, found, err := v.States.Get(id)
		if err != nil {
			return rep, false, err
		}
		l, has := st.Latest()
		if !found || !has {
			continue
		}
		rep.Stores++
		if why := v.States.excluded(st, day); why != "" {
			rep.Excluded = append(rep.Excluded, ExcludedStore{Store: id, Latest: l, Reason: why})
		}
	}
	return rep, true, nil
}

// LatestDay returns the chain's as-of day (StoreStates.Latest).
func (v *Views) LatestDay() (topics.Date, bool, error) { return v.States.Latest() }

// collector exports the views' metrics at scrape time.
type collector struct {
	v                            *Views
	recovered, lag, keys, nbytes *prometheus.Desc
}

// Collector returns the views' Prometheus collector.
func (v *Views) Collector() prometheus.Collector {
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, "view", n) }
	l := []string{"table"}
	return &collector{v: v,
		recovered: prometheus.NewDesc(name("recovered"), "1 once the view caught up with its topic.", l, nil),
		lag:       prometheus.NewDesc(name("lag_messages"), "Messages the view is behind its topic's high watermark.", l, nil),
		keys:      prometheus.NewDesc(name("table_stores"), "Keys the view holds.", l, nil),
		nbytes:    prometheus.NewDesc(name("table_bytes"), "Encoded bytes the view holds.", l, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.recovered
	ch <- c.lag
	ch <- c.keys
	ch <- c.nbytes
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, t := range []struct {
		name string
		v    *goka.View
	}{{c.v.States.name, c.v.States.v}, {c.v.Infos.name, c.v.Infos.v}} {
		rec := 0.0
		if t.v.Recovered() {
			rec = 1
		}
		ch <- prometheus.MustNewConstMetric(c.recovered, prometheus.GaugeValue, rec, t.name)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var lag int64
		if st := t.v.Stats(ctx); st != nil {
			for _, p := range st.Partitions {
				if p != nil && p.Input != nil {
					lag += p.Input.OffsetLag
				}
			}
		}
		cancel()
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(lag), t.name)
		if it, err := t.v.Iterator(); err == nil {
			var n, b int
			for it.Next() {
				n++
				b += len(it.Key())
				if raw, ok := rawValue(it); ok {
					b += raw
				}
			}
			it.Release()
			ch <- prometheus.MustNewConstMetric(c.keys, prometheus.GaugeValue, float64(n), t.name)
			ch <- prometheus.MustNewConstMetric(c.nbytes, prometheus.GaugeValue, float64(b), t.name)
		}
	}
}

// rawValue returns the encoded size of the iterator's value.
func rawValue(it goka.Iterator) (int, bool) {
	v, err := it.Value()
	if err != nil || v == nil {
		return 0, false
	}
	switch x := v.(type) {
	case *features.State:
		b, err := x.MarshalBinary()
		return len(b), err == nil
	case *StoreInfo:
		b, err := topics.StoreInfoCodec{}.Encode(x.StoreInfo)
		return len(b), err == nil
	}
	return 0, false
}
