package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/storecast/storecast/api"
	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/processors/forecast"
	"github.com/storecast/storecast/topics"
)

// forecastGroup is the forecast group of `storecast process --only
// forecast` with the model feed that keeps its model registry current.
// Run may be called again after a failure: the registry, the metrics and
// the runner outlive it, the Kafka client and the feed are new each time.
type forecastGroup struct {
	kcfg     kafka.Config
	names    topics.Names
	suffix   string
	log      *slog.Logger
	m        *api.Metrics
	registry *model.Registry
	runner   *forecast.Runner
}

func newForecastGroup(c *ProcessCmd, g *Globals, names topics.Names, log *slog.Logger, reg prometheus.Registerer) (interface {
	Run(context.Context) error
}, error) {
	dir := c.StorageDir
	if dir != "" {
		dir += "/forecast"
	}
	kcfg := g.Kafka("forecast")
	m := api.NewMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"component": "forecast-group"}, reg))
	registry, _ := api.NewRegistryModels(features.Names(), log.With("component", "models"), m)
	runner, err := forecast.NewRunner(forecast.Config{Names: names, Kafka: kcfg, StorageDir: dir},
		forecast.FromRegistry(registry), log, reg)
	if err != nil {
		return nil, err
	}
	return &forecastGroup{kcfg: kcfg, names: names, suffix: c.NamesSuffix, log: log, m: m, registry: registry, runner: runner}, nil
}

// Run runs the group and its model feed until ctx is done.
func (f *forecastGroup) Run(ctx context.Context) error {
	sc := f.kcfg.Sarama()
	sc.Consumer.Return.Errors = true
	client, err := sarama.NewClient(f.kcfg.Brokers, sc)
	if err != nil {
		return fmt.Errorf("forecast group: kafka client: %w", err)
	}
	defer client.Close()
	feed := api.NewModelFeed(client, string(f.names.Models), f.registry, f.log.With("component", "model-feed"), f.m)
	feed.Suffix = f.suffix
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return feed.Run(gctx) })
	g.Go(func() error { return f.runner.Run(gctx) })
	return g.Wait()
}
