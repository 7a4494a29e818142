package forecasting_test

import (
	"testing"

	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/internal/testkit"
)

// TestMetricNamesLint: the forecasting core's series (predictions, model,
// drift) follow Prometheus' naming conventions (promlint: base units as
// suffixes, _total on counters only).
func TestMetricNamesLint(t *testing.T) {
	reg := testkit.NewLintRegistry()
	forecasting.NewMetrics(reg)
	reg.MustRegister(testkit.DescribedOnly(forecasting.NewModelMetrics(nil, nil)), testkit.DescribedOnly(forecasting.NewDrift(100, 10)))
	if names := reg.Lint(t); len(names) < 8 {
		t.Errorf("linted only %v", names)
	}
}
