package views

import (
	"testing"

	"github.com/storecast/storecast/internal/testkit"
)

// TestMetricNamesLint: the views' and the model feed's series follow
// Prometheus' naming conventions (promlint: base units as suffixes, _total
// on counters only).
func TestMetricNamesLint(t *testing.T) {
	reg := testkit.NewLintRegistry()
	NewModelFeedMetrics(reg)
	reg.MustRegister(testkit.DescribedOnly((&Views{}).Collector()))
	if names := reg.Lint(t); len(names) < 5 {
		t.Errorf("linted only %v", names)
	}
}
