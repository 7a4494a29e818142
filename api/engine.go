package api

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/storecast/storecast/topics"
)

// MaxHorizon is the furthest target day a forecast may ask for, in days
// after the as-of day.
const MaxHorizon = 48

// StoreReader reads per-store state from the store views. Implementations
// must be safe for concurrent use.
type StoreReader interface {
	// Store returns the feature source of store id; found is false when the
	// views hold no such store.
	Store(ctx context.Context, id int) (src StoreFeatures, found bool, err error)
	// StoreIDs returns every store the views hold, ascending.
	StoreIDs(ctx context.Context) ([]int, error)
	// LatestDay returns the latest day any store has a fact for; ok is
	// false while the table is empty.
	LatestDay(ctx context.Context) (day topics.Date, ok bool, err error)
	// Recovered reports whether the views have caught up with their topics.
	Recovered() bool
}

// StoreFeatures computes one store's feature vectors with the features
// package: the same code that computed the training examples.
type StoreFeatures interface {
	// Features appends to dst the feature vector of target as seen on asOf
	// (facts of days strictly before asOf) with the known inputs of target,
	// in the order of the Engine's feature names.
	Features(dst []float64, target, asOf topics.Date, in topics.KnownInputs) ([]float64, error)
}

// Model is a loaded, verified model. Predict must be safe for concurrent use.
type Model interface {
	// Meta describes the model; it returns the same pointer every call.
	Meta() *ModelMeta
	// Predict returns the predicted sales (in sales units, the target
	// transform undone) of one feature vector in the order of
	// Meta().FeatureNames.
	Predict(x []float64) (float64, error)
}

// ModelSource gives the models in service; it swaps models atomically.
type ModelSource interface {
	// Default returns the all-stores model, or nil when none is loaded.
	Default() Model
	// ForStore returns the model serving store: its own model when one was
	// promoted, else the all-stores model; nil when neither is loaded.
	ForStore(store int) Model
}

// ModelMeta describes a served model.
type ModelMeta struct {
	Name           string
	Version        string
	RunID          string
	Format         string
	Transform      string
	FeatureSchema  string
	FeatureNames   []string
	SHA256         string
	Metrics        map[string]float64
	TrainedThrough topics.Date
	LoadedAt       time.Time
}

// Row is one forecast: the inputs (Store, Date, In) and, after
// Engine.Forecast, the answer (Horizon, Sales).
type Row struct {
	Store   int
	Date    topics.Date
	In      topics.KnownInputs
	Horizon int
	Sales   float64
	// Model is the model that answered.
	Model *ModelMeta
}

// Stamp says how a batch of rows was forecast: the as-of day and the
// model of the batch (the all-stores model, or the first row's model when
// only per-store models exist). Rows whose Model differs say so.
type Stamp struct {
	AsOf  topics.Date
	Model *ModelMeta
}

// EngineConfig configures an Engine.
type EngineConfig struct {
	// FeatureNames is the order in which StoreFeatures produces features
	// (features.Names()).
	FeatureNames []string
	// AsOfTTL bounds how stale the cached as-of day may be (default 1s).
	AsOfTTL time.Duration
	// Workers bounds the goroutines of one batch (default GOMAXPROCS).
	Workers int
	// CacheSize bounds the prediction cache (default 262,144 predictions;
	// negative disables it). Only stores whose features are Cacheable are
	// cached.
	CacheSize int
}

// Engine computes forecasts in-process from the store views, the feature
// functions and the model in service.
type Engine struct {
	stores  StoreReader
	models  ModelSource
	metrics *Metrics
	cfg     EngineConfig

	asOfMu   sync.Mutex
	asOf     atomic.Int64 // topics.Date, valid when asOfAt != 0
	asOfAt   atomic.Int64 // unix nanos of the last refresh
	bufPool  sync.Pool    // *scratch
	rowBatch int
	cache    *predCache
}

// NewEngine returns an Engine. metrics may be nil.
func NewEngine(stores StoreReader, models ModelSource, m *Metrics, cfg EngineConfig) *Engine {
	if cfg.AsOfTTL <= 0 {
		cfg.AsOfTTL = time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	e := &Engine{stores: stores, models: models, metrics: m, cfg: cfg, rowBatch: 256}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 1 << 18
	}
	if cfg.CacheSize > 0 {
		e.cache = newPredCache(cfg.CacheSize)
	}
	e.bufPool.New = func() any {
		return &scratch{feat: make([]float64, 0, len(cfg.FeatureNames)+8)}
	}
	return e
}

// AsOf returns the as-of day of forecasts now: the latest day of the store
// table. Facts of days strictly before it are used; targets are AsOf+1 ..
// AsOf+MaxHorizon. It is cached: once known, a stale value is served while
// one background refresh per AsOfTTL reads the views again, so requests
// never wait for the scan.
func (e *Engine) AsOf(ctx context.Context) (topics.Date, error) {
	if at := e.asOfAt.Load(); at != 0 {
		if time.Now().UnixNano()-at >= int64(e.cfg.AsOfTTL) && e.asOfMu.TryLock() {
			go func() {
				defer e.asOfMu.Unlock()
				_, _ = e.refreshAsOf(context.WithoutCancel(ctx))
			}()
		}
		return topics.Date(e.asOf.Load()), nil
	}
	e.asOfMu.Lock()
	defer e.asOfMu.Unlock()
	if e.asOfAt.Load() != 0 {
		return topics.Date(e.asOf.Load()), nil
	}
	return e.refreshAsOf(ctx)
}

