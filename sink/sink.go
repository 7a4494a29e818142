package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/metrics"
	"github.com/storecast/storecast/topics"
)

// Sink consumes sales and forecast results into PostgreSQL. Build it with
// New and run it with Run; Ready and Handler serve its health.
type Sink struct {
	cfg Config
	log *slog.Logger
	m   *sinkMetrics
	// stores are the writer connections, one per lane; stores[0] also
	// loads offsets.
	stores []*Store

	client sarama.Client
	dlq    sarama.SyncProducer

	consuming atomic.Bool
	pgOK      atomic.Bool
}

// New validates cfg and returns a Sink whose metrics are registered on reg.
// It connects to nothing yet.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Sink, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sink config: %w", err)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	if err := reg.Register(newAccuracyCollector(cfg.PGDSN, log)); err != nil {
		return nil, fmt.Errorf("register accuracy metrics: %w", err)
	}
	s := &Sink{cfg: cfg, log: log, m: m}
	for range cfg.Writers {
		st, err := NewStore(cfg.PGDSN, cfg.Names.SinkGroup)
		if err != nil {
			return nil, err
		}
		s.stores = append(s.stores, st)
	}
	return s, nil
}

// Ready reports whether the sink is consuming and PostgreSQL answered its
// last request.
func (s *Sink) Ready() bool { return s.consuming.Load() && s.pgOK.Load() }

func (s *Sink) setConsuming(v bool) { s.consuming.Store(v); s.updateReady() }
func (s *Sink) setPG(v bool)        { s.pgOK.Store(v); s.updateReady() }

func (s *Sink) updateReady() {
	v := 0.0
	if s.Ready() {
		v = 1
	}
	s.m.ready.Set(v)
}

// Handler serves /healthz (the process is up), /readyz (Ready) and, from g,
// /metrics and /debug/pprof/.
func (s *Sink) Handler(g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", metrics.Handler(g))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case !s.consuming.Load():
			http.Error(w, "not ready: not consuming", http.StatusServiceUnavailable)
		case !s.pgOK.Load():
			http.Error(w, "not ready: postgres unavailable", http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("ready\n"))
		}
	})
	return mux
}

// saramaConfig is the consumer configuration. The range strategy is eager:
// every rebalance ends the session, so Setup runs again and re-seeks every
// claimed partition; it also gives one member the same partition numbers
// of both topics, so a store's sales and forecasts meet in one instance.
func (s *Sink) saramaConfig() *sarama.Config {
	sc := s.cfg.Kafka.Sarama()
	sc.Consumer.Return.Errors = true
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Offsets.AutoCommit.Enable = true
	sc.Consumer.Offsets.AutoCommit.Interval = time.Second
	sc.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	sc.Consumer.Group.ResetInvalidOffsets = true
	sc.Consumer.IsolationLevel = sarama.ReadCommitted
	sc.Consumer.Fetch.Default = 4 << 20
	sc.ChannelBufferSize = 4096
	return sc
}

