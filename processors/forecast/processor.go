package forecast

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/platform/logging"
	"github.com/storecast/storecast/topics"
)

// Config configures the running group.
type Config struct {
	Names topics.Names
	Kafka kafka.Config
	// StorageDir keeps the joined tables (store table, store_info) in
	// LevelDB under it, so a restart reads only their tails; empty keeps
	// them in memory.
	StorageDir string
}

// Validate reports a config that cannot run.
func (c Config) Validate() error {
	var errs []error
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Names.ForecastGroup == "" || c.Names.ForecastRequests == "" {
		errs = append(errs, errors.New("forecast: topic names are not set"))
	}
	return errors.Join(errs...)
}

// Runner is the running forecast group. Run may be called again after it
// failed: each later Run builds a fresh goka processor (a goka processor
// runs only once); the metrics outlive them.
type Runner struct {
	build func() (*goka.Processor, error)
	proc  *goka.Processor // built by NewRunner, used by the first Run
	log   *slog.Logger
}

// NewRunner builds the group with production options; opts come after
// them (tests pass goka.WithTester).
func NewRunner(cfg Config, models forecasting.Models, log *slog.Logger, reg prometheus.Registerer, opts ...goka.ProcessorOption) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := New(cfg.Names, models, NewMetrics(reg), forecasting.NewMetrics(reg))
	all := append(Options(cfg, log), opts...)
	build := func() (*goka.Processor, error) {
		proc, err := goka.NewProcessor(cfg.Kafka.Brokers, p.DefineGroup(), all...)
		if err != nil {
			return nil, fmt.Errorf("forecast processor: %w", err)
		}
		return proc, nil
	}
	proc, err := build()
	if err != nil {
		return nil, err
	}
	return &Runner{build: build, proc: proc, log: log}, nil
}

// Run runs the group until ctx is done or it fails. After a failure, Run
// may be called again.
func (r *Runner) Run(ctx context.Context) error {
	start := time.Now()
	proc := r.proc
	r.proc = nil
	if proc == nil {
		var err error
		if proc, err = r.build(); err != nil {
			return err
		}
	}
	go func() {
		// WaitForReadyContext also returns nil when the processor stopped.
		if err := proc.WaitForReadyContext(ctx); err == nil && proc.Recovered() {
			r.log.Info("forecast group ready", "recovery", time.Since(start).Round(time.Millisecond))
		}
	}()
	if err := proc.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("forecast processor: %w", err)
	}
	return nil
}

// Options returns the goka options of the production group: sarama configs
// from internal/platform/kafka, the copartitioning strategy, an idempotent
// producer, LevelDB or memory storage for the joined tables.
func Options(cfg Config, log *slog.Logger) []goka.ProcessorOption {
	sb := storage.MemoryBuilder()
	if cfg.StorageDir != "" {
		sb = storage.DefaultBuilder(cfg.StorageDir)
	}
	return []goka.ProcessorOption{
		goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(cfg.Kafka.GokaConsumer())),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(cfg.Kafka.GokaConsumer())),
		goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(cfg.Kafka.IdempotentProducer(true))),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(cfg.Kafka.Sarama(), kafka.GokaTopicManager())),
		goka.WithStorageBuilder(sb),
		goka.WithNilHandling(goka.NilProcess), // a nil request goes to the DLQ
		goka.WithLogger(logging.Goka{L: log.With("component", "goka", "group", string(cfg.Names.ForecastGroup))}),
	}
}
