package forecasting

import (
	"math"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/metrics"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/topics"
)

// Drift watches the feature vectors the engine computes for the served
// all-stores model and compares, per feature, their distribution over a
// sliding window of the last Window vectors with the model's training
// distribution (ModelMeta.FeatureBins) by the population stability index:
//
//	PSI = Σ_bins (served_i - trained_i) · ln(served_i / trained_i)
//
// over the model's bins plus one for missing values, each share floored at
// 1e-4. Below 0.1 is stable, above 0.25 a significant shift. A new model
// version starts a new window. It is a Prometheus collector:
//
//	storecast_model_feature_psi{feature}      once MinSamples vectors are in the window
//	storecast_model_drift_window_vectors      vectors in the window
//
// It is safe for concurrent use.
type Drift struct {
	window, minSamples int

	psiDesc, nDesc *prometheus.Desc

	mu  sync.Mutex
	cur *driftWindow
}

// DriftWindow and DriftMinSamples are the defaults of NewDrift.
const (
	DriftWindow     = 20_000
	DriftMinSamples = 1_000
)

// NewDrift returns a drift monitor over windows of window vectors that
// reports PSI once minSamples vectors arrived (0: the defaults).
func NewDrift(window, minSamples int) *Drift {
	if window <= 0 {
		window = DriftWindow
	}
	if minSamples <= 0 {
		minSamples = DriftMinSamples
	}
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, "model", n) }
	return &Drift{
		window: window, minSamples: min(minSamples, window),
		psiDesc: prometheus.NewDesc(name("feature_psi"),
			"Population stability index of a feature between the served model's training distribution and the recent served feature vectors.", []string{"feature"}, nil),
		nDesc: prometheus.NewDesc(name("drift_window_vectors"), "Served feature vectors in the drift window.", nil, nil),
	}
}

var _ prometheus.Collector = (*Drift)(nil)

// driftWindow is the window of one model: per watched feature its bins,
// trained shares and served counts, and the ring of bin indices to evict.
type driftWindow struct {
	meta  *ModelMeta
	feats []driftFeature
	ring  []uint16 // len(window) * len(feats)
	pos   int      // next vector slot
	n     int      // vectors in the window
}

type driftFeature struct {
	name    string
	col     int       // index in the vector
	edges   []float64 // bin i = (edges[i-1], edges[i]]
	trained []float64 // len(edges)+2: the bins, then missing
	counts  []int
}

func newDriftWindow(meta *ModelMeta, window int) *driftWindow {
	col := make(map[string]int, len(meta.FeatureNames))
	for i, n := range meta.FeatureNames {
		col[n] = i
	}
	w := &driftWindow{meta: meta}
	for _, b := range meta.FeatureBins {
		c, ok := col[b.Feature]
		if !ok || len(b.Fractions) != len(b.Edges)+1 || len(b.Edges)+2 > math.MaxUint16 || !sort.Float64sAreSorted(b.Edges) {
			continue // not a bin set this model can be watched with
		}
		trained := append(append(make([]float64, 0, len(b.Fractions)+1), b.Fractions...), b.Missing)
		w.feats = append(w.feats, driftFeature{name: b.Feature, col: c, edges: b.Edges, trained: trained, counts: make([]int, len(trained))})
	}
	w.ring = make([]uint16, window*len(w.feats))
	return w
}

// Bin returns the bin of x among edges: i for x in (edges[i-1], edges[i]],
// len(edges) above the last edge, len(edges)+1 for NaN.
func Bin(edges []float64, x float64) int {
	if math.IsNaN(x) {
		return len(edges) + 1
	}
	return sort.SearchFloat64s(edges, x)
}

