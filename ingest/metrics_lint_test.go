package ingest

import (
	"testing"

	"github.com/storecast/storecast/internal/testkit"
)

// TestMetricNamesLint: the producer's series follow Prometheus' naming
// conventions (promlint: base units as suffixes, _total on counters only).
func TestMetricNamesLint(t *testing.T) {
	reg := testkit.NewLintRegistry()
	if _, err := NewMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if names := reg.Lint(t); len(names) < 3 {
		t.Errorf("linted only %v", names)
	}
}
