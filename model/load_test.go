package model

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/storecast/storecast/topics"
)

func TestTinyModelPredicts(t *testing.T) {
	t.Parallel()
	m, err := Load([]byte(tinyModel), tinyMeta(tinyModel), tinyNames)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	nan := math.NaN()
	tests := []struct {
		name string
		x    []float64
		want float64
	}{
		{"a below threshold", []float64{1, 9}, 1.5},
		{"a on threshold goes left", []float64{1.5, 9}, 1.5},
		{"a missing goes left", []float64{nan, 9}, 1.5},
		{"b on threshold goes left", []float64{2, 2.5}, 2.5},
		{"b above", []float64{2, 2.6}, 3.5},
		{"b missing goes right", []float64{2, nan}, 3.5},
		// 1.50000001 rounds to 1.5 in float32, so it goes left as XGBoost would.
		{"float32 rounding", []float64{1.50000001, 9}, 1.5},
	}
	for _, tc := range tests {
		got, err := m.Predict(tc.x)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: Predict(%v) = %v, want %v", tc.name, tc.x, got, tc.want)
		}
	}
	if _, err := m.Predict([]float64{1}); !errors.Is(err, ErrInput) {
		t.Errorf("Predict with 1 of 2 features: err = %v, want ErrInput", err)
	}
	v, err := m.Vector(topics.FeatureVector{Names: []string{"b", "x", "a"}, Values: []float64{2.6, 0, 2}})
	if err != nil || v[0] != 2 || v[1] != 2.6 {
		t.Errorf("Vector by name = %v, %v; want [2 2.6]", v, err)
	}
	if _, err := m.PredictVector(topics.FeatureVector{Names: []string{"a"}, Values: []float64{1}}); !errors.Is(err, ErrInput) {
		t.Errorf("PredictVector without b: err = %v, want ErrInput", err)
	}
}

