package model

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/dmitryikh/leaves"

	"github.com/storecast/storecast/topics"
)

// Target transforms a model may declare: the trainer fits the model on
// the transformed target and Predict undoes it.
const (
	// TransformNone means the model predicts the target itself.
	TransformNone = "none"
	// TransformLog1p means the model predicts log1p(target); Predict
	// returns expm1 of the margin.
	TransformLog1p = "log1p"
)

// Errors Load wraps; match them with errors.Is.
var (
	// ErrChecksum means the artifact's SHA-256 differs from the expected one.
	ErrChecksum = errors.New("artifact checksum mismatch")
	// ErrFormat means the artifact format or target transform is not supported.
	ErrFormat = errors.New("unsupported artifact format")
	// ErrSchema means the model's features differ from the expected ones.
	ErrSchema = errors.New("feature schema mismatch")
	// ErrMalformed means the artifact is not a sane LightGBM v3 text model.
	ErrMalformed = errors.New("malformed artifact")
	// ErrLeaves means leaves refused (or panicked on) a checked artifact.
	ErrLeaves = errors.New("leaves refused the artifact")
	// ErrInput means a feature vector does not fit the model.
	ErrInput = errors.New("invalid model input")
)

// Meta describes an artifact: what the publisher claims about it. Load
// checks every claim it can against the bytes.
type Meta struct {
	// Name is the registered model name, e.g. storecast-sales.
	Name string
	// Version is the registry version.
	Version string
	// RunID is the training run that produced the model.
	RunID string
	// SHA256 is the hex digest of the artifact bytes. Required.
	SHA256 string
	// Format is the artifact format; only topics.FormatLightGBMText loads.
	Format string
	// Transform is the target transform: TransformLog1p or TransformNone
	// ("" means none).
	Transform string
	// FeatureNames are the model's inputs in order.
	FeatureNames []string
	// FeatureSchema is the feature schema version the names belong to.
	FeatureSchema string
	// Metrics are the validation metrics the trainer recorded.
	Metrics map[string]float64
	// TrainedThrough is the last day of training data.
	TrainedThrough topics.Date
	// At is when the model was published.
	At time.Time
	// Source is where the artifact came from: SourceInline (the event
	// carried it) or SourceFetched (fetched from ArtifactURI). Set by the
	// loader, not claimed by the publisher.
	Source string
	// ArtifactURI is where a fetched artifact came from.
	ArtifactURI string
	// Size is the artifact's size in bytes. Set by Load.
	Size int
	// Intervals are the prediction intervals the trainer fitted; nil when
	// the model has none (Interval then reports ok false).
	Intervals *topics.ModelIntervals
	// FeatureBins is the training distribution per feature (may be empty).
	FeatureBins []topics.FeatureBins
	// Protocol is the trainer's validation protocol (ModelEvent.Protocol).
	Protocol string
}

// Sources of an artifact (Meta.Source).
const (
	SourceInline  = "inline"
	SourceFetched = "fetched"
)

// MetaOf returns the Meta an event claims.
func MetaOf(ev *topics.ModelEvent) Meta {
	return Meta{
		Name: ev.Name, Version: ev.Version, RunID: ev.RunID, SHA256: ev.SHA256, Format: ev.Format,
		Transform: ev.Transform, FeatureNames: ev.FeatureNames, FeatureSchema: ev.FeatureSchema,
		Metrics: ev.Metrics, TrainedThrough: ev.TrainedThrough, At: ev.At, ArtifactURI: ev.ArtifactURI,
		Intervals: ev.Intervals, FeatureBins: ev.FeatureBins,
		Protocol: ev.Protocol,
	}
}

// Model is a verified model loaded into leaves. It is safe for concurrent
// use and immutable.
type Model struct {
	meta Meta
	// parts are the model's trees in order, PartTrees to a leaves
	// ensemble: their outputs sum to the model's (see PredictMargins).
	parts  []*leaves.Ensemble
	nTrees int
	bufs   sync.Pool
}

// PartTrees is the most trees of one part of a loaded model. A batch of
// rows goes through one part after the other (PredictMargins), so the
// part's nodes stay in the CPU's caches across the rows: 128 depth-10
// trees are about 3 MB in leaves, where the 3,600 of a served ensemble are
// about 90 MB and a row walked through all of them finds few in cache.
const PartTrees = 128

