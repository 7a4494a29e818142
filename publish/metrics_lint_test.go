package publish_test

import (
	"testing"

	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/publish"
)

// TestMetricNamesLint: the forecast log's series follow Prometheus' naming
// conventions (promlint: base units as suffixes, _total on counters only).
func TestMetricNamesLint(t *testing.T) {
	reg := testkit.NewLintRegistry()
	publish.NewForecastLogMetrics(reg)
	if names := reg.Lint(t); len(names) < 8 {
		t.Errorf("linted only %v", names)
	}
}
