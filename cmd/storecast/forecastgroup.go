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
	"github.com/storecast/storecast/processors/forecast"
	"github.com/storecast/storecast/topics"
)

// forecastGroup is the forecast group of `storecast process --only
// forecast` with the model feed that keeps its model registry current.
type forecastGroup struct {
	kcfg       kafka.Config
	names      topics.Names
	storageDir string
	suffix     string
	reg        prometheus.Registerer
	log        *slog.Logger
}

func newForecastGroup(c *ProcessCmd, g *Globals, names topics.Names, log *slog.Logger, reg prometheus.Registerer) (interface {
	Run(context.Context) error
}, error) {
	dir := c.StorageDir
	if dir != "" {
		dir += "/forecast"
	}
	return &forecastGroup{kcfg: g.Kafka("forecast"), names: names, storageDir: dir, suffix: c.NamesSuffix, reg: reg, log: log}, nil
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
	m := api.NewMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"component": "forecast-group"}, f.reg))
	registry, _ := api.NewRegistryModels(features.Names(), f.log.With("component", "models"), m)
	feed := api.NewModelFeed(client, string(f.names.Models), registry, f.log.With("component", "model-feed"), m)
	feed.Suffix = f.suffix
	runner, err := forecast.NewRunner(forecast.Config{Names: f.names, Kafka: f.kcfg, StorageDir: f.storageDir},
		forecast.FromRegistry(registry), f.log, f.reg)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return feed.Run(gctx) })
	g.Go(func() error { return runner.Run(gctx) })
	return g.Wait()
}