// Load verifies artifact against meta and loads it. In order, before
// leaves sees a byte: the SHA-256 must equal meta.SHA256, the format must
// be LightGBM v3 text, the transform known, meta.FeatureNames must equal
// want (the schema the caller will feed; nil skips that check), and the
// text must parse as a sane single-output regression model whose
// feature_names equal meta.FeatureNames. leaves then loads a canonical
// rendering of what was checked; a panic inside leaves becomes ErrLeaves.
func Load(artifact []byte, meta Meta, want []string) (*Model, error) {
	sum := sha256.Sum256(artifact)
	if got := hex.EncodeToString(sum[:]); meta.SHA256 == "" || !strings.EqualFold(got, meta.SHA256) {
		return nil, fmt.Errorf("load %s v%s: %w: got %s, want %q", meta.Name, meta.Version, ErrChecksum, got, meta.SHA256)
	}
	if meta.Format != topics.FormatLightGBMText {
		return nil, fmt.Errorf("load %s v%s: %w: %q (want %q)", meta.Name, meta.Version, ErrFormat, meta.Format, topics.FormatLightGBMText)
	}
	switch meta.Transform {
	case "", TransformNone, TransformLog1p:
	default:
		return nil, fmt.Errorf("load %s v%s: %w: target transform %q", meta.Name, meta.Version, ErrFormat, meta.Transform)
	}
	if len(meta.FeatureNames) == 0 {
		return nil, fmt.Errorf("load %s v%s: %w: no feature names", meta.Name, meta.Version, ErrSchema)
	}
	if want != nil {
		if err := sameNames(meta.FeatureNames, want); err != nil {
			return nil, fmt.Errorf("load %s v%s: %w", meta.Name, meta.Version, err)
		}
	}
	if err := checkIntervals(meta.Intervals); err != nil {
		return nil, fmt.Errorf("load %s v%s: %w", meta.Name, meta.Version, err)
	}
	parsed, err := parseLightGBM(artifact, meta.FeatureNames)
	if err != nil {
		return nil, fmt.Errorf("load %s v%s: %w", meta.Name, meta.Version, err)
	}
	var parts []*leaves.Ensemble
	for from := 0; from < len(parsed.trees) || from == 0; from += PartTrees {
		to := min(from+PartTrees, len(parsed.trees))
		ens, err := loadLeaves(parsed.renderTrees(from, to))
		if err != nil {
			return nil, fmt.Errorf("load %s v%s: %w", meta.Name, meta.Version, err)
		}
		if ens.NEstimators() != to-from || ens.NOutputGroups() != 1 {
			return nil, fmt.Errorf("load %s v%s: %w: leaves sees %d trees and %d outputs in trees %d..%d, want %d and 1",
				meta.Name, meta.Version, ErrLeaves, ens.NEstimators(), ens.NOutputGroups(), from, to, to-from)
		}
		parts = append(parts, ens)
	}
	meta.FeatureNames = append([]string(nil), meta.FeatureNames...)
	meta.Size = len(artifact)
	if meta.Source == "" {
		meta.Source = SourceInline
	}
	m := &Model{meta: meta, parts: parts, nTrees: len(parsed.trees)}
	n := len(meta.FeatureNames)
	m.bufs.New = func() any { b := make([]float64, n); return &b }
	// Smoke test: all-missing and all-zero inputs must give a finite margin.
	for _, fill := range []float64{math.NaN(), 0} {
		x := make([]float64, n)
		for i := range x {
			x[i] = fill
		}
		p, err := m.PredictMargin(x)
		if err != nil {
			return nil, fmt.Errorf("load %s v%s: smoke prediction: %w", meta.Name, meta.Version, err)
		}
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return nil, fmt.Errorf("load %s v%s: %w: smoke prediction is %v", meta.Name, meta.Version, ErrLeaves, p)
		}
	}
	return m, nil
}

