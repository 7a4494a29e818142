package kafka_test

import (
	"log/slog"
	"testing"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
)

// TestMetricNamesLint: the consumer-group lag's series follow Prometheus'
// naming conventions (promlint: base units as suffixes, _total on counters only).
func TestMetricNamesLint(t *testing.T) {
	reg := testkit.NewLintRegistry()
	reg.MustRegister(testkit.DescribedOnly(kafka.NewGroupLag(kafka.Config{}, slog.New(slog.DiscardHandler))))
	if names := reg.Lint(t); len(names) < 2 {
		t.Errorf("linted only %v", names)
	}
}
