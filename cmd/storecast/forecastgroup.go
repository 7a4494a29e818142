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

// runForecastGroup runs the forecast group (`storecast process --only
// forecast`) with the model feed that keeps its model registry current,
// until ctx is done. storageDir holds its joined tables (empty: memory).
func runForecastGroup(ctx context.Context, kcfg kafka.Config, names topics.Names, storageDir string, reg prometheus.Registerer, log *slog.Logger) error {
	log = log.With("group", string(names.ForecastGroup))
	sc := kcfg.Sarama()
	sc.Consumer.Return.Errors = true
	client, err := sarama.NewClient(kcfg.Brokers, sc)
	if err != nil {
		return fmt.Errorf("forecast group: kafka client: %w", err)
	}
	defer client.Close()
	m := api.NewMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"component": "forecast-group"}, reg))
	registry, _ := api.NewRegistryModels(features.Names(), log.With("component", "models"), m)
	feed := api.NewModelFeed(client, string(names.Models), registry, log.With("component", "model-feed"), m)
	runner, err := forecast.NewRunner(forecast.Config{Names: names, Kafka: kcfg, StorageDir: storageDir},
		forecast.FromRegistry(registry), log, reg)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return feed.Run(gctx) })
	g.Go(func() error { return runner.Run(gctx) })
	return g.Wait()
}