// refreshAsOf reads the latest day from the views; call with asOfMu held.
func (e *Engine) refreshAsOf(ctx context.Context) (topics.Date, error) {
	if !e.stores.Recovered() {
		return 0, fmt.Errorf("store views are recovering: %w", ErrNotReady)
	}
	d, ok, err := e.stores.LatestDay(ctx)
	if err != nil {
		return 0, fmt.Errorf("latest day: %w", err)
	}
	if !ok {
		return 0, fmt.Errorf("the store table is empty: %w", ErrNotReady)
	}
	e.asOf.Store(int64(d))
	e.asOfAt.Store(time.Now().UnixNano())
	return d, nil
}

// CheckDate validates target against asOf, naming field when it is out of
// range.
func CheckDate(field string, target, asOf topics.Date) error {
	h := int(target - asOf)
	switch {
	case h < 1:
		return &topics.FieldError{Field: field, Reason: fmt.Sprintf("%s is not after the as-of day %s: forecasts cover %s..%s", target, asOf, asOf+1, asOf+MaxHorizon)}
	case h > MaxHorizon:
		return &topics.FieldError{Field: field, Reason: fmt.Sprintf("%s is more than %d days after the as-of day %s: forecasts cover %s..%s", target, MaxHorizon, asOf, asOf+1, asOf+MaxHorizon)}
	}
	return nil
}

// Forecast fills Horizon and Sales of every row with the model in service,
// as of AsOf. Rows of one store should be adjacent (the store's state is
// read once per run of rows). Closed days (In.Open == 0) forecast 0. It
// fails with a *topics.FieldError naming "date" for a date out of range and
// with topics.ErrUnknownStore (field "store_id") for an unknown store.
func (e *Engine) Forecast(ctx context.Context, rows []Row) (Stamp, error) {
	asOf, err := e.AsOf(ctx)
	if err != nil {
		return Stamp{}, err
	}
	for i := range rows {
		if err := CheckDate("date", rows[i].Date, asOf); err != nil {
			return Stamp{}, err
		}
		rows[i].Horizon = int(rows[i].Date - asOf)
	}
	if len(rows) <= e.rowBatch || e.cfg.Workers == 1 {
		if err := e.forecastRows(ctx, asOf, rows); err != nil {
			return Stamp{}, err
		}
	} else {
		// Split at store boundaries into chunks of about rowBatch rows.
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(e.cfg.Workers)
		for start := 0; start < len(rows); {
			end := min(start+e.rowBatch, len(rows))
			for end < len(rows) && rows[end].Store == rows[end-1].Store {
				end++
			}
			chunk := rows[start:end]
			g.Go(func() error { return e.forecastRows(gctx, asOf, chunk) })
			start = end
		}
		if err := g.Wait(); err != nil {
			return Stamp{}, err
		}
	}
	st := Stamp{AsOf: asOf}
	if m := e.models.Default(); m != nil {
		st.Model = m.Meta()
	} else if len(rows) > 0 {
		st.Model = rows[0].Model
	}
	if e.metrics != nil {
		for i := range rows {
			e.metrics.predicted.Observe(rows[i].Sales)
		}
		for i := 0; i < len(rows); {
			j := i + 1
			for j < len(rows) && rows[j].Model == rows[i].Model {
				j++
			}
			e.metrics.servedPredictions(rows[i].Model.Version, j-i)
			i = j
		}
	}
	return st, nil
}

type scratch struct{ feat []float64 }

func (e *Engine) forecastRows(ctx context.Context, asOf topics.Date, rows []Row) error {
	sc := e.bufPool.Get().(*scratch)
	defer e.bufPool.Put(sc)
	var (
		src      StoreFeatures
		m        Model
		meta     *ModelMeta
		identity any // the store's cache identity; nil: not cacheable
		srcStore = -1
		hits     int
	)
	defer func() {
		if e.metrics != nil {
			e.metrics.cacheHits.Add(float64(hits))
		}
	}()
	for i := range rows {
		r := &rows[i]
		if r.Store != srcStore {
			s, found, err := e.stores.Store(ctx, r.Store)
			if err != nil {
				return fmt.Errorf("read store %d: %w", r.Store, err)
			}
			if !found {
				return &unknownStoreError{store: r.Store}
			}
			if m = e.models.ForStore(r.Store); m == nil {
				return ErrNoModel
			}
			src, srcStore, meta = s, r.Store, m.Meta()
			identity = nil
			if c, ok := s.(Cacheable); ok && e.cache != nil {
				identity = c.CacheKey()
			}
		}
		r.Model = meta
		if r.In.Open == 0 {
			r.Sales = 0
			continue
		}
		var key predKey
		if identity != nil {
			key = keyOf(meta, identity, asOf, r)
			if v, ok := e.cache.get(&key); ok {
				r.Sales = v
				hits++
				continue
			}
		}
		x, err := src.Features(sc.feat[:0], r.Date, asOf, r.In)
		if err != nil {
			return fmt.Errorf("features of store %d for %s: %w", r.Store, r.Date, err)
		}
		sc.feat = x[:0]
		y, err := m.Predict(x)
		if err != nil {
			return fmt.Errorf("predict store %d for %s with model %s version %s: %w", r.Store, r.Date, meta.Name, meta.Version, err)
		}
		r.Sales = roundCents(math.Max(0, y))
		if identity != nil {
			e.cache.put(&key, r.Sales)
		}
	}
	return nil
}

// roundCents rounds to two decimals: the value the response and
// forecast_results both carry.
func roundCents(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x*100) / 100
}

type unknownStoreError struct{ store int }

func (e *unknownStoreError) Error() string {
	return fmt.Sprintf("store_id: store %d is unknown", e.store)
}

// Unwrap makes the error both a topics.ErrUnknownStore and a FieldError
// naming store_id.
func (e *unknownStoreError) Unwrap() []error {
	return []error{topics.ErrUnknownStore, &topics.FieldError{Field: "store_id", Reason: fmt.Sprintf("store %d is unknown", e.store)}}
}