// checkIntervals refuses intervals a forecast could not use: as many low
// as high quantiles (at least one week), finite, low <= high, a level in
// (0, 1) and a positive week length.
func checkIntervals(iv *topics.ModelIntervals) error {
	if iv == nil {
		return nil
	}
	if len(iv.Low) == 0 || len(iv.Low) != len(iv.High) || iv.WeekDays < 1 || !(iv.Level > 0 && iv.Level < 1) {
		return fmt.Errorf("%w: intervals: %d low and %d high quantiles, %d days a week, level %v",
			ErrMalformed, len(iv.Low), len(iv.High), iv.WeekDays, iv.Level)
	}
	for i, lo := range iv.Low {
		hi := iv.High[i]
		if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || lo > hi {
			return fmt.Errorf("%w: intervals: week %d has quantiles %v..%v", ErrMalformed, i+1, lo, hi)
		}
	}
	return nil
}

// Interval returns the low and high ends of the model's prediction
// interval (Meta.Intervals.Level coverage) around a forecast with the
// given margin at horizon days ahead, in the target's units (the target
// transform undone, as Predict does). ok is false when the model has no
// intervals.
func (m *Model) Interval(margin float64, horizon int) (low, high float64, ok bool) {
	iv := m.meta.Intervals
	if iv == nil || horizon < 1 {
		return 0, 0, false
	}
	w := min((horizon-1)/iv.WeekDays, len(iv.Low)-1)
	return m.untransform(margin + iv.Low[w]), m.untransform(margin + iv.High[w]), true
}

// LoadEvent loads the model a ModelEvent carries (see Load).
func LoadEvent(ev *topics.ModelEvent, want []string) (*Model, error) {
	return LoadEventFrom(context.Background(), ev, want, nil)
}

// LoadEventFrom loads the model of ev: the artifact it carries, or, when
// it carries none, the one its ArtifactURI names, fetched with f (at most
// MaxArtifactBytes) and then verified exactly as an inline artifact
// (Load: sha256, format, schema, parse, leaves).
func LoadEventFrom(ctx context.Context, ev *topics.ModelEvent, want []string, f Fetcher) (*Model, error) {
	meta := MetaOf(ev)
	if len(ev.Artifact) > 0 {
		return Load(ev.Artifact, meta, want)
	}
	if ev.ArtifactURI == "" {
		return nil, fmt.Errorf("load %s v%s: %w: the event carries neither an artifact nor its uri", ev.Name, ev.Version, ErrFormat)
	}
	if f == nil {
		return nil, fmt.Errorf("load %s v%s: %w: the artifact is at %s and no fetcher is configured (an MLflow tracking URI)", ev.Name, ev.Version, ErrFetch, ev.ArtifactURI)
	}
	b, err := f.Fetch(ctx, ev.ArtifactURI, MaxArtifactBytes)
	if err != nil {
		return nil, fmt.Errorf("load %s v%s: %w: %w", ev.Name, ev.Version, ErrFetch, err)
	}
	meta.Source = SourceFetched
	return Load(b, meta, want)
}

// loadLeaves is the last line of defence: leaves panics on some malformed
// input, and no artifact may crash the process.
func loadLeaves(text []byte) (ens *leaves.Ensemble, err error) {
	defer func() {
		if r := recover(); r != nil {
			ens, err = nil, fmt.Errorf("%w: panic: %v", ErrLeaves, r)
		}
	}()
	ens, err = leaves.LGEnsembleFromReader(bufio.NewReader(bytes.NewReader(text)), false)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLeaves, err)
	}
	return ens, nil
}

// Meta returns what the model was loaded with (do not modify its slices).
func (m *Model) Meta() Meta { return m.meta }

// FeatureNames returns the model's inputs in order (do not modify).
func (m *Model) FeatureNames() []string { return m.meta.FeatureNames }

// Trees returns the number of trees.
func (m *Model) Trees() int { return m.nTrees }

// PredictMargin returns the raw model output for features (in
// FeatureNames order, NaN for missing), each rounded to float32 first as
// XGBoost does so every split goes the way it went in training.
func (m *Model) PredictMargin(features []float64) (float64, error) {
	if len(features) != len(m.meta.FeatureNames) {
		return 0, fmt.Errorf("predict %s: %w: %d features, want %d", m.meta.Name, ErrInput, len(features), len(m.meta.FeatureNames))
	}
	bp := m.bufs.Get().(*[]float64)
	x := *bp
	for i, v := range features {
		x[i] = float64(float32(v))
	}
	p := 0.0
	for _, part := range m.parts {
		p += part.PredictSingle(x, 0)
	}
	m.bufs.Put(bp)
	return p, nil
}

