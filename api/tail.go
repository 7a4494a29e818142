package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

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
	handle func(*sarama.ConsumerMessage)
	log    *slog.Logger

	recovered atomic.Bool
}

// NewTail returns a tail of topic; handle is called from one goroutine per
// partition.
func NewTail(client sarama.Client, topic string, handle func(*sarama.ConsumerMessage), log *slog.Logger) *Tail {
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
					t.handle(msg)
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
	metrics *Metrics
	// Accept filters model names; nil accepts every name.
	Accept func(name string) bool
	// Suffix, when set, is the names suffix of a test deployment: the
	// trainer appends "-"+Suffix to registered model names, so the feed
	// strips it before offering and ignores names without it.
	Suffix string
}

// NewModelFeed returns a feed of topic (names.Models) into reg. m may be nil.
func NewModelFeed(client sarama.Client, topic string, reg *model.Registry, log *slog.Logger, m *Metrics) *ModelFeed {
	f := &ModelFeed{reg: reg, log: log, metrics: m}
	f.Tail = NewTail(client, topic, f.offer, log)
	return f
}

func (f *ModelFeed) offer(msg *sarama.ConsumerMessage) {
	if msg.Value == nil { // tombstone: a model was withdrawn; keep serving the last good one
		return
	}
	v, err := topics.ModelEventCodec{}.Decode(msg.Value)
	if err != nil {
		f.log.Error("model event refused: undecodable", "key", string(msg.Key), "offset", msg.Offset, "err", err)
		if f.metrics != nil {
			f.metrics.modelSwaps.WithLabelValues("refused").Inc()
		}
		return
	}
	ev := v.(*topics.ModelEvent)
	if f.Suffix != "" {
		name, ok := strings.CutSuffix(ev.Name, "-"+f.Suffix)
		if !ok {
			if f.metrics != nil {
				f.metrics.modelSwaps.WithLabelValues("ignored").Inc()
			}
			return
		}
		ev.Name = name
	}
	if f.Accept != nil && !f.Accept(ev.Name) {
		if f.metrics != nil {
			f.metrics.modelSwaps.WithLabelValues("ignored").Inc()
		}
		return
	}
	_ = f.reg.Offer(ev) // the registry logs, counts and keeps the previous model on error
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

func (f *ResultFeed) observe(msg *sarama.ConsumerMessage) {
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

// KafkaTrainEmitter produces train requests with a sync producer.
type KafkaTrainEmitter struct {
	producer sarama.SyncProducer
	topic    string
}

var _ TrainEmitter = (*KafkaTrainEmitter)(nil)

// NewKafkaTrainEmitter returns an emitter to topic (names.TrainRequests).
func NewKafkaTrainEmitter(p sarama.SyncProducer, topic string) *KafkaTrainEmitter {
	return &KafkaTrainEmitter{producer: p, topic: topic}
}

// EmitTrainRequest implements TrainEmitter.
func (e *KafkaTrainEmitter) EmitTrainRequest(ctx context.Context, req *topics.TrainRequest) error {
	b, err := topics.TrainRequestCodec{}.Encode(req)
	if err != nil {
		return fmt.Errorf("encode train request: %w", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, _, err := e.producer.SendMessage(&sarama.ProducerMessage{Topic: e.topic, Key: sarama.StringEncoder(req.ID), Value: sarama.ByteEncoder(b)})
		errc <- err
	}()
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("produce to %s: %w", e.topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("produce to %s: %w", e.topic, ctx.Err())
	}
}

// KafkaProbe is a readiness probe: nil when a broker of client answers a
// metadata request within the probe's deadline (at most 2s). It only
// refreshes metadata: it must not deregister brokers (sarama's
// RefreshController closes the controller's connection, which on a single
// broker is the one every consumer sharing client reads from).
func KafkaProbe(client sarama.Client) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if client.Closed() {
			return errors.New("kafka client closed")
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- client.RefreshMetadata() }()
		select {
		case err := <-errc:
			if err != nil {
				return fmt.Errorf("kafka unreachable: %w", err)
			}
			return nil
		case <-ctx.Done():
			return errors.New("kafka unreachable: no metadata answer within 2s")
		}
	}
}
