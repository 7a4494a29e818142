package features

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestContractCompleteAfterDays: the trainer knows how many days after an
// example the log's days reach (an example is emitted once the store's
// latest day is AheadDays after it) from the shared fixture.
func TestContractCompleteAfterDays(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "contract", "names.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		CompleteAfterDays *int `json:"example_complete_after_days"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if c.CompleteAfterDays == nil || *c.CompleteAfterDays != AheadDays {
		t.Errorf("names.json example_complete_after_days = %v, want features.AheadDays = %d", c.CompleteAfterDays, AheadDays)
	}
}
