package model_test

import (
	"encoding/json"
	"testing"

	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/model"
)

// TestContractModelNames checks the registered model names against the
// fixture the trainer's tests read too (testdata/contract/names.json).
func TestContractModelNames(t *testing.T) {
	t.Parallel()
	var c struct {
		Models map[string]string `json:"models"`
	}
	if err := json.Unmarshal(testkit.Contract(t, "names.json"), &c); err != nil {
		t.Fatal(err)
	}
	if got := model.GlobalModelName; got != c.Models["all_stores"] {
		t.Errorf("all-stores model: got %q, fixture %q", got, c.Models["all_stores"])
	}
	if got := model.StoreModelName(7); got != c.Models["store_7"] {
		t.Errorf("store 7 model: got %q, fixture %q", got, c.Models["store_7"])
	}
}
