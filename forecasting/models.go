package forecasting

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/topics"
)

// Model is a loaded, verified model. Predict must be safe for concurrent
// use.
type Model interface {
	// Meta describes the model; it returns the same pointer every call.
	Meta() *ModelMeta
	// Predict returns the forecast (in sales units, the target transform
	// undone) of one feature vector in the order of Meta().FeatureNames,
	// horizon days ahead of the as-of day: the point forecast and, when
	// the model has them, its interval for that horizon.
	Predict(x []float64, horizon int) (model.Prediction, error)
	// PredictBatch writes the forecast of xs[i], horizons[i] days ahead,
	// into out[i]: what Predict gives each row, in one call (a real model
	// walks its trees part by part over the rows: model.Model.Forecasts).
	// PredictEach implements it with Predict.
	PredictBatch(xs [][]float64, horizons []int, out []model.Prediction) error
}

// PredictEach is PredictBatch row by row with m.Predict.
func PredictEach(m Model, xs [][]float64, horizons []int, out []model.Prediction) error {
	if len(horizons) != len(xs) || len(out) != len(xs) {
		return fmt.Errorf("%w: %d rows, %d horizons and %d outputs", model.ErrInput, len(xs), len(horizons), len(out))
	}
	for i, x := range xs {
		p, err := m.Predict(x, horizons[i])
		if err != nil {
			return err
		}
		out[i] = p
	}
	return nil
}

// Models gives the models in service; implementations swap models
// atomically and are safe for concurrent use.
type Models interface {
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
	// Source (model.SourceInline or model.SourceFetched), ArtifactURI,
	// Size (bytes) and Trees describe the served artifact.
	Source      string
	ArtifactURI string
	Size        int
	Trees       int
	// FeatureBins is the training distribution per feature (drift).
	FeatureBins []topics.FeatureBins
	// Intervals describes the model's prediction intervals (nil: none).
	Intervals *topics.ModelIntervals
	// Protocol is the trainer's validation protocol.
	Protocol string
}

// RegistryModels serves the models of a model.Registry as Models, and
// records when each version was loaded (ModelMeta.LoadedAt). Build the
// registry with NewRegistryModels so it is told about every load.
type RegistryModels struct {
	reg      *model.Registry
	loaded   *loadTimes
	wrappers sync.Map // *model.Model → *servedModel
}

var _ Models = (*RegistryModels)(nil)

type servedModel struct {
	m    *model.Model
	meta ModelMeta
}

func (s *servedModel) Meta() *ModelMeta { return &s.meta }
func (s *servedModel) Predict(x []float64, horizon int) (model.Prediction, error) {
	return s.m.Forecast(x, horizon)
}

func (s *servedModel) PredictBatch(xs [][]float64, horizons []int, out []model.Prediction) error {
	return s.m.Forecasts(xs, horizons, out)
}

// loadTimes is the registry's model.Observer: it records when each model
// version was loaded.
type loadTimes struct {
	mu sync.Mutex
	at map[string]time.Time // name + "\x00" + version
}

// ModelOffered implements model.Observer.
func (o *loadTimes) ModelOffered(name, version string, err error) {
	if err != nil {
		return
	}
	o.mu.Lock()
	o.at[name+"\x00"+version] = time.Now().UTC()
	o.mu.Unlock()
}

func (o *loadTimes) of(name, version string) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.at[name+"\x00"+version]
}

// NewRegistryModels returns a registry that accepts models whose feature
// names equal featureNames (features.Names()), and the Models over it.
// opts configure the registry (model.WithFetcher).
func NewRegistryModels(featureNames []string, log *slog.Logger, opts ...model.RegistryOption) (*model.Registry, *RegistryModels) {
	lt := &loadTimes{at: make(map[string]time.Time)}
	r := model.NewRegistry(featureNames, log, lt, opts...)
	return r, &RegistryModels{reg: r, loaded: lt}
}

// Default implements Models.
func (r *RegistryModels) Default() Model {
	m, ok := r.reg.Get(model.GlobalModelName)
	if !ok {
		return nil
	}
	return r.wrap(m)
}

// ForStore implements Models.
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
		TrainedThrough: md.TrainedThrough, LoadedAt: r.loaded.of(md.Name, md.Version),
		Source: md.Source, ArtifactURI: md.ArtifactURI, Size: md.Size, Trees: m.Trees(), FeatureBins: md.FeatureBins,
		Intervals: md.Intervals, Protocol: md.Protocol,
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
