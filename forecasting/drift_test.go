package forecasting_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/topics"
)

func TestBin(t *testing.T) {
	edges := []float64{1, 2, 5}
	tests := []struct {
		x    float64
		want int
	}{
		{-10, 0}, {1, 0}, {1.5, 1}, {2, 1}, {3, 2}, {5, 2}, {5.1, 3}, {math.Inf(1), 3}, {math.NaN(), 4},
	}
	for _, tt := range tests {
		if got := forecasting.Bin(edges, tt.x); got != tt.want {
			t.Errorf("Bin(%v) = %d, want %d", tt.x, got, tt.want)
		}
	}
}

func TestPSI(t *testing.T) {
	tests := []struct {
		name            string
		served, trained []float64
		lo, hi          float64
	}{
		{"same", []float64{0.5, 0.5}, []float64{0.5, 0.5}, 0, 0},
		{"moderate", []float64{0.6, 0.4}, []float64{0.5, 0.5}, 0.03, 0.05},
		{"a bin never trained on", []float64{0.5, 0.5}, []float64{1, 0}, 4, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := forecasting.PSI(tt.served, tt.trained); got < tt.lo || got > tt.hi {
				t.Errorf("PSI = %v, want in [%v, %v]", got, tt.lo, tt.hi)
			}
		})
	}
}

// driftVectors draws n vectors of (promo, day_of_week, distance): promo
// 0/1 with P(1) = pPromo, day of week uniform 1..7, distance normal around
// mean.
func driftVectors(rng *rand.Rand, n int, pPromo, mean float64) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		promo := 0.0
		if rng.Float64() < pPromo {
			promo = 1
		}
		dist := mean + 300*rng.NormFloat64()
		if rng.Float64() < 0.02 {
			dist = math.NaN()
		}
		out[i] = []float64{promo, float64(1 + rng.IntN(7)), dist}
	}
	return out
}

// TestDriftRaisesPSIOnShiftedFeaturesOnly trains bins on synthetic
// vectors, serves vectors from the same distribution (PSI stays low for
// every feature), then shifted traffic on two features: their PSI rises
// above the alert line, the unshifted feature's stays low.
func TestDriftRaisesPSIOnShiftedFeaturesOnly(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"promo", "day_of_week", "competition_distance"}
	train := driftVectors(rng, 50_000, 0.4, 2000)
	var bins []topics.FeatureBins
	for j, n := range names {
		col := make([]float64, len(train))
		for i := range train {
			col[i] = train[i][j]
		}
		bins = append(bins, forecasting.TrainingBins(n, col))
	}
	meta := &forecasting.ModelMeta{Name: model.GlobalModelName, Version: "1", FeatureNames: names, FeatureBins: bins}
	d := forecasting.NewDrift(5_000, 1_000)

	for _, x := range driftVectors(rng, 999, 0.4, 2000) {
		d.Observe(meta, x)
	}
	if got := d.PSIs(); got != nil {
		t.Fatalf("PSI before 1,000 vectors: %v, want none", got)
	}
	for _, x := range driftVectors(rng, 5_000, 0.4, 2000) {
		d.Observe(meta, x)
	}
	for f, v := range d.PSIs() {
		if v > 0.02 {
			t.Errorf("unshifted traffic: PSI(%s) = %.4f, want < 0.02", f, v)
		}
	}

	// Promotions every day and stores far from competitors: a full window
	// of shifted traffic replaces the old one.
	for _, x := range driftVectors(rng, 5_000, 0.95, 2600) {
		d.Observe(meta, x)
	}
	psi := d.PSIs()
	t.Logf("PSI after the shift: %v", psi)
	for _, f := range []string{"promo", "competition_distance"} {
		if psi[f] <= 0.25 {
			t.Errorf("shifted %s: PSI %.4f, want > 0.25", f, psi[f])
		}
	}
	if psi["day_of_week"] > 0.02 {
		t.Errorf("unshifted day_of_week: PSI %.4f, want < 0.02", psi["day_of_week"])
	}

	// The metric per feature; a per-store model's vectors do not count.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(d)
	if n, err := testutil.GatherAndCount(reg, "storecast_model_feature_psi"); err != nil || n != 3 {
		t.Errorf("%d PSI series, %v; want 3", n, err)
	}
	storeModel := &forecasting.ModelMeta{Name: model.StoreModelName(1), Version: "1", FeatureNames: names, FeatureBins: bins}
	for _, x := range driftVectors(rng, 5_000, 0.4, 2000) {
		d.Observe(storeModel, x)
	}
	if after := d.PSIs(); after["promo"] != psi["promo"] {
		t.Errorf("a per-store model's vectors moved PSI(promo) from %v to %v", psi["promo"], after["promo"])
	}

	// A new model version starts a new window.
	next := *meta
	next.Version = "2"
	d.Observe(&next, driftVectors(rng, 1, 0.4, 2000)[0])
	if got := d.PSIs(); got != nil {
		t.Errorf("PSI right after a new model: %v, want none until 1,000 vectors", got)
	}
}
