package model

import (
	"errors"
	"math"
	"path/filepath"
	"testing"
)

// TestGoldenParity replays the trainer's golden rows through leaves and
// compares with XGBoost's own predictions.
func TestGoldenParity(t *testing.T) {
	t.Parallel()
	g := loadGolden(t)
	m, err := Load(g.Text, g.Meta(), g.Manifest.FeatureNames)
	if err != nil {
		t.Fatalf("Load(golden): %v", err)
	}
	if len(g.X) < 10_000 || len(g.X) != g.Manifest.Rows {
		t.Fatalf("golden has %d rows (manifest %d), want >= 10000", len(g.X), g.Manifest.Rows)
	}

	// The rows must exercise what parity is about: missing values and
	// values exactly on an XGBoost threshold (t = t' + 1 float32 ulp).
	parsed, err := parseLightGBM(g.Text, g.Manifest.FeatureNames)
	if err != nil {
		t.Fatal(err)
	}
	onThreshold := make([]map[float32]bool, len(g.Manifest.FeatureNames))
	for i := range onThreshold {
		onThreshold[i] = map[float32]bool{}
	}
	for _, tr := range parsed.trees {
		for j, f := range tr.splitFeature {
			onThreshold[f][math.Nextafter32(float32(tr.threshold[j]), float32(math.Inf(1)))] = true
		}
	}
	var missing, onThr, rowsWithBoth int
	const relTol = 1e-4
	var maxAbs, maxRel float64
	for i, x := range g.X {
		var hasMissing, hasThr bool
		for j, v := range x {
			if math.IsNaN(v) {
				missing++
				hasMissing = true
			} else if onThreshold[j][float32(v)] {
				onThr++
				hasThr = true
			}
		}
		if hasMissing && hasThr {
			rowsWithBoth++
		}
		got, err := m.PredictMargin(x)
		if err != nil {
			t.Fatal(err)
		}
		want := g.Margin[i]
		d := math.Abs(got - want)
		rel := d / math.Max(math.Abs(want), 1e-12)
		maxAbs, maxRel = math.Max(maxAbs, d), math.Max(maxRel, rel)
		if rel > relTol {
			t.Errorf("row %d: leaves margin %.9g, xgboost %.9g (rel diff %.3g > %g)", i, got, want, rel, relTol)
		}
		p, err := m.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		if w := math.Expm1(want); math.Abs(p-w) > relTol*math.Abs(w) {
			t.Errorf("row %d: Predict %.9g, want expm1(xgboost) %.9g", i, p, w)
		}
	}
	t.Logf("%d rows, %d missing values, %d on-threshold values, %d rows with both; max |diff| %.3g abs, %.3g rel",
		len(g.X), missing, onThr, rowsWithBoth, maxAbs, maxRel)
	if missing < 5000 || onThr < 10_000 || rowsWithBoth < 1000 {
		t.Errorf("golden rows do not exercise missing (%d) and on-threshold (%d) values enough", missing, onThr)
	}
}

// TestGoldenParityProduction replays a production-shaped model (the real
// feature schema, >= 500 trees of the default depth, trained on real
// Rossmann examples; testdata/golden-production/manifest.json names the
// generator) through leaves on real examples.
func TestGoldenParityProduction(t *testing.T) {
	t.Parallel()
	g := loadGoldenDir(t, filepath.Join("testdata", "golden-production"))
	m, maxRel, err := g.Check()
	if err != nil {
		t.Fatalf("production golden: %v", err)
	}
	missing := 0
	for _, x := range g.X {
		for _, v := range x {
			if math.IsNaN(v) {
				missing++
			}
		}
	}
	t.Logf("%d trees, %d rows, %d missing values; max rel diff %.3g", m.Trees(), len(g.X), missing, maxRel)
	if m.Trees() < 500 || len(g.X) < 1000 {
		t.Errorf("production golden: %d trees, %d rows; want >= 500 trees and >= 1000 rows", m.Trees(), len(g.X))
	}
	if missing == 0 {
		t.Errorf("the production rows have no missing value; parity of the default directions is untested")
	}
}

