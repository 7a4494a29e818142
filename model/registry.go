package model

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/storecast/storecast/topics"
)

// Registry aliases the trainer moves in MLflow's model registry: every new
// version becomes the challenger; the champion is the version the models
// topic serves, and previous the champion before it (what a rollback
// promotes).
const (
	AliasChampion   = "champion"
	AliasChallenger = "challenger"
	AliasPrevious   = "previous"
)

// GlobalModelName is the registered name of the all-stores model.
const GlobalModelName = "storecast-sales"

// StoreModelName is the registered name of store's own model.
func StoreModelName(store int) string { return GlobalModelName + "-store-" + strconv.Itoa(store) }

// Observer is told about every offered model; wire it to metrics (this
// package imports no metrics library). Implementations must be safe for
// concurrent use.
type Observer interface {
	// ModelOffered is called once per Offer: err is nil when the model
	// now serves, otherwise the reason it was refused.
	ModelOffered(name, version string, err error)
}

// Registry keeps the current model per registered name. A valid new model
// replaces the current one atomically; a refused one leaves the current
// one in service. It is safe for concurrent use.
type Registry struct {
	want  []string
	log   *slog.Logger
	obs   Observer
	fetch Fetcher

	mu     sync.RWMutex
	models map[string]*atomic.Pointer[Model]
	last   map[string]Offered // the latest offer per name

	loaded, refused atomic.Int64
}

// NewRegistry returns an empty registry. want is the feature schema the
// caller will feed models (nil accepts any schema; callers then build
// inputs with Model.Vector). log and obs may be nil.
func NewRegistry(want []string, log *slog.Logger, obs Observer, opts ...RegistryOption) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{want: append([]string(nil), want...), log: log, obs: obs,
		models: make(map[string]*atomic.Pointer[Model]), last: make(map[string]Offered)}
	for _, o := range opts {
		o(r)
	}
	return r
}

// RegistryOption configures a Registry.
type RegistryOption func(*Registry)

// WithFetcher makes the registry fetch the artifacts events name by URI
// (without it, such an event is refused with ErrFetch).
func WithFetcher(f Fetcher) RegistryOption { return func(r *Registry) { r.fetch = f } }

// Offered is the outcome of the latest offer of a name.
type Offered struct {
	Version string
	// Err is nil when that version was loaded, else why it was refused
	// (the previous model, if any, still serves).
	Err error
	At  time.Time
}

// Latest returns the outcome of the latest offer of name.
func (r *Registry) Latest(name string) (Offered, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	o, ok := r.last[name]
	return o, ok
}

// ErrNoModel means no model serves the requested name or store: the one
// no-model error of the registry, the forecasting core and the API (503).
var ErrNoModel = errors.New("no model is loaded")

// Offer verifies and loads the model ev carries and, when it is valid,
// makes it the current model of ev.Name. When it is refused the previous
// model stays in service and Offer returns the reason. An artifact the
// event names by URI is fetched (WithFetcher) within ctx.
func (r *Registry) Offer(ctx context.Context, ev *topics.ModelEvent) error {
	var want []string
	if len(r.want) > 0 {
		want = r.want
	}
	m, err := LoadEventFrom(ctx, ev, want, r.fetch)
	if err == nil && ev.Name == "" {
		err = fmt.Errorf("load: %w: the event has no model name", ErrFormat)
	}
	r.mu.Lock()
	r.last[ev.Name] = Offered{Version: ev.Version, Err: err, At: time.Now().UTC()}
	r.mu.Unlock()
	if r.obs != nil {
		r.obs.ModelOffered(ev.Name, ev.Version, err)
	}
	if err != nil {
		r.refused.Add(1)
		prev, _ := r.Get(ev.Name)
		attrs := []any{"model", ev.Name, "version", ev.Version, "err", err}
		if prev != nil {
			attrs = append(attrs, "serving_version", prev.meta.Version)
		}
		r.log.Error("model refused; the previous model stays in service", attrs...)
		return err
	}
	r.mu.Lock()
	p, ok := r.models[ev.Name]
	if !ok {
		p = new(atomic.Pointer[Model])
		r.models[ev.Name] = p
	}
	r.mu.Unlock()
	old := p.Swap(m)
	r.loaded.Add(1)
	attrs := []any{"model", ev.Name, "version", ev.Version, "run_id", ev.RunID, "trees", m.nTrees, "source", m.meta.Source, "bytes", m.meta.Size}
	if old != nil {
		attrs = append(attrs, "replaced_version", old.meta.Version)
	}
	r.log.Info("model serving", attrs...)
	return nil
}

// Get returns the current model of name.
func (r *Registry) Get(name string) (*Model, bool) {
	r.mu.RLock()
	p, ok := r.models[name]
	r.mu.RUnlock()
	if !ok {
		return nil, false
	}
	m := p.Load()
	return m, m != nil
}

// ForStore returns the model that serves store: its own model when one
// was promoted, otherwise the all-stores model.
func (r *Registry) ForStore(store int) (*Model, error) {
	if m, ok := r.Get(StoreModelName(store)); ok {
		return m, nil
	}
	if m, ok := r.Get(GlobalModelName); ok {
		return m, nil
	}
	return nil, fmt.Errorf("model for store %d: %w", store, ErrNoModel)
}

// Names returns the names that have a model in service.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.models))
	for n, p := range r.models {
		if p.Load() != nil {
			out = append(out, n)
		}
	}
	return out
}

// Stats returns how many offered models were loaded and refused.
func (r *Registry) Stats() (loaded, refused int64) { return r.loaded.Load(), r.refused.Load() }