// PSI is the population stability index of served against trained shares
// (both summing to 1), each floored at 1e-4.
func PSI(served, trained []float64) float64 {
	const floor = 1e-4
	psi := 0.0
	for i := range trained {
		a, e := math.Max(served[i], floor), math.Max(trained[i], floor)
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}

// Observe adds one feature vector x (in meta.FeatureNames order) computed
// for the model meta describes. Vectors of other models than the current
// all-stores one are ignored; a new model version starts a new window.
func (d *Drift) Observe(meta *ModelMeta, x []float64) {
	if d == nil || len(meta.FeatureBins) == 0 || meta.Name != model.GlobalModelName {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.cur
	if w == nil || w.meta != meta {
		w = newDriftWindow(meta, d.window)
		d.cur = w
	}
	nf := len(w.feats)
	if nf == 0 {
		return
	}
	slot := w.ring[w.pos*nf : (w.pos+1)*nf]
	for i := range w.feats {
		f := &w.feats[i]
		if w.n == d.window {
			f.counts[slot[i]]--
		}
		v := math.NaN()
		if f.col < len(x) {
			v = x[f.col]
		}
		b := Bin(f.edges, v)
		f.counts[b]++
		slot[i] = uint16(b)
	}
	w.pos = (w.pos + 1) % d.window
	if w.n < d.window {
		w.n++
	}
}

// PSIs returns the current PSI per feature, or nil while fewer than
// MinSamples vectors are in the window.
func (d *Drift) PSIs() map[string]float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.cur
	if w == nil || w.n < d.minSamples {
		return nil
	}
	out := make(map[string]float64, len(w.feats))
	served := make([]float64, 0, 16)
	for _, f := range w.feats {
		served = served[:0]
		for _, c := range f.counts {
			served = append(served, float64(c)/float64(w.n))
		}
		out[f.name] = PSI(served, f.trained)
	}
	return out
}

// Describe implements prometheus.Collector.
func (d *Drift) Describe(ch chan<- *prometheus.Desc) {
	ch <- d.psiDesc
	ch <- d.nDesc
}

// Collect implements prometheus.Collector.
func (d *Drift) Collect(ch chan<- prometheus.Metric) {
	for f, v := range d.PSIs() {
		ch <- prometheus.MustNewConstMetric(d.psiDesc, prometheus.GaugeValue, v, f)
	}
	d.mu.Lock()
	n := 0
	if d.cur != nil {
		n = d.cur.n
	}
	d.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(d.nDesc, prometheus.GaugeValue, float64(n))
}

// TrainingBins returns the bins of one feature's training values in the
// trainer's way (trainer/src/storecast_trainer/drift.py), for tests and
// tools: every distinct value its own bin when there are at most 20, else
// the deciles as edges; NaN counts as missing.
func TrainingBins(feature string, values []float64) topics.FeatureBins {
	var v []float64
	missing := 0
	for _, x := range values {
		if math.IsNaN(x) {
			missing++
		} else {
			v = append(v, x)
		}
	}
	sort.Float64s(v)
	var edges []float64
	uniq := compactSorted(v)
	if len(uniq) <= 20 {
		if len(uniq) > 1 {
			edges = uniq[:len(uniq)-1]
		}
	} else {
		for q := 1; q < 10; q++ {
			edges = append(edges, quantile(v, float64(q)/10))
		}
		edges = compactSorted(edges)
	}
	fr := make([]float64, len(edges)+1)
	for _, x := range v {
		fr[Bin(edges, x)]++
	}
	n := float64(len(values))
	for i := range fr {
		fr[i] /= n
	}
	return topics.FeatureBins{Feature: feature, Edges: edges, Fractions: fr, Missing: float64(missing) / n}
}

func compactSorted(v []float64) []float64 {
	var out []float64
	for i, x := range v {
		if i == 0 || x != v[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// quantile is numpy's default (linear) quantile of sorted v.
func quantile(v []float64, q float64) float64 {
	pos := q * float64(len(v)-1)
	lo := int(math.Floor(pos))
	if lo+1 >= len(v) {
		return v[len(v)-1]
	}
	return v[lo] + (pos-float64(lo))*(v[lo+1]-v[lo])
}
