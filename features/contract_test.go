package features_test

import (
	"encoding/json"
	"testing"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/internal/testkit"
)

// TestContractCompleteAfterDays: the trainer knows how many days after an
// example the log's days reach (an example is emitted once the store's
// latest day is AheadDays after it) from the shared fixture.
func TestContractCompleteAfterDays(t *testing.T) {
	t.Parallel()
	var c struct {
		CompleteAfterDays *int `json:"example_complete_after_days"`
	}
	if err := json.Unmarshal(testkit.Contract(t, "names.json"), &c); err != nil {
		t.Fatal(err)
	}
	switch {
	case c.CompleteAfterDays == nil:
		t.Errorf("names.json has no example_complete_after_days, want features.AheadDays = %d", features.AheadDays)
	case *c.CompleteAfterDays != features.AheadDays:
		t.Errorf("names.json example_complete_after_days = %d, want features.AheadDays = %d", *c.CompleteAfterDays, features.AheadDays)
	}
}
