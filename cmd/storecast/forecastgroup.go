package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/processors/forecast"
	"github.com/storecast/storecast/topics"
	"github.com/storecast/storecast/views"
)

// forecastGroup is the forecast group of `storecast process --only
// forecast` with the model feed that keeps its model registry current.
// Run may be called again after a failure: the registry, the metrics and
// the runner outlive it, the Kafka client and the feed are new each time.
type forecastGroup struct {
	kcfg        kafka.Config
	names       topics.Names
	suffix      string
	log         *slog.Logger
	registry    *model.Registry
	feedMetrics *views.ModelFeedMetrics
	runner      *forecast.Runner
}

// newForecastGroup builds the group and registers its metrics (the
// group's, the forecasting core's and the model feed's) on reg.
func newForecastGroup(c *ProcessCmd, g *Globals, names topics.Names, log *slog.Logger, reg prometheus.Registerer) (interface {
	Run(context.Context) error
}, error) {
	dir := c.StorageDir
	if dir != "" {
		dir += "/forecast"
	}
	kcfg := g.Kafka("forecast")
	mc, err := g.MLflow(c.NamesSuffix)
	if err != nil {
		return nil, err
	}
	registry, models := forecasting.NewRegistryModels(features.Names(), log.With("component", "models"), modelOptions(mc)...)
	runner, err := forecast.NewRunner(forecast.Config{Names: names, Kafka: kcfg, StorageDir: dir}, models, log, reg)
	if err != nil {
		return nil, err
	}
	// The model this group forecasts with (storecast_model_info and its
	// companions), as serve exports it: both show the version they serve.
	if err := reg.Register(forecasting.NewModelMetrics(models, nil)); err != nil {
		return nil, fmt.Errorf("forecast group: model metrics: %w", err)
	}
	return &forecastGroup{kcfg: kcfg, names: names, suffix: c.NamesSuffix, log: log, registry: registry,
		feedMetrics: views.NewModelFeedMetrics(reg), runner: runner}, nil
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
	feed := views.NewModelFeed(client, string(f.names.Models), f.registry, f.log.With("component", "model-feed"), f.feedMetrics)
	feed.Suffix = f.suffix
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return feed.Run(gctx) })
	g.Go(func() error { return f.runner.Run(gctx) })
	return g.Wait()
}