// PredictMargins writes the margin of each row of xs (as PredictMargin)
// into out[i]: the rows go through each part of the trees in turn, which
// keeps the part in the CPU's caches for the whole batch (PartTrees); the
// margins are those of PredictMargin, summed in the same order.
func (m *Model) PredictMargins(xs [][]float64, out []float64) error {
	n := len(m.meta.FeatureNames)
	if len(out) != len(xs) {
		return fmt.Errorf("predict %s: %w: %d rows and %d outputs", m.meta.Name, ErrInput, len(xs), len(out))
	}
	flat := make([]float64, len(xs)*n)
	for r, features := range xs {
		if len(features) != n {
			return fmt.Errorf("predict %s: %w: row %d has %d features, want %d", m.meta.Name, ErrInput, r, len(features), n)
		}
		for i, v := range features {
			flat[r*n+i] = float64(float32(v))
		}
		out[r] = 0
	}
	for _, part := range m.parts {
		for r := range xs {
			out[r] += part.PredictSingle(flat[r*n:(r+1)*n], 0)
		}
	}
	return nil
}

// Predict returns the model's prediction for features (see PredictMargin)
// with the target transform undone: expm1 of the margin for log1p models.
func (m *Model) Predict(features []float64) (float64, error) {
	p, err := m.PredictMargin(features)
	if err != nil {
		return 0, err
	}
	return m.untransform(p), nil
}

// Prediction is one forecast in the target's units: the point forecast
// and, when the model has intervals, its prediction interval.
type Prediction struct {
	Sales float64
	// Low and High bound the interval (Meta.Intervals.Level coverage);
	// both 0 when HasInterval is false.
	Low, High   float64
	HasInterval bool
}

// Forecast predicts features (see PredictMargin) horizon days ahead: the
// point forecast with the target transform undone (as Predict) and the
// interval of that horizon (as Interval), from one pass over the trees.
func (m *Model) Forecast(features []float64, horizon int) (Prediction, error) {
	margin, err := m.PredictMargin(features)
	if err != nil {
		return Prediction{}, err
	}
	p := Prediction{Sales: m.untransform(margin)}
	p.Low, p.High, p.HasInterval = m.Interval(margin, horizon)
	return p, nil
}

// Forecasts is Forecast for a batch of rows (xs[i] horizons[i] days
// ahead, into out[i]) through PredictMargins.
func (m *Model) Forecasts(xs [][]float64, horizons []int, out []Prediction) error {
	if len(horizons) != len(xs) || len(out) != len(xs) {
		return fmt.Errorf("predict %s: %w: %d rows, %d horizons and %d outputs", m.meta.Name, ErrInput, len(xs), len(horizons), len(out))
	}
	margins := make([]float64, len(xs))
	if err := m.PredictMargins(xs, margins); err != nil {
		return err
	}
	for i, margin := range margins {
		p := Prediction{Sales: m.untransform(margin)}
		p.Low, p.High, p.HasInterval = m.Interval(margin, horizons[i])
		out[i] = p
	}
	return nil
}

// untransform undoes the target transform of a margin.
func (m *Model) untransform(margin float64) float64 {
	if m.meta.Transform == TransformLog1p {
		return math.Expm1(margin)
	}
	return margin
}

// Vector returns fv's values in the model's feature order. A feature the
// model needs that fv lacks is an error; extra features are ignored.
func (m *Model) Vector(fv topics.FeatureVector) ([]float64, error) {
	out := make([]float64, len(m.meta.FeatureNames))
	if len(fv.Names) == len(out) && len(fv.Values) == len(out) {
		same := true
		for i, n := range m.meta.FeatureNames {
			if fv.Names[i] != n {
				same = false
				break
			}
		}
		if same {
			copy(out, fv.Values)
			return out, nil
		}
	}
	for i, n := range m.meta.FeatureNames {
		v, ok := fv.Get(n)
		if !ok {
			return nil, fmt.Errorf("predict %s: %w: feature %q is missing from the vector", m.meta.Name, ErrInput, n)
		}
		out[i] = v
	}
	return out, nil
}

// PredictVector predicts from a named feature vector (see Vector, Predict).
func (m *Model) PredictVector(fv topics.FeatureVector) (float64, error) {
	x, err := m.Vector(fv)
	if err != nil {
		return 0, err
	}
	return m.Predict(x)
}
