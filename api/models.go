package api

import (
	"log/slog"
	"sync"
	"time"

	"github.com/storecast/storecast/model"
)

// RegistryModels serves models from a model.Registry: the ModelSource of
// the Engine. Build the registry with NewModelRegistry so load times and
// outcomes reach the metrics.
type RegistryModels struct {
	reg      *model.Registry
	obs      *modelObserver
	wrappers sync.Map // *model.Model → *servedModel
}

var _ ModelSource = (*RegistryModels)(nil)

type servedModel struct {
	m    *model.Model
	meta ModelMeta
}

func (s *servedModel) Meta() *ModelMeta                     { return &s.meta }
func (s *servedModel) Predict(x []float64) (float64, error) { return s.m.Predict(x) }

// modelObserver records when each model version was loaded and counts
// outcomes.
type modelObserver struct {
	metrics *Metrics
	mu      sync.Mutex
	loaded  map[string]time.Time // name + "\x00" + version
}

func (o *modelObserver) ModelOffered(name, version string, err error) {
	if err != nil {
		if o.metrics != nil {
			o.metrics.modelSwaps.WithLabelValues("refused").Inc()
		}
		return
	}
	if o.metrics != nil {
		o.metrics.modelSwaps.WithLabelValues("loaded").Inc()
	}
	o.mu.Lock()
	o.loaded[name+"\x00"+version] = time.Now().UTC()
	o.mu.Unlock()
}

func (o *modelObserver) loadedAt(name, version string) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.loaded[name+"\x00"+version]
}

// NewRegistryModels returns a registry that accepts models whose feature
// names equal featureNames (features.Names()), and the ModelSource over it.
// m may be nil.
func NewRegistryModels(featureNames []string, log *slog.Logger, m *Metrics) (*model.Registry, *RegistryModels) {
	obs := &modelObserver{metrics: m, loaded: make(map[string]time.Time)}
	r := model.NewRegistry(featureNames, log, obs)
	return r, &RegistryModels{reg: r, obs: obs}
}

// Default implements ModelSource.
func (r *RegistryModels) Default() Model {
	m, ok := r.reg.Get(model.GlobalModelName)
	if !ok {
		return nil
	}
	return r.wrap(m)
}

// ForStore implements ModelSource.
func (r *RegistryModels) ForStore(store int) Model {
	m, err := r.reg.ForStore(store)
	if err != nil {
		return nil
	}
	return r.wrap(m)
}

func (r *RegistryModels) wrap(m *model.Model) Model {
	if w, ok := r.wrappers.Load(m); ok {
		return w.(*servedModel)
	}
	md := m.Meta()
	w := &servedModel{m: m, meta: ModelMeta{
		Name: md.Name, Version: md.Version, RunID: md.RunID, Format: md.Format, Transform: md.Transform,
		FeatureSchema: md.FeatureSchema, FeatureNames: md.FeatureNames, SHA256: md.SHA256, Metrics: md.Metrics,
		TrainedThrough: md.TrainedThrough, LoadedAt: r.obs.loadedAt(md.Name, md.Version),
	}}
	if w.meta.LoadedAt.IsZero() {
		w.meta.LoadedAt = time.Now().UTC()
	}
	actual, loaded := r.wrappers.LoadOrStore(m, w)
	if !loaded {
		// Forget wrappers of models no longer in service, so replaced
		// models can be collected.
		r.wrappers.Range(func(k, _ any) bool {
			old := k.(*model.Model)
			if cur, ok := r.reg.Get(old.Meta().Name); !ok || cur != old {
				r.wrappers.Delete(k)
			}
			return true
		})
	}
	return actual.(*servedModel)
}
