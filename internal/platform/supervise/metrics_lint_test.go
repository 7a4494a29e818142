package supervise

import (
	"log/slog"
	"testing"

	"github.com/storecast/storecast/internal/testkit"
)

// TestMetricNamesLint: the supervisors' series follow Prometheus' naming
// conventions (promlint: base units as suffixes, _total on counters only).
func TestMetricNamesLint(t *testing.T) {
	reg := testkit.NewLintRegistry()
	if _, err := New(DefaultPolicy, slog.New(slog.DiscardHandler), reg); err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(ProcessRestarts(2))
	if names := reg.Lint(t); len(names) < 3 {
		t.Errorf("linted only %v", names)
	}
}
