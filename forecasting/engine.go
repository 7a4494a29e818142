package forecasting

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/topics"
)

// ErrNotReady means the store table cannot answer yet: the views are
// still recovering, or the table is empty.
var ErrNotReady = errors.New("not ready")

// Row is one forecast: the inputs (Store, Date, In) and, once forecast,
// the answer (Horizon, Sales, its interval Low..High when HasInterval,
// Model).
type Row struct {
	Store   int
	Date    topics.Date
	In      topics.KnownInputs
	Horizon int
	Sales   float64
	// Low and High bound the model's prediction interval around Sales
	// (ModelMeta.Intervals.Level coverage) when HasInterval; a closed day's
	// interval is 0..0.
	Low, High   float64
	HasInterval bool
	// Model is the model that answered.
	Model *ModelMeta
}

// Result returns the forecast_results event of a forecast row made as of
// asOf: the record both the API's forecast log and the processor emit.
// Its ID is empty (the caller names it).
func (r *Row) Result(asOf topics.Date, requestID, source string, at time.Time) topics.ForecastResult {
	res := topics.ForecastResult{
		V: topics.ForecastResultVersion, RequestID: requestID, Store: r.Store, Date: r.Date,
		AsOf: asOf, Horizon: r.Horizon, PredictedSales: r.Sales, ModelName: r.Model.Name,
		ModelVersion: r.Model.Version, Source: source, CreatedAt: at,
	}
	if r.HasInterval {
		res.PredictedSalesLow, res.PredictedSalesHigh = &r.Low, &r.High
	}
	return res
}

// Stamp says how a batch of rows was forecast: the as-of day and the
// model of the batch (the all-stores model, or the first row's model when
// only per-store models exist). Rows whose Model differs say so.
type Stamp struct {
	AsOf  topics.Date
	Model *ModelMeta
}

// CheckDate validates target against asOf, naming field when target is
// not 1..features.MaxHorizon days after asOf.
func CheckDate(field string, target, asOf topics.Date) error {
	h := int(target - asOf)
	switch {
	case h < 1:
		return &topics.FieldError{Field: field, Reason: fmt.Sprintf("%s is not after the as-of day %s: forecasts cover %s..%s", target, asOf, asOf+1, asOf+features.MaxHorizon)}
	case h > features.MaxHorizon:
		return &topics.FieldError{Field: field, Reason: fmt.Sprintf("%s is more than %d days after the as-of day %s: forecasts cover %s..%s", target, features.MaxHorizon, asOf, asOf+1, asOf+features.MaxHorizon)}
	}
	return nil
}

// planRows checks every row's date against asOf and sets its horizon.
func planRows(field string, asOf topics.Date, rows []Row) error {
	for i := range rows {
		if err := CheckDate(field, rows[i].Date, asOf); err != nil {
			return err
		}
		rows[i].Horizon = int(rows[i].Date - asOf)
	}
	return nil
}

// ForecastState forecasts rows, all of store st/info describes, as of asOf
// with the model that serves the store: the recipe for a caller that
// holds the store's state and info itself (the forecast processor's table
// joins). A date out of range is a *topics.FieldError naming field. m may
// be nil.
func ForecastState(models Models, m *Metrics, st *features.State, info *features.Info, field string, asOf topics.Date, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	if err := planRows(field, asOf, rows); err != nil {
		return err
	}
	store := rows[0].Store
	mod := models.ForStore(store)
	if mod == nil {
		return fmt.Errorf("store %d: %w", store, model.ErrNoModel)
	}
	src := NewStateFeatures(st, info, NewStatsCache(1)) // one as-of day
	if _, err := forecastStore(newScratch(), nil, nil, nil, mod, src, asOf, rows); err != nil {
		return err
	}
	m.observe(rows)
	return nil
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
	// Drift, when not nil, sees every feature vector computed (not those
	// answered from the cache).
	Drift *Drift
	// Clock says which stores are too far behind the as-of day to be
	// forecast (zero: features.DefaultClock); the as-of day itself comes
	// from the StoreReader.
	Clock features.Clock
}

// Engine computes forecasts in-process from the store views, the feature
// functions and the model in service.
type Engine struct {
	stores  StoreReader
	models  Models
	metrics *Metrics
	cfg     EngineConfig

	asOfMu   sync.Mutex
	asOf     atomic.Int64 // topics.Date, valid when asOfAt != 0
	asOfAt   atomic.Int64 // unix nanos of the last refresh
	bufPool  sync.Pool    // *scratch
	rowBatch int
	cache    *predCache
}

