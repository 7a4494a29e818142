package sink

import (
	"log/slog"
	"testing"

	"github.com/storecast/storecast/internal/testkit"
)

// TestMetricNamesLint: the sink's series follow Prometheus' naming
// conventions (promlint: base units as suffixes, _total on counters only).
func TestMetricNamesLint(t *testing.T) {
	reg := testkit.NewLintRegistry()
	if _, err := newMetrics(reg); err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(testkit.DescribedOnly(newAccuracyCollector("", slog.New(slog.DiscardHandler))))
	if names := reg.Lint(t); len(names) < 13 {
		t.Errorf("linted only %v", names)
	}
}
