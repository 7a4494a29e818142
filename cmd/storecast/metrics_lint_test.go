package main

import (
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/api"
	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/ingest"
	"github.com/storecast/storecast/internal/platform/health"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/platform/supervise"
	"github.com/storecast/storecast/internal/testkit"
	featuresproc "github.com/storecast/storecast/processors/features"
	"github.com/storecast/storecast/processors/forecast"
	"github.com/storecast/storecast/publish"
	"github.com/storecast/storecast/sink"
	"github.com/storecast/storecast/topics"
	"github.com/storecast/storecast/views"
)

// TestMetricNamesLint lints, per command, the metrics its packages
// register (as its Run wires them; no broker or database is reached) with
// promlint and the project's own checks (testkit.LintRegistry): base units
// as suffixes, _total on counters only, help texts, time in seconds. Vectors
// without series and custom collectors are linted from their descriptions.
// systemtest TestObservabilityEndToEnd lints the same commands' live
// /metrics after a workload.
func TestMetricNamesLint(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	lag := func() prometheus.Collector { return testkit.DescribedOnly(kafka.NewGroupLag(kafka.Config{}, log)) }
	for _, tc := range []struct {
		command  string
		register func(t *testing.T, reg *testkit.LintRegistry)
		families int
	}{
		{"produce", func(t *testing.T, reg *testkit.LintRegistry) {
			if _, err := ingest.NewMetrics(reg); err != nil {
				t.Fatal(err)
			}
		}, 3},
		{"process", func(t *testing.T, reg *testkit.LintRegistry) {
			if _, err := supervise.New(supervise.DefaultPolicy, log, reg); err != nil {
				t.Fatal(err)
			}
			if _, err := featuresproc.NewMetrics(reg); err != nil {
				t.Fatal(err)
			}
			forecast.NewMetrics(reg)
			forecasting.NewMetrics(reg)
			views.NewModelFeedMetrics(reg)
			reg.MustRegister(supervise.ProcessRestarts(1), lag())
		}, 20},
		{"sink", func(t *testing.T, reg *testkit.LintRegistry) {
			cfg := sink.Config{Kafka: kafka.Config{Brokers: []string{"127.0.0.1:1"}}, Names: topics.DefaultNames(), PGDSN: "postgres://lint@127.0.0.1:1/lint"}
			if _, err := sink.New(cfg, log, reg); err != nil {
				t.Fatal(err)
			}
			reg.MustRegister(supervise.ProcessRestarts(1), lag())
		}, 16},
		{"serve", func(_ *testing.T, reg *testkit.LintRegistry) {
			api.NewMetrics(reg)
			views.NewModelFeedMetrics(reg)
			publish.NewForecastLogMetrics(reg)
			forecasting.NewMetrics(reg)
			health.NewMetrics(reg)
			reg.MustRegister(supervise.ProcessRestarts(1), testkit.DescribedOnly((&views.Views{}).Collector()),
				testkit.DescribedOnly(forecasting.NewModelMetrics(nil, nil)), testkit.DescribedOnly(forecasting.NewDrift(0, 0)))
		}, 25},
	} {
		t.Run(tc.command, func(t *testing.T) {
			reg := testkit.NewLintRegistry()
			tc.register(t, reg)
			if names := reg.Lint(t); len(names) < tc.families {
				t.Errorf("linted %d families %v, want at least %d", len(names), names, tc.families)
			}
		})
	}
}