// NewEngine returns an Engine. m may be nil.
func NewEngine(stores StoreReader, models Models, m *Metrics, cfg EngineConfig) *Engine {
	if cfg.AsOfTTL <= 0 {
		cfg.AsOfTTL = time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	cfg.Clock = cfg.Clock.WithDefaults()
	e := &Engine{stores: stores, models: models, metrics: m, cfg: cfg, rowBatch: 256}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 1 << 18
	}
	if cfg.CacheSize > 0 {
		e.cache = newPredCache(cfg.CacheSize)
	}
	e.bufPool.New = func() any { return newScratch() }
	return e
}

// DefaultModel returns the all-stores model in service, or nil.
func (e *Engine) DefaultModel() Model { return e.models.Default() }

// StoreIDs returns every store the views can forecast, ascending.
func (e *Engine) StoreIDs(ctx context.Context) ([]int, error) { return e.stores.StoreIDs(ctx) }

// AsOf returns the as-of day of forecasts now: the latest day of the store
// table. Facts of days strictly before it are used; targets are AsOf+1 ..
// AsOf+features.MaxHorizon. It is cached: once known, a stale value is
// served while one background refresh per AsOfTTL reads the views again,
// so requests never wait for the scan.
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

// Forecast fills Horizon, Sales and Model of every row with the model in
// service, as of AsOf. Rows of one store should be adjacent (the store's
// state is read once per run of rows). Closed days (In.Open == 0) forecast
// 0. It fails with a *topics.FieldError naming "date" for a date out of
// range and with topics.ErrUnknownStore (field "store_id") for an unknown
// store.
func (e *Engine) Forecast(ctx context.Context, rows []Row) (Stamp, error) {
	asOf, err := e.AsOf(ctx)
	if err != nil {
		return Stamp{}, err
	}
	if err := planRows("date", asOf, rows); err != nil {
		return Stamp{}, err
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
	e.metrics.observe(rows)
	return st, nil
}

// scratch holds one store's batch (forecastStore): the feature vectors
// appended to feat (row j's ends at ends[j]), the rows they are for, their
// horizons, cache keys and forecasts.
type scratch struct {
	feat     []float64
	ends     []int
	rows     []int
	horizons []int
	keys     []predKey
	xs       [][]float64
	preds    []model.Prediction
}

func newScratch() *scratch {
	return &scratch{feat: make([]float64, 0, 48*(features.NumFeatures+8))}
}

func (sc *scratch) reset() {
	// The keys hold store states and the vectors the last batch: let them go.
	clear(sc.keys)
	clear(sc.xs)
	sc.feat, sc.ends, sc.rows, sc.horizons = sc.feat[:0], sc.ends[:0], sc.rows[:0], sc.horizons[:0]
	sc.keys, sc.xs, sc.preds = sc.keys[:0], sc.xs[:0], sc.preds[:0]
}

// forecastRows forecasts rows run by run of one store.
func (e *Engine) forecastRows(ctx context.Context, asOf topics.Date, rows []Row) error {
	sc := e.bufPool.Get().(*scratch)
	defer e.bufPool.Put(sc)
	hits := 0
	defer func() { e.metrics.cacheHit(hits) }()
	for start := 0; start < len(rows); {
		end := start + 1
		for end < len(rows) && rows[end].Store == rows[start].Store {
			end++
		}
		store := rows[start].Store
		src, found, err := e.stores.Store(ctx, store)
		if err != nil {
			return fmt.Errorf("read store %d: %w", store, err)
		}
		if !found {
			return &unknownStoreError{store: store}
		}
		if l, ok := src.(interface{ Latest() (topics.Date, bool) }); ok {
			if latest, has := l.Latest(); !has || e.cfg.Clock.Stale(latest, asOf) {
				return &staleStoreError{store: store, latest: latest, has: has, asOf: asOf, staleDays: e.cfg.Clock.StaleDays}
			}
		}
		m := e.models.ForStore(store)
		if m == nil {
			return fmt.Errorf("store %d: %w", store, model.ErrNoModel)
		}
		var identity any // the store's cache identity; nil: not cacheable
		if c, ok := src.(Cacheable); ok && e.cache != nil {
			identity = c.CacheKey()
		}
		n, err := forecastStore(sc, e.cache, identity, e.cfg.Drift, m, src, asOf, rows[start:end])
		hits += n
		if err != nil {
			return err
		}
		start = end
	}
	return nil
}

// forecastStore is the recipe for rows of one store with one model:
// closed days forecast 0 (and an interval of 0..0 when the model has
// intervals); otherwise features, predict, clamp at 0, round to cents,
// for the point forecast and the interval alike. With a cache and a
// non-nil identity, predictions are reused. The rows the cache does not
// answer are predicted in one batch (Model.PredictBatch). It returns the
// cache hits.
func forecastStore(sc *scratch, cache *predCache, identity any, drift *Drift, m Model, src StoreFeatures, asOf topics.Date, rows []Row) (int, error) {
	meta := m.Meta()
	hits := 0
	sc.reset()
	for i := range rows {
		r := &rows[i]
		r.Model = meta
		if r.In.Open == 0 {
			r.set(model.Prediction{HasInterval: meta.Intervals != nil})
			continue
		}
		var key predKey
		in := inputsOf(rows, i)
		if identity != nil {
			key = keyOf(meta, identity, asOf, r.Date, in)
			if p, ok := cache.get(&key); ok {
				r.set(p)
				hits++
				continue
			}
		}
		from := len(sc.feat)
		x, err := src.Features(sc.feat, r.Date, asOf, in)
		if err != nil {
			return hits, fmt.Errorf("features of store %d for %s: %w", r.Store, r.Date, err)
		}
		sc.feat = x
		drift.Observe(meta, x[from:])
		sc.rows = append(sc.rows, i)
		sc.ends = append(sc.ends, len(x))
		sc.horizons = append(sc.horizons, r.Horizon)
		sc.keys = append(sc.keys, key)
	}
	if len(sc.rows) == 0 {
		return hits, nil
	}
	// The vectors were appended to one slice that may have moved: cut it now.
	from := 0
	for _, end := range sc.ends {
		sc.xs = append(sc.xs, sc.feat[from:end])
		from = end
	}
	sc.preds = append(sc.preds, make([]model.Prediction, len(sc.rows))...)
	if err := m.PredictBatch(sc.xs, sc.horizons, sc.preds); err != nil {
		r := &rows[sc.rows[0]]
		return hits, fmt.Errorf("predict store %d for %d days from %s with model %s version %s: %w", r.Store, len(sc.rows), r.Date, meta.Name, meta.Version, err)
	}
	for j, i := range sc.rows {
		p := served(sc.preds[j])
		rows[i].set(p)
		if identity != nil {
			cache.put(&sc.keys[j], p)
		}
	}
	return hits, nil
}

// inputsOf returns the known inputs of rows[i] with a lookup of the
// other rows' (one store's) by day.
func inputsOf(rows []Row, i int) Inputs {
	d := rows[i].Date
	return Inputs{Day: rows[i].In, Near: func(day topics.Date) *topics.KnownInputs {
		// Rows are usually consecutive days: try the row that would hold day first.
		if j := i + int(day-d); j >= 0 && j < len(rows) && rows[j].Date == day {
			return &rows[j].In
		}
		for j := range rows {
			if rows[j].Date == day {
				return &rows[j].In
			}
		}
		return nil
	}}
}

// set fills the row's answer from p.
func (r *Row) set(p model.Prediction) {
	r.Sales, r.Low, r.High, r.HasInterval = p.Sales, p.Low, p.High, p.HasInterval
}

// served is p as forecasts carry it: clamped at 0 and rounded to cents,
// with the interval around the point forecast.
func served(p model.Prediction) model.Prediction {
	p.Sales = roundCents(math.Max(0, p.Sales))
	if p.HasInterval {
		p.Low = min(roundCents(math.Max(0, p.Low)), p.Sales)
		p.High = max(roundCents(math.Max(0, p.High)), p.Sales)
	}
	return p
}

// roundCents rounds to two decimals: the value responses and
// forecast_results carry.
func roundCents(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x*100) / 100
}

// ErrStaleStore means a store's own history ends more than the clock's
// stale days (features.Clock.StaleDays) before the as-of day: it is not
// forecast as if it were current.
var ErrStaleStore = errors.New("store history is stale")

type staleStoreError struct {
	store        int
	latest, asOf topics.Date
	has          bool
	staleDays    int
}

func (e *staleStoreError) Error() string { return "store_id: " + e.reason() }

func (e *staleStoreError) reason() string {
	if !e.has {
		return fmt.Sprintf("store %d has no sales yet", e.store)
	}
	return fmt.Sprintf("store %d has no sales since %s, %d days before the as-of day %s (more than %d): its history is too stale to forecast from",
		e.store, e.latest, e.asOf-e.latest, e.asOf, e.staleDays)
}

// Unwrap makes the error both an ErrStaleStore and a FieldError naming
// store_id.
func (e *staleStoreError) Unwrap() []error {
	return []error{ErrStaleStore, &topics.FieldError{Field: "store_id", Reason: e.reason()}}
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
