package model

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// fuzzSeeds are artifacts the fuzz target starts from: the tiny model, the
// head of the golden model, and hand-picked broken variants.
func fuzzSeeds(t testing.TB) [][]byte {
	g := loadGolden(t)
	// The first ~3 trees of the golden model, re-headed to a 3-tree model.
	parsed, err := parseLightGBM(g.Text, nil)
	if err != nil {
		t.Fatal(err)
	}
	parsed.trees = parsed.trees[:3]
	return [][]byte{
		[]byte(tinyModel),
		parsed.render(),
		[]byte(tinyModel[:200]),
		bytes.Replace([]byte(tinyModel), []byte("right_child=1 -3"), []byte("right_child=7 -3"), 1),
		bytes.Replace([]byte(tinyModel), []byte("leaf_value=1 2 3"), []byte("leaf_value=1"), 1),
		bytes.Replace([]byte(tinyModel), []byte("decision_type=10 8"), []byte("decision_type=9 8"), 1),
	}
}

// checkNoCrash loads data claiming the right checksum (so the parser, not
// the checksum, must refuse bad text) and, when it loads, requires finite
// predictions on a few vectors.
func checkNoCrash(t *testing.T, data []byte, names []string) {
	meta := Meta{Name: "fuzz", SHA256: digest(data), Format: tinyMeta("").Format, FeatureNames: names}
	m, err := Load(data, meta, nil)
	if err != nil {
		return
	}
	for _, fill := range []float64{math.NaN(), -1e30, 0, 1.5, 1e30} {
		x := make([]float64, len(names))
		for i := range x {
			x[i] = fill
		}
		if p, err := m.Predict(x); err != nil || math.IsNaN(p) {
			t.Fatalf("loaded model predicts %v, %v", p, err)
		}
	}
}

// FuzzLoad feeds mutated and truncated artifacts to Load: each must be
// refused with an error or load a model that predicts; nothing may panic.
// Run the seeds with `go test`, explore with
// `go test -fuzz FuzzLoad ./model/`.
func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, uint16(0), false, "")
		f.Add(s, uint16(len(s)/3), true, "")
	}
	f.Add([]byte(tinyModel), uint16(0), false, "b a")
	f.Add([]byte(tinyModel), uint16(0), false, "a b c")
	g := loadGolden(f)
	goldenNames := g.Manifest.FeatureNames
	f.Fuzz(func(t *testing.T, data []byte, cut uint16, golden bool, claimed string) {
		if int(cut) > 0 && int(cut) < len(data) {
			data = data[:cut]
		}
		names := tinyNames
		if golden {
			names = goldenNames
		}
		if claimed != "" {
			// A claimed feature schema other than the artifact's must be refused.
			names = strings.Fields(claimed)
		}
		checkNoCrash(t, data, names)
	})
}

// TestMutatedArtifacts is a deterministic sweep of byte flips, deleted
// and duplicated lines and truncations of real artifacts.
func TestMutatedArtifacts(t *testing.T) {
	t.Parallel()
	seeds := fuzzSeeds(t)
	goldenNames := loadGolden(t).Manifest.FeatureNames
	rng := rand.New(rand.NewPCG(5, 42))
	alphabet := []byte("0123456789-.=\n eE+naif~")
	for i := 0; i < 3000; i++ {
		seed := seeds[i%2]
		names := tinyNames
		if i%2 == 1 {
			names = goldenNames
		}
		data := append([]byte(nil), seed...)
		switch i % 4 {
		case 0: // flip a few bytes to plausible characters
			for k := 0; k < 1+rng.IntN(4); k++ {
				data[rng.IntN(len(data))] = alphabet[rng.IntN(len(alphabet))]
			}
		case 1: // truncate
			data = data[:rng.IntN(len(data))]
		case 2: // delete a line
			lines := bytes.Split(data, []byte("\n"))
			k := rng.IntN(len(lines))
			data = bytes.Join(append(lines[:k:k], lines[k+1:]...), []byte("\n"))
		case 3: // duplicate a line elsewhere
			lines := bytes.Split(data, []byte("\n"))
			k, to := rng.IntN(len(lines)), rng.IntN(len(lines))
			out := append([][]byte{}, lines[:to]...)
			out = append(out, lines[k])
			out = append(out, lines[to:]...)
			data = bytes.Join(out, []byte("\n"))
		}
		checkNoCrash(t, data, names)
	}
}
