package model

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/storecast/storecast/topics"
)

// tinyModel is a hand-made two-feature model: tree 0 sends a (NaN: left)
// <= 1.5 to leaf 1, else b (NaN: right) <= 2.5 to leaf 2, else leaf 3;
// tree 1 is a constant 0.5.
const tinyModel = `tree
version=v3
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=1
objective=regression
feature_names=a b
feature_infos=none none
tree_sizes=10 10

Tree=0
num_leaves=3
num_cat=0
split_feature=0 1
split_gain=0 0
threshold=1.5 2.5
decision_type=10 8
left_child=-1 -2
right_child=1 -3
leaf_value=1 2 3
shrinkage=1


Tree=1
num_leaves=1
num_cat=0
leaf_value=0.5
shrinkage=1


end of trees
`

var tinyNames = []string{"a", "b"}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func tinyMeta(text string) Meta {
	return Meta{
		Name: "tiny", Version: "1", SHA256: digest([]byte(text)), Format: topics.FormatLightGBMText,
		Transform: TransformNone, FeatureNames: tinyNames, FeatureSchema: "test",
	}
}

// golden is the trainer-generated parity set in testdata/golden.
type golden struct {
	Manifest struct {
		Format        string   `json:"format"`
		SHA256        string   `json:"sha256"`
		FeatureNames  []string `json:"feature_names"`
		FeatureSchema string   `json:"feature_schema"`
		Transform     string   `json:"target_transform"`
		Rows          int      `json:"rows"`
	}
	Text   []byte
	X      [][]float64
	Margin []float64
}

func (g *golden) meta() Meta {
	return Meta{
		Name: "golden", Version: "1", SHA256: g.Manifest.SHA256, Format: g.Manifest.Format,
		Transform: g.Manifest.Transform, FeatureNames: g.Manifest.FeatureNames, FeatureSchema: g.Manifest.FeatureSchema,
	}
}

func gunzip(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadGolden(t testing.TB) *golden {
	t.Helper()
	return loadGoldenDir(t, filepath.Join("testdata", "golden"))
}

// loadGoldenDir reads a golden set (manifest.json, model.txt.gz,
// rows.csv.gz) the trainer wrote to dir.
func loadGoldenDir(t testing.TB, dir string) *golden {
	t.Helper()
	g := &golden{}
	mb, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mb, &g.Manifest); err != nil {
		t.Fatal(err)
	}
	g.Text = gunzip(t, filepath.Join(dir, "model.txt.gz"))
	rows := gunzip(t, filepath.Join(dir, "rows.csv.gz"))
	recs, err := csv.NewReader(bytesReader(rows)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	n := len(g.Manifest.FeatureNames)
	if len(recs[0]) != n+1 || recs[0][n] != "xgb_margin" {
		t.Fatalf("rows.csv header %v does not match the manifest's %d features", recs[0], n)
	}
	for i, name := range g.Manifest.FeatureNames {
		if recs[0][i] != name {
			t.Fatalf("rows.csv column %d is %q, manifest says %q", i, recs[0][i], name)
		}
	}
	for _, r := range recs[1:] {
		x := make([]float64, n)
		for i := range x {
			if r[i] == "" {
				x[i] = math.NaN()
				continue
			}
			if x[i], err = strconv.ParseFloat(r[i], 64); err != nil {
				t.Fatal(err)
			}
		}
		m, err := strconv.ParseFloat(r[n], 64)
		if err != nil {
			t.Fatal(err)
		}
		g.X = append(g.X, x)
		g.Margin = append(g.Margin, m)
	}
	return g
}
