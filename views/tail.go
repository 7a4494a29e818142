package views

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/metrics"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/topics"
)

// Tail reads every partition of a (compacted) topic from the oldest offset
// and keeps following it, calling Handle for each record in partition
// order. Recovered turns true once it has read up to the high watermarks
// seen at start: the table the records describe is then complete.
type Tail struct {
	client sarama.Client
	topic  string
	handle func(context.Context, *sarama.ConsumerMessage)
	log    *slog.Logger

	recovered atomic.Bool
}

// NewTail returns a tail of topic; handle is called from one goroutine per
// partition.
func NewTail(client sarama.Client, topic string, handle func(context.Context, *sarama.ConsumerMessage), log *slog.Logger) *Tail {
	return &Tail{client: client, topic: topic, handle: handle, log: log}
}

// Recovered reports whether the tail has caught up with the topic as it
// was when Run started.
func (t *Tail) Recovered() bool { return t.recovered.Load() }

// Probe is a readiness probe: nil once recovered.
func (t *Tail) Probe(context.Context) error {
	if !t.Recovered() {
		return fmt.Errorf("%s: still reading the topic", t.topic)
	}
	return nil
}

// Run follows the topic until ctx is done.
func (t *Tail) Run(ctx context.Context) error {
	parts, err := t.client.Partitions(t.topic)
	if err != nil {
		return fmt.Errorf("tail %s: partitions: %w", t.topic, err)
	}
	consumer, err := sarama.NewConsumerFromClient(t.client)
	if err != nil {
		return fmt.Errorf("tail %s: consumer: %w", t.topic, err)
	}
	defer consumer.Close()
	var pending atomic.Int64
	pending.Store(int64(len(parts)))
	done := func() {
		if pending.Add(-1) == 0 {
			t.recovered.Store(true)
			t.log.Info("topic read", "topic", t.topic)
		}
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(parts))
	for _, p := range parts {
		oldest, err := t.client.GetOffset(t.topic, p, sarama.OffsetOldest)
		if err != nil {
			return fmt.Errorf("tail %s/%d: oldest offset: %w", t.topic, p, err)
		}
		hwm, err := t.client.GetOffset(t.topic, p, sarama.OffsetNewest)
		if err != nil {
			return fmt.Errorf("tail %s/%d: newest offset: %w", t.topic, p, err)
		}
		pc, err := consumer.ConsumePartition(t.topic, p, oldest)
		if err != nil {
			return fmt.Errorf("tail %s/%d: consume: %w", t.topic, p, err)
		}
		caughtUp := hwm <= oldest
		if caughtUp {
			done()
		}
		wg.Go(func() {
			defer pc.AsyncClose()
			for {
				select {
				case <-ctx.Done():
					return
				case err, ok := <-pc.Errors():
					if !ok {
						return
					}
					t.log.Warn("tail: consume error", "topic", t.topic, "partition", p, "err", err)
				case msg, ok := <-pc.Messages():
					if !ok {
						errc <- fmt.Errorf("tail %s/%d: partition consumer closed", t.topic, p)
						return
					}
					t.handle(ctx, msg)
					if !caughtUp && msg.Offset+1 >= hwm {
						caughtUp = true
						done()
					}
				}
			}
		})
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	wg.Wait()
	return runErr
}

// ModelFeed tails the models topic and offers every model event to a
// model.Registry (which verifies it and swaps it in, or keeps the previous
// model). Only the names Accept approves are offered (nil: all).
type ModelFeed struct {
	*Tail
	reg     *model.Registry
	log     *slog.Logger
	metrics *ModelFeedMetrics
	// Accept filters model names; nil accepts every name.
	Accept func(name string) bool
	// Suffix, when set, is the names suffix of a test deployment: the
	// trainer appends "-"+Suffix to registered model names, so the feed
	// strips it before offering and ignores names without it.
	Suffix string
}

// NewModelFeed returns a feed of topic (names.Models) into reg. m may be nil.
func NewModelFeed(client sarama.Client, topic string, reg *model.Registry, log *slog.Logger, m *ModelFeedMetrics) *ModelFeed {
	f := &ModelFeed{reg: reg, log: log, metrics: m}
	f.Tail = NewTail(client, topic, f.offer, log)
	return f
}

func (f *ModelFeed) offer(ctx context.Context, msg *sarama.ConsumerMessage) {
	if msg.Value == nil { // tombstone: a model was withdrawn; keep serving the last good one
		return
	}
	v, err := topics.ModelEventCodec{}.Decode(msg.Value)
	if err != nil {
		f.log.Error("model event refused: undecodable", "key", string(msg.Key), "offset", msg.Offset, "err", err)
		f.metrics.count("refused")
		return
	}
	ev := v.(*topics.ModelEvent)
	if f.Suffix != "" {
		name, ok := strings.CutSuffix(ev.Name, "-"+f.Suffix)
		if !ok {
			f.metrics.count("ignored")
			return
		}
		ev.Name = name
	}
	if f.Accept != nil && !f.Accept(ev.Name) {
		f.metrics.count("ignored")
		return
	}
	// The registry logs a refusal and keeps the previous model in service.
	if err := f.reg.Offer(ctx, ev); err != nil {
		f.metrics.count("refused")
		return
	}
	f.metrics.count("loaded")
}

// ModelFeedMetrics are the model feed's Prometheus series. A nil
// *ModelFeedMetrics records nothing.
type ModelFeedMetrics struct {
	events *prometheus.CounterVec
}

// NewModelFeedMetrics registers the model feed's metrics on reg.
func NewModelFeedMetrics(reg prometheus.Registerer) *ModelFeedMetrics {
	m := &ModelFeedMetrics{events: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: prometheus.BuildFQName(metrics.Namespace, "model", "events_total"),
		Help: "Model events seen by outcome (loaded, refused, ignored).",
	}, []string{"outcome"})}
	reg.MustRegister(m.events)
	return m
}

func (m *ModelFeedMetrics) count(outcome string) {
	if m != nil {
		m.events.WithLabelValues(outcome).Inc()
	}
}

// ResultFeed tails train_results into a ResultTracker.
type ResultFeed struct {
	*Tail
	tracker *ResultTracker
	log     *slog.Logger
}

// NewResultFeed returns a feed of topic (names.TrainResults) into tracker.
func NewResultFeed(client sarama.Client, topic string, tracker *ResultTracker, log *slog.Logger) *ResultFeed {
	f := &ResultFeed{tracker: tracker, log: log}
	f.Tail = NewTail(client, topic, f.observe, log)
	return f
}

func (f *ResultFeed) observe(_ context.Context, msg *sarama.ConsumerMessage) {
	if msg.Value == nil {
		return
	}
	v, err := topics.TrainResultCodec{}.Decode(msg.Value)
	if err != nil {
		f.log.Warn("train result ignored: undecodable", "key", string(msg.Key), "offset", msg.Offset, "err", err)
		return
	}
	res := v.(*topics.TrainResult)
	if res.ID == "" {
		res.ID = string(msg.Key)
	}
	f.tracker.Observe(res)
}