// TestPredictMarginsEqualPredictMargin: a batch goes through the parts
// of the trees part by part (PartTrees) and gets, row by row, the margins
// and forecasts of single predictions, on the production-shaped model.
func TestPredictMarginsEqualPredictMargin(t *testing.T) {
	t.Parallel()
	g := loadGoldenDir(t, filepath.Join("testdata", "golden-production"))
	m, _, err := g.Check()
	if err != nil {
		t.Fatal(err)
	}
	if m.Trees() <= 2*PartTrees {
		t.Fatalf("%d trees: the test needs more than two parts", m.Trees())
	}
	xs := g.X[:300]
	got := make([]float64, len(xs))
	if err := m.PredictMargins(xs, got); err != nil {
		t.Fatal(err)
	}
	horizons := make([]int, len(xs))
	for i := range horizons {
		horizons[i] = 1 + i%48
	}
	batch := make([]Prediction, len(xs))
	if err := m.Forecasts(xs, horizons, batch); err != nil {
		t.Fatal(err)
	}
	for i, x := range xs {
		want, err := m.PredictMargin(x)
		if err != nil {
			t.Fatal(err)
		}
		if got[i] != want {
			t.Fatalf("row %d: batch margin %v, single %v", i, got[i], want)
		}
		one, err := m.Forecast(x, horizons[i])
		if err != nil || one != batch[i] {
			t.Fatalf("row %d: batch forecast %+v, single %+v (%v)", i, batch[i], one, err)
		}
	}
	if err := m.PredictMargins(xs, got[:1]); !errors.Is(err, ErrInput) {
		t.Errorf("rows and outputs of different lengths: %v, want ErrInput", err)
	}
	if err := m.PredictMargins([][]float64{xs[0][:3]}, got[:1]); !errors.Is(err, ErrInput) {
		t.Errorf("a short row: %v, want ErrInput", err)
	}
}

// TestGoldenCheckFailsOnAWrongMargin is Check's negative control.
func TestGoldenCheckFailsOnAWrongMargin(t *testing.T) {
	t.Parallel()
	g := loadGolden(t)
	g.Margin[17] += 1e-2
	if _, _, err := g.Check(); !errors.Is(err, ErrParity) {
		t.Fatalf("Check with one wrong margin: err = %v, want ErrParity", err)
	}
}

// TestGoldenNegativeControl shows the parity test can fail: the same
// trees with XGBoost's own thresholds (x <= t instead of x < t) disagree
// with XGBoost on the on-threshold rows.
func TestGoldenNegativeControl(t *testing.T) {
	t.Parallel()
	g := loadGolden(t)
	parsed, err := parseLightGBM(g.Text, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range parsed.trees {
		for j, th := range tr.threshold {
			tr.threshold[j] = float64(math.Nextafter32(float32(th), float32(math.Inf(1))))
		}
	}
	ens, err := loadLeaves(parsed.render())
	if err != nil {
		t.Fatal(err)
	}
	wrong := 0
	for i, x := range g.X {
		y := make([]float64, len(x))
		for j, v := range x {
			y[j] = float64(float32(v))
		}
		if p := ens.PredictSingle(y, 0); math.Abs(p-g.Margin[i]) > 1e-4*math.Abs(g.Margin[i]) {
			wrong++
		}
	}
	t.Logf("%d of %d rows differ with x <= t", wrong, len(g.X))
	if wrong < 100 {
		t.Errorf("only %d rows differ with the wrong threshold mapping; the goldens do not test on-threshold values", wrong)
	}
}

// TestGoldenFloat32Rounding shows why Predict rounds to float32: a value
// just above an XGBoost threshold t in float64 rounds onto t in float32,
// which XGBoost sends right (x < t is false). Unrounded, leaves would
// compare the float64 against t' and could disagree on other values; the
// rounded path must match XGBoost's margin.
func TestGoldenFloat32Rounding(t *testing.T) {
	t.Parallel()
	g := loadGolden(t)
	m, err := Load(g.Text, g.Meta(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Perturb every finite value by less than half a float32 ulp: the
	// float32 rounding and so XGBoost's answer do not change.
	for i, x := range g.X[:2000] {
		y := make([]float64, len(x))
		for j, v := range x {
			ulp := float64(math.Nextafter32(float32(v), float32(math.Inf(1)))) - float64(float32(v))
			y[j] = v + ulp/4
		}
		a, _ := m.PredictMargin(x)
		b, _ := m.PredictMargin(y)
		if a != b {
			t.Fatalf("row %d: margin %v changed to %v under sub-ulp perturbation", i, a, b)
		}
	}
}

func BenchmarkPredict(b *testing.B) {
	g := loadGolden(b)
	m, err := Load(g.Text, g.Meta(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := m.Predict(g.X[i%len(g.X)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/row")
	b.ReportMetric(float64(m.Trees()), "trees")
}

// BenchmarkForecasts: one store's six weeks (36 open days) forecast row by
// row and as one batch, on the production-shaped model.
func BenchmarkForecasts(b *testing.B) {
	g := loadGoldenDir(b, filepath.Join("testdata", "golden-production"))
	m, _, err := g.Check()
	if err != nil {
		b.Fatal(err)
	}
	xs := g.X[:36]
	horizons := make([]int, len(xs))
	for i := range horizons {
		horizons[i] = 1 + i
	}
	out := make([]Prediction, len(xs))
	b.Run("one-by-one", func(b *testing.B) {
		for b.Loop() {
			for i, x := range xs {
				if out[i], err = m.Forecast(x, horizons[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("batch", func(b *testing.B) {
		for b.Loop() {
			if err := m.Forecasts(xs, horizons, out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
