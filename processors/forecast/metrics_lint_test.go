package forecast

import (
	"testing"

	"github.com/storecast/storecast/internal/testkit"
)

// TestMetricNamesLint: the forecast processor's series follow Prometheus'
// naming conventions (promlint: base units as suffixes, _total on counters only).
func TestMetricNamesLint(t *testing.T) {
	reg := testkit.NewLintRegistry()
	NewMetrics(reg)
	if names := reg.Lint(t); len(names) < 3 {
		t.Errorf("linted only %v", names)
	}
}
