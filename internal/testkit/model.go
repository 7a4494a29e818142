package testkit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/topics"
)

// ModelEvent returns a verified model event over the real feature schema
// (name storecast-sales): one LightGBM tree splitting on promo, predicting
// sales lo without and hi with a promo (log1p transform).
func ModelEvent(version string, lo, hi float64) *topics.ModelEvent {
	names := features.Names()
	promo := -1
	for i, n := range names {
		if n == "promo" {
			promo = i
		}
	}
	infos := strings.TrimSpace(strings.Repeat("none ", len(names)))
	text := fmt.Sprintf(`tree
version=v3
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=%d
objective=regression
feature_names=%s
feature_infos=%s
tree_sizes=10

Tree=0
num_leaves=2
num_cat=0
split_feature=%d
split_gain=0
threshold=0.5
decision_type=10
left_child=-1
right_child=-2
leaf_value=%g %g
shrinkage=1


end of trees
`, len(names)-1, strings.Join(names, " "), infos, promo, math.Log1p(lo), math.Log1p(hi))
	sum := sha256.Sum256([]byte(text))
	return &topics.ModelEvent{
		V: topics.ModelEventVersion, Name: "storecast-sales", Version: version, RunID: "run-" + version,
		FeatureNames: names, FeatureSchema: features.SchemaVersion, Format: topics.FormatLightGBMText,
		Transform: "log1p", SHA256: hex.EncodeToString(sum[:]), Artifact: []byte(text), At: time.Now().UTC(),
	}
}
