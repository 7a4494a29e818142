package model

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
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

// golden is a trainer-generated parity set (testdata/golden*).
type golden = Golden

func loadGolden(t testing.TB) *golden {
	t.Helper()
	return loadGoldenDir(t, filepath.Join("testdata", "golden"))
}

// loadGoldenDir reads a golden set the trainer wrote to dir.
func loadGoldenDir(t testing.TB, dir string) *golden {
	t.Helper()
	g, err := ReadGolden(dir)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