// Run consumes until ctx is done, then flushes the current batch and
// returns. It returns an error only when it cannot start (bad config) or
// the final flush failed; unreachable brokers or PostgreSQL are retried.
func (s *Sink) Run(ctx context.Context) error {
	defer func() {
		for _, st := range s.stores {
			_ = st.Close(context.Background())
		}
	}()
	s.log.Info("sink starting", "sales", s.cfg.Names.Sales, "forecasts", s.cfg.Names.ForecastResults,
		"group", s.cfg.Names.SinkGroup, "batch_rows", s.cfg.BatchRows, "batch_wait", s.cfg.BatchWait, "writers", s.cfg.Writers)

	if s.cfg.Migrate {
		err := s.retry(ctx, "migrate", func() error {
			v, err := Migrate(ctx, s.cfg.PGDSN, s.log)
			if err != nil && !errors.Is(err, ErrUnavailable) {
				return permanent{err}
			}
			if err == nil {
				s.log.Info("schema up to date", "version", v)
			}
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}

	brokers := s.cfg.Kafka.Brokers
	if err := s.retry(ctx, "kafka client", func() (err error) {
		s.client, err = sarama.NewClient(brokers, s.saramaConfig())
		return err
	}); err != nil {
		return nil //nolint:nilerr // only a shutdown ends this retry
	}
	defer func() { _ = s.client.Close() }()
	if err := s.retry(ctx, "dead-letter producer", func() (err error) {
		s.dlq, err = sarama.NewSyncProducer(brokers, s.cfg.Kafka.IdempotentProducer(true))
		return err
	}); err != nil {
		return nil //nolint:nilerr // only a shutdown ends this retry
	}
	defer func() { _ = s.dlq.Close() }()

	group, err := sarama.NewConsumerGroupFromClient(s.cfg.Names.SinkGroup, s.client)
	if err != nil {
		return fmt.Errorf("sink consumer group: %w", err)
	}
	defer func() { _ = group.Close() }()
	go func() {
		for err := range group.Errors() {
			s.log.Warn("consumer error", "err", err)
		}
	}()

	h := &handler{s: s}
	topicNames := []string{string(s.cfg.Names.Sales), string(s.cfg.Names.ForecastResults)}
	bo := backoff{min: s.cfg.RetryMin, max: s.cfg.RetryMax}
	for ctx.Err() == nil {
		err := group.Consume(ctx, topicNames, h)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("consumer session failed; rejoining", "err", err)
			s.m.retries.Inc()
			if !sleep(ctx, bo.next()) {
				break
			}
			continue
		}
		bo.reset()
	}
	if h.flushErr != nil {
		return fmt.Errorf("sink final flush: %w", h.flushErr)
	}
	s.log.Info("sink stopped")
	return nil
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// retry calls f until it succeeds, returns a permanent error or ctx is
// done, with capped exponential backoff.
func (s *Sink) retry(ctx context.Context, what string, f func() error) error {
	bo := backoff{min: s.cfg.RetryMin, max: s.cfg.RetryMax}
	for {
		err := f()
		if err == nil {
			return nil
		}
		if p, ok := err.(permanent); ok { //nolint:errorlint // f returns it unwrapped
			return p.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.m.retries.Inc()
		d := bo.next()
		s.log.Warn(what+" failed; retrying", "err", err, "in", d)
		if !sleep(ctx, d) {
			return ctx.Err()
		}
	}
}

// backoff is capped exponential backoff.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits d or until ctx is done, reporting whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// handler is the sarama.ConsumerGroupHandler. Sessions are sequential
// (eager rebalancing), so it holds one pipeline at a time.
type handler struct {
	s        *Sink
	p        *pipeline
	flushErr error
}

var _ sarama.ConsumerGroupHandler = (*handler)(nil)

// Setup runs before any claim of the session picks its start offset (sarama
// starts the claims after Setup returns, each at its offset manager's
// NextOffset), so seeking here decides where consumption starts.
func (h *handler) Setup(sess sarama.ConsumerGroupSession) error {
	s := h.s
	claims := sess.Claims()
	var names []string
	for t := range claims {
		names = append(names, t)
	}
	var stored map[topicPartition]int64
	err := s.retry(sess.Context(), "load offsets", func() (err error) {
		stored, err = s.stores[0].LoadOffsets(sess.Context(), names)
		s.setPG(err == nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("load offsets: %w", err)
	}
	expected := make(map[topicPartition]int64)
	start := make(map[topicPartition]int64)
	for t, parts := range claims {
		for _, p := range parts {
			tp := topicPartition{t, p}
			next, ok := stored[tp]
			expected[tp] = next
			if !ok {
				expected[tp] = -1
				if next, err = s.client.GetOffset(t, p, sarama.OffsetOldest); err != nil {
					return fmt.Errorf("oldest offset of %s/%d: %w", t, p, err)
				}
			}
			start[tp] = next
			// ResetOffset only moves back and MarkOffset only forward:
			// together they set the offset the claim starts from.
			sess.ResetOffset(t, p, next, "")
			sess.MarkOffset(t, p, next, "")
		}
	}
	s.log.Info("session started", "generation", sess.GenerationID(), "claims", claims)
	h.p = newPipeline(s, sess, expected, start)
	s.setConsuming(true)
	return nil
}

// Cleanup runs once every ConsumeClaim has returned: it flushes the batch
// in progress (bounded by FlushTimeout) before the session ends.
func (h *handler) Cleanup(sess sarama.ConsumerGroupSession) error {
	h.s.setConsuming(false)
	if h.p == nil {
		return nil
	}
	h.flushErr = h.p.close()
	h.p = nil
	for t, parts := range sess.Claims() {
		for _, p := range parts {
			h.s.m.dropLag(topicPartition{t, p})
		}
	}
	if h.flushErr != nil {
		h.s.log.Error("flush at session end failed; the batch will be consumed again", "err", h.flushErr)
	}
	return nil
}

// maxChunk bounds how many records ConsumeClaim hands over at once.
const maxChunk = 512

// ConsumeClaim hands the claim's records to the session's pipeline, in
// chunks of what is already buffered, until the claim ends or the pipeline
// gives up.
func (h *handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	p := h.p
	in := p.laneOf(claim.Partition()).in
	done := sess.Context().Done()
	msgs := claim.Messages()
	for {
		var c chunk
		select {
		case msg, ok := <-msgs:
			if !ok {
				return nil
			}
			c.msgs = append(make([]*sarama.ConsumerMessage, 0, 64), msg)
		case <-p.dead:
			return nil
		case <-done:
			return nil
		}
	drain:
		for len(c.msgs) < maxChunk {
			select {
			case msg, ok := <-msgs:
				if !ok {
					break drain
				}
				c.msgs = append(c.msgs, msg)
			default:
				break drain
			}
		}
		c.hwm = claim.HighWaterMarkOffset()
		select {
		case in <- c:
		case <-p.dead:
			return nil
		case <-done:
			return nil
		}
	}
}

// chunk is a run of consumed messages of one partition with the
// partition's high watermark.
type chunk struct {
	msgs []*sarama.ConsumerMessage
	hwm  int64
}

// errGaveUp marks a batch abandoned because the session ended and the
// flush deadline passed.
var errGaveUp = errors.New("gave up writing batch")

// dlqTopic returns the dead-letter topic of a source topic.
func (s *Sink) dlqTopic(source string) string {
	if source == string(s.cfg.Names.ForecastResults) {
		return string(s.cfg.Names.ForecastDLQ)
	}
	return string(s.cfg.Names.SalesDLQ)
}

// sendDeadLetters sends b's unsent poison records to their dead-letter
// topics in one call and marks them sent.
func (s *Sink) sendDeadLetters(b *batch) error {
	var msgs []*sarama.ProducerMessage
	var idx []int
	now := time.Now()
	for i := range b.poison {
		p := &b.poison[i]
		if p.sent {
			continue
		}
		dl := topics.NewDeadLetter("sink", p.msg.Topic, p.msg.Value, p.err, now)
		dl.Partition, dl.Offset, dl.Key = p.msg.Partition, p.msg.Offset, string(p.msg.Key)
		value, err := topics.DeadLetterCodec{}.Encode(dl)
		if err != nil {
			return fmt.Errorf("encode dead letter: %w", err)
		}
		msgs = append(msgs, &sarama.ProducerMessage{Topic: s.dlqTopic(p.msg.Topic), Key: sarama.ByteEncoder(p.msg.Key), Value: sarama.ByteEncoder(value)})
		idx = append(idx, i)
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := s.dlq.SendMessages(msgs); err != nil {
		return fmt.Errorf("send %d dead letters: %w", len(msgs), err)
	}
	for _, i := range idx {
		b.poison[i].sent = true
		s.m.dlq.WithLabelValues(b.poison[i].msg.Topic).Inc()
		s.log.Warn("record sent to dead-letter topic", "topic", b.poison[i].msg.Topic, "partition", b.poison[i].msg.Partition,
			"offset", b.poison[i].msg.Offset, "reason", topics.Reason(b.poison[i].err))
	}
	return nil
}