func TestLog1pTransform(t *testing.T) {
	t.Parallel()
	meta := tinyMeta(tinyModel)
	meta.Transform = TransformLog1p
	m, err := Load([]byte(tinyModel), meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := m.Predict([]float64{0, 0})
	if want := math.Expm1(1.5); got != want {
		t.Errorf("Predict = %v, want expm1(1.5) = %v", got, want)
	}
}

func TestIntervalByHorizonWeek(t *testing.T) {
	t.Parallel()
	meta := tinyMeta(tinyModel)
	meta.Transform = TransformLog1p
	meta.Intervals = &topics.ModelIntervals{
		Level: 0.8, Method: "test", WeekDays: 7, Low: []float64{-0.1, -0.2}, High: []float64{0.1, 0.3},
	}
	m, err := Load([]byte(tinyModel), meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		horizon  int
		low, hi  float64
		hasRange bool
	}{
		{1, -0.1, 0.1, true}, {7, -0.1, 0.1, true}, {8, -0.2, 0.3, true}, {48, -0.2, 0.3, true}, {0, 0, 0, false},
	} {
		lo, hi, ok := m.Interval(8, tc.horizon)
		if ok != tc.hasRange {
			t.Fatalf("horizon %d: ok %v, want %v", tc.horizon, ok, tc.hasRange)
		}
		if ok && (lo != math.Expm1(8+tc.low) || hi != math.Expm1(8+tc.hi)) {
			t.Errorf("horizon %d: interval %v..%v, want expm1(8%+g)..expm1(8%+g)", tc.horizon, lo, hi, tc.low, tc.hi)
		}
	}
	plain, err := Load([]byte(tinyModel), tinyMeta(tinyModel), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := plain.Interval(8, 1); ok {
		t.Error("a model without intervals reports one")
	}
}

func TestForecastIsPredictAndInterval(t *testing.T) {
	t.Parallel()
	meta := tinyMeta(tinyModel)
	meta.Transform = TransformLog1p
	meta.Intervals = &topics.ModelIntervals{Level: 0.8, Method: "test", WeekDays: 7, Low: []float64{-0.1, -0.2}, High: []float64{0.1, 0.3}}
	m, err := Load([]byte(tinyModel), meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{0, 0}
	margin, _ := m.PredictMargin(x)
	sales, _ := m.Predict(x)
	for _, h := range []int{1, 9, 48} {
		p, err := m.Forecast(x, h)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi, ok := m.Interval(margin, h)
		if want := (Prediction{Sales: sales, Low: lo, High: hi, HasInterval: ok}); p != want || !ok {
			t.Errorf("horizon %d: Forecast = %+v, want %+v", h, p, want)
		}
		if p.Low > p.Sales || p.Sales > p.High {
			t.Errorf("horizon %d: %v is outside its interval %v..%v", h, p.Sales, p.Low, p.High)
		}
	}
	plain, err := Load([]byte(tinyModel), tinyMeta(tinyModel), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := plain.Forecast(x, 1); p.HasInterval || p.Low != 0 || p.High != 0 {
		t.Errorf("a model without intervals forecasts %+v", p)
	}
	if _, err := m.Forecast([]float64{0}, 1); !errors.Is(err, ErrInput) {
		t.Errorf("Forecast of a short vector: %v, want ErrInput", err)
	}
}

// TestLoadRefuses lists artifacts and claims Load must refuse, each with
// the error it must wrap.
func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	edit := func(old, new string) string {
		if !strings.Contains(tinyModel, old) {
			t.Fatalf("tiny model has no %q", old)
		}
		return strings.Replace(tinyModel, old, new, 1)
	}
	tests := []struct {
		name string
		text string
		meta func(m *Meta)
		want []string
		err  error
	}{
		{name: "checksum mismatch", text: tinyModel, meta: func(m *Meta) { m.SHA256 = digest([]byte("other")) }, err: ErrChecksum},
		{name: "no checksum", text: tinyModel, meta: func(m *Meta) { m.SHA256 = "" }, err: ErrChecksum},
		{name: "format", text: tinyModel, meta: func(m *Meta) { m.Format = "xgboost-json" }, err: ErrFormat},
		{name: "transform", text: tinyModel, meta: func(m *Meta) { m.Transform = "log" }, err: ErrFormat},
		{name: "schema differs from serving", text: tinyModel, want: []string{"a", "c"}, err: ErrSchema},
		{name: "schema length", text: tinyModel, want: []string{"a"}, err: ErrSchema},
		{name: "claimed names differ from artifact", text: tinyModel, meta: func(m *Meta) { m.FeatureNames = []string{"b", "a"} }, err: ErrSchema},
		{name: "no claimed names", text: tinyModel, meta: func(m *Meta) { m.FeatureNames = nil }, err: ErrSchema},
		{name: "empty", text: "", err: ErrMalformed},
		{name: "not a model", text: "{\"learner\": {}}", err: ErrMalformed},
		{name: "binary", text: "tree\n\x00\x01", err: ErrMalformed},
		{name: "version", text: edit("version=v3", "version=v4"), err: ErrMalformed},
		{name: "multiclass", text: edit("num_class=1", "num_class=2"), err: ErrMalformed},
		{name: "classifier", text: edit("objective=regression", "objective=binary sigmoid:1"), err: ErrMalformed},
		{name: "max_feature_idx", text: edit("max_feature_idx=1", "max_feature_idx=7"), err: ErrMalformed},
		{name: "no tree_sizes", text: edit("tree_sizes=10 10\n", ""), err: ErrMalformed},
		{name: "fewer trees than tree_sizes", text: edit("tree_sizes=10 10", "tree_sizes=10 10 10"), err: ErrMalformed},
		{name: "more trees than tree_sizes", text: edit("tree_sizes=10 10", "tree_sizes=10"), err: ErrMalformed},
		{name: "truncated", text: tinyModel[:len(tinyModel)/2], err: ErrMalformed},
		{name: "no end of trees", text: edit("end of trees\n", ""), err: ErrMalformed},
		{name: "tree out of order", text: edit("Tree=1", "Tree=2"), err: ErrMalformed},
		{name: "leaf count", text: edit("leaf_value=1 2 3", "leaf_value=1 2"), err: ErrMalformed},
		{name: "num_leaves huge", text: edit("num_leaves=3", "num_leaves=99999999"), err: ErrMalformed},
		{name: "child out of range", text: edit("right_child=1 -3", "right_child=5 -3"), err: ErrMalformed},
		{name: "leaf out of range", text: edit("right_child=1 -3", "right_child=1 -4"), err: ErrMalformed},
		{name: "cycle to root", text: edit("right_child=1 -3", "right_child=1 0"), err: ErrMalformed},
		{name: "shared leaf", text: edit("right_child=1 -3", "right_child=1 -2"), err: ErrMalformed},
		{name: "split feature out of range", text: edit("split_feature=0 1", "split_feature=0 2"), err: ErrMalformed},
		{name: "negative split feature", text: edit("split_feature=0 1", "split_feature=-1 1"), err: ErrMalformed},
		{name: "NaN threshold", text: edit("threshold=1.5 2.5", "threshold=nan 2.5"), err: ErrMalformed},
		{name: "infinite leaf", text: edit("leaf_value=0.5", "leaf_value=inf"), err: ErrMalformed},
		{name: "categorical split", text: edit("decision_type=10 8", "decision_type=11 8"), err: ErrMalformed},
		{name: "unknown missing type", text: edit("decision_type=10 8", "decision_type=14 8"), err: ErrMalformed},
		{name: "categorical tree", text: edit("num_cat=0\nsplit", "num_cat=1\nsplit"), err: ErrMalformed},
		{name: "duplicate key", text: edit("num_cat=0\nsplit", "num_cat=0\nnum_cat=0\nsplit"), err: ErrMalformed},
		{name: "two equals", text: edit("threshold=1.5 2.5", "threshold=1.5=2.5"), err: ErrMalformed},
		{name: "random forest", text: edit("label_index=0", "average_output"), err: ErrMalformed},
		{name: "intervals low after high", text: tinyModel, meta: func(m *Meta) {
			m.Intervals = &topics.ModelIntervals{Level: 0.8, WeekDays: 7, Low: []float64{0.1}, High: []float64{-0.1}}
		}, err: ErrMalformed},
		{name: "intervals lengths", text: tinyModel, meta: func(m *Meta) {
			m.Intervals = &topics.ModelIntervals{Level: 0.8, WeekDays: 7, Low: []float64{-0.1, -0.2}, High: []float64{0.1}}
		}, err: ErrMalformed},
		{name: "intervals level", text: tinyModel, meta: func(m *Meta) {
			m.Intervals = &topics.ModelIntervals{Level: 80, WeekDays: 7, Low: []float64{-0.1}, High: []float64{0.1}}
		}, err: ErrMalformed},
		{name: "intervals NaN", text: tinyModel, meta: func(m *Meta) {
			m.Intervals = &topics.ModelIntervals{Level: 0.8, WeekDays: 7, Low: []float64{math.NaN()}, High: []float64{0.1}}
		}, err: ErrMalformed},
		{name: "old feature schema", text: tinyModel, meta: func(m *Meta) { m.FeatureSchema = "f0" }, want: []string{"a", "c"}, err: ErrSchema},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			meta := tinyMeta(tc.text)
			if tc.meta != nil {
				tc.meta(&meta)
			}
			m, err := Load([]byte(tc.text), meta, tc.want)
			if err == nil {
				t.Fatalf("Load accepted the artifact (%d trees)", m.Trees())
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("Load error = %v, want %v", err, tc.err)
			}
		})
	}
}

// TestLeavesPanicIsRecovered feeds leaves (unchecked) a tree whose child
// index is out of range, on which leaves itself panics, and requires the
// last line of defence to turn that into an error.
func TestLeavesPanicIsRecovered(t *testing.T) {
	t.Parallel()
	bad := strings.Replace(tinyModel, "right_child=1 -3", "right_child=7 -3", 1)
	ens, err := loadLeaves([]byte(bad))
	if err == nil {
		t.Fatalf("leaves accepted an out-of-range child (%d trees)", ens.NEstimators())
	}
	if !errors.Is(err, ErrLeaves) {
		t.Errorf("err = %v, want ErrLeaves", err)
	}
	t.Log(err)
}

func TestLoadEvent(t *testing.T) {
	t.Parallel()
	meta := tinyMeta(tinyModel)
	ev := &topics.ModelEvent{V: topics.ModelEventVersion, Name: meta.Name, Version: "3", SHA256: meta.SHA256,
		Format: meta.Format, Transform: TransformLog1p, FeatureNames: tinyNames, Artifact: []byte(tinyModel)}
	m, err := LoadEvent(ev, tinyNames)
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta().Version != "3" || m.Meta().Transform != TransformLog1p {
		t.Errorf("meta = %+v", m.Meta())
	}
	ev.Artifact = nil
	ev.ArtifactURI = "models:/x/3"
	if _, err := LoadEvent(ev, nil); !errors.Is(err, ErrFetch) {
		t.Errorf("event without artifact: err = %v, want ErrFetch (no fetcher)", err)
	}
}
