package features

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/platform/logging"
	"github.com/storecast/storecast/topics"
)

// Config configures the features processor.
type Config struct {
	Names topics.Names
	Kafka kafka.Config
	// StorageDir holds the local copy of the store table: in memory while
	// running, checkpointed to LevelDB (one folder per partition, see
	// CheckpointBuilder), so a restart recovers only the table's tail.
	// Empty keeps the table in memory only: a restart re-reads the topic.
	StorageDir string
	// HotStandby keeps the tables of partitions assigned to other instances
	// recovered too, so a rebalance finds them warm.
	HotStandby bool
	// Compression of what the processor produces (table, examples):
	// none, lz4, snappy, zstd or gzip; empty keeps internal/platform/kafka's
	// default (lz4).
	Compression string
	// MaxDaysAhead dead-letters a sale dated more than this many days after
	// its store's latest day (features.State.FarAhead); 0 disables it.
	MaxDaysAhead int
}

// Validate reports a config that cannot run.
func (c Config) Validate() error {
	var errs []error
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxDaysAhead < 0 {
		errs = append(errs, fmt.Errorf("features: max days ahead %d is negative", c.MaxDaysAhead))
	}
	if c.Names.FeaturesGroup == "" || c.Names.Sales == "" {
		errs = append(errs, errors.New("features: topic names are not set"))
	}
	if c.Compression != "" {
		var cc sarama.CompressionCodec
		if err := cc.UnmarshalText([]byte(c.Compression)); err != nil {
			errs = append(errs, fmt.Errorf("features: compression %q: %w", c.Compression, err))
		}
	}
	return errors.Join(errs...)
}

// Processor is the running features group. Run may be called again after
// it failed: a goka processor runs only once, so each later Run builds a
// fresh one (the supervisor of `storecast process` does that after a lost
// broker); the metrics and Ready outlive the goka processors.
type Processor struct {
	build     func() (*goka.Processor, error)
	proc      *goka.Processor // built by New, used by the first Run
	m         *Metrics
	log       *slog.Logger
	ready     chan struct{}
	readyOnce sync.Once
	recover   atomic.Int64 // nanoseconds from the first Run to ready
}

// New builds the features processor. opts are applied after the
// production options (tests pass goka.WithTester).
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer, opts ...goka.ProcessorOption) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("features metrics: %w", err)
	}
	all := append(Options(cfg, log), opts...)
	build := func() (*goka.Processor, error) {
		proc, err := goka.NewProcessor(cfg.Kafka.Brokers, DefineGroup(cfg.Names, cfg.MaxDaysAhead, m, log), all...)
		if err != nil {
			return nil, fmt.Errorf("features processor: %w", err)
		}
		return proc, nil
	}
	proc, err := build()
	if err != nil {
		return nil, err
	}
	return &Processor{build: build, proc: proc, m: m, log: log, ready: make(chan struct{})}, nil
}

// Run runs the processor until ctx is done or it fails. It returns nil
// after a clean shutdown. After a failure, Run may be called again.
func (p *Processor) Run(ctx context.Context) error {
	start := time.Now()
	proc := p.proc
	p.proc = nil
	if proc == nil {
		var err error
		if proc, err = p.build(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// WaitForReadyContext also returns nil when the processor stopped.
		if err := proc.WaitForReadyContext(ctx); err != nil || !proc.Recovered() {
			return
		}
		d := time.Since(start)
		p.m.recovery.Set(d.Seconds())
		p.m.recovered.Set(1)
		p.log.Info("features processor ready", "recovery_seconds", d.Seconds())
		p.readyOnce.Do(func() {
			p.recover.Store(int64(d))
			close(p.ready)
		})
	}()
	err := proc.Run(ctx)
	p.m.recovered.Set(0)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("features processor: %w", err)
	}
	return nil
}

// Ready is closed the first time every partition is recovered and processing.
func (p *Processor) Ready() <-chan struct{} { return p.ready }

// RecoveryTime is the time from the first Run to ready (0 before ready).
func (p *Processor) RecoveryTime() time.Duration { return time.Duration(p.recover.Load()) }

// checkpointEvery is how often the local storage checkpoints the table.
const checkpointEvery = 2 * time.Second

// Options returns the goka options of the production processor: sarama
// configs from internal/platform/kafka (Kafka 4 needs the protocol version
// set there), the copartitioning rebalance strategy, an idempotent
// producer, the checkpointing local storage (or memory), KeyHasher, nil
// sales processed (into the DLQ), and a slog bridge.
func Options(cfg Config, log *slog.Logger) []goka.ProcessorOption {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	consumer := func() *sarama.Config {
		sc := cfg.Kafka.GokaConsumer()
		sc.Consumer.MaxProcessingTime = time.Second
		sc.Consumer.Fetch.Default = 4 << 20
		sc.ChannelBufferSize = 1024
		return sc
	}
	sb := storage.MemoryBuilder()
	if cfg.StorageDir != "" {
		sb = CheckpointBuilder(cfg.StorageDir, checkpointEvery, log)
	}
	producer := cfg.Kafka.IdempotentProducer(true)
	if cfg.Compression != "" {
		_ = producer.Producer.Compression.UnmarshalText([]byte(cfg.Compression)) // checked by Validate
	}
	opts := []goka.ProcessorOption{
		goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(consumer())),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(consumer())),
		goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(producer)),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(cfg.Kafka.Sarama(), kafka.GokaTopicManager())),
		goka.WithStorageBuilder(sb),
		goka.WithHasher(KeyHasher),
		goka.WithNilHandling(goka.NilProcess), // a nil sale goes to the DLQ, not silently away
		goka.WithLogger(logging.Goka{L: log.With("component", "goka")}),
	}
	if cfg.HotStandby {
		opts = append(opts, goka.WithHotStandby())
	}
	return opts
}
