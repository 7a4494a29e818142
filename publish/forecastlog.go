package publish

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/topics"
)

// ErrQueueFull means the forecast log's queue stayed full for its whole
// wait: the forecast was not queued, so it must not be served.
var ErrQueueFull = errors.New("forecast log queue full")

// ForecastIDs issues forecast ids unique across processes: a random
// per-process prefix and a counter.
type ForecastIDs struct {
	prefix string
	n      atomic.Uint64
}

// NewForecastIDs returns an id source with a fresh random prefix.
func NewForecastIDs() *ForecastIDs {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return &ForecastIDs{prefix: hex.EncodeToString(b) + "-"}
}

// Next returns a new id.
func (g *ForecastIDs) Next() string {
	return g.prefix + strconv.FormatUint(g.n.Add(1), 36)
}

// ForecastLogConfig configures a ForecastLog.
type ForecastLogConfig struct {
	// Topic is forecast_results (names.ForecastResults).
	Topic string
	// Hold is the most forecasts the log holds in memory: queued, in flight
	// to Kafka, or failed and waiting to be produced again (default
	// 262,144; about 0.6 KB each).
	Hold int
	// MaxWait bounds how long Append waits for room (default 2s).
	MaxWait time.Duration
	// BestEffort: when the hold is full, Append drops the forecasts
	// (counted) and succeeds instead of failing with ErrQueueFull.
	BestEffort bool
	// FlushTimeout bounds how long Run keeps producing what it holds after
	// its context is done (default 15s); what is left then is dropped,
	// counted and logged.
	FlushTimeout time.Duration
	// RetryMax caps the backoff between attempts while Kafka fails
	// (default 5s; the first retry waits 100ms).
	RetryMax time.Duration
}

func (c ForecastLogConfig) withDefaults() ForecastLogConfig {
	if c.Hold <= 0 {
		c.Hold = 1 << 18
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 2 * time.Second
	}
	if c.FlushTimeout <= 0 {
		c.FlushTimeout = 15 * time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 5 * time.Second
	}
	return c
}

// sendBatch is the most forecasts the log hands the producer per wake-up.
const sendBatch = 4096

// ForecastLog records every served forecast on forecast_results, off the
// response path, and loses none while Kafka is away: see the package doc.
type ForecastLog struct {
	cfg      ForecastLogConfig
	producer sarama.AsyncProducer
	ids      *ForecastIDs
	log      *slog.Logger
	metrics  *ForecastLogMetrics

	mu       sync.Mutex
	queued   []topics.ForecastResult   // appended, not yet handed to the producer (oldest first)
	retry    []*sarama.ProducerMessage // failed by Kafka, produced again before queued
	inflight int                       // handed to the producer, not yet acknowledged or failed
	held     int                       // len(queued) + len(retry) + inflight
	seq      uint64                    // sequence of the last message handed to the producer
	failing  bool                      // a message failed: hand nothing over until inflight is 0
	backoff  time.Duration             // the current wait between attempts while Kafka fails
	retryAt  time.Time                 // hand nothing over before this
	room     chan struct{}             // closed (and replaced) when forecasts leave the hold
	wake     chan struct{}             // the pump has work (capacity 1)
}

// NewForecastLog returns a log producing with p, which must return errors
// and successes. m may be nil.
func NewForecastLog(p sarama.AsyncProducer, cfg ForecastLogConfig, log *slog.Logger, m *ForecastLogMetrics) *ForecastLog {
	return &ForecastLog{cfg: cfg.withDefaults(), producer: p, ids: NewForecastIDs(), log: log, metrics: m,
		room: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// Append holds forecasts until Kafka acknowledges them. It returns at once
// while the hold has room for all of them; otherwise it waits (bounded by
// the log's wait and by ctx) and then fails with ErrQueueFull, so a
// forecast is never served without being held; with BestEffort it drops
// them (counted) instead. Forecasts without an ID get one.
func (l *ForecastLog) Append(ctx context.Context, rs []topics.ForecastResult) error {
	var timer *time.Timer
	var waitStart time.Time
	l.mu.Lock()
	for l.held+len(rs) > l.cfg.Hold {
		if l.cfg.BestEffort {
			l.mu.Unlock()
			l.metrics.dropped("best_effort", len(rs))
			return nil
		}
		if timer == nil {
			waitStart = time.Now()
			timer = time.NewTimer(l.cfg.MaxWait)
			defer timer.Stop()
			l.metrics.blocked()
		}
		room := l.room
		l.mu.Unlock()
		select {
		case <-room:
		case <-timer.C:
			l.metrics.refused(len(rs))
			return fmt.Errorf("forecast log holds %d of at most %d forecasts for %s (Kafka slow or away): %w", l.heldNow(), l.cfg.Hold, l.cfg.MaxWait, ErrQueueFull)
		case <-ctx.Done():
			return fmt.Errorf("forecast log: %w", ctx.Err())
		}
		l.mu.Lock()
	}
	l.queued = append(l.queued, rs...)
	l.held += len(rs)
	held := l.held
	l.mu.Unlock()
	if timer != nil {
		l.metrics.waited(time.Since(waitStart))
	}
	l.metrics.setHeld(held)
	l.signal()
	return nil
}

func (l *ForecastLog) heldNow() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held
}

func (l *ForecastLog) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// release removes n forecasts from the hold and wakes waiting appenders.
// Callers hold l.mu.
func (l *ForecastLog) releaseLocked(n int) {
	l.held -= n
	close(l.room)
	l.room = make(chan struct{})
}

// Run produces what Append holds until ctx is done, then keeps producing
// for at most FlushTimeout, closes the producer and returns.
func (l *ForecastLog) Run(ctx context.Context) error {
	var acks sync.WaitGroup
	acks.Go(func() {
		for m := range l.producer.Successes() {
			l.acked(m)
		}
	})
	acks.Go(func() {
		for e := range l.producer.Errors() {
			l.failed(e)
		}
	})
	l.pump(ctx, nil)
	if n := l.heldNow(); n > 0 {
		l.log.Info("forecast log: flushing on shutdown", "held", n, "timeout", l.cfg.FlushTimeout)
	}
	flush, cancel := context.WithTimeout(context.Background(), l.cfg.FlushTimeout)
	defer cancel()
	l.pump(flush, func() bool { return l.heldNow() == 0 })
	l.producer.AsyncClose()
	acks.Wait()
	l.mu.Lock()
	lost := len(l.queued) + len(l.retry) + l.inflight
	l.queued, l.retry, l.inflight, l.held = nil, nil, 0, 0
	l.mu.Unlock()
	if lost > 0 {
		l.metrics.dropped("shutdown", lost)
		l.log.Error("forecast log: served forecasts not logged at shutdown (Kafka did not take them within the flush timeout)",
			"lost", lost, "flush_timeout", l.cfg.FlushTimeout, "topic", l.cfg.Topic)
	}
	return nil
}

// pump hands held forecasts to the producer, oldest first, until ctx is
// done or done reports true. After a failure it waits until nothing is in
// flight, then produces the failed messages again (in their order) before
// anything newer, after a backoff.
func (l *ForecastLog) pump(ctx context.Context, done func() bool) {
	for {
		if done != nil && done() {
			return
		}
		batch, wait := l.next()
		for _, m := range batch {
			select {
			case l.producer.Input() <- m:
			case <-ctx.Done():
				// The producer did not take it: keep it for the flush (or count it lost).
				l.putBack(m)
			}
		}
		if len(batch) > 0 && ctx.Err() == nil {
			continue
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-l.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// next returns the messages to hand over now (failed ones first), or how
// long to wait before a retry (0: until woken).
func (l *ForecastLog) next() ([]*sarama.ProducerMessage, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failing {
		if l.inflight > 0 {
			return nil, 0
		}
		l.failing = false
		sort.Slice(l.retry, func(i, j int) bool { return l.retry[i].Metadata.(uint64) < l.retry[j].Metadata.(uint64) })
		l.backoff = min(max(2*l.backoff, 100*time.Millisecond), l.cfg.RetryMax)
		l.retryAt = time.Now().Add(l.backoff)
	}
	if wait := time.Until(l.retryAt); wait > 0 {
		return nil, wait
	}
	var out []*sarama.ProducerMessage
	if len(l.retry) > 0 {
		out = l.retry
		l.retry = nil
		l.metrics.retried(len(out))
	}
	n := min(len(l.queued), sendBatch)
	for i := range n {
		r := &l.queued[i]
		if r.ID == "" {
			r.ID = l.ids.Next()
		}
		l.seq++
		b := topics.AppendForecastResult(make([]byte, 0, 320), r)
		out = append(out, &sarama.ProducerMessage{Topic: l.cfg.Topic, Key: sarama.StringEncoder(topics.StoreKey(r.Store)),
			Value: sarama.ByteEncoder(b), Metadata: l.seq})
	}
	clear(l.queued[:n])
	l.queued = l.queued[n:]
	if len(l.queued) == 0 {
		l.queued = nil // let the backing array go
	}
	l.inflight += len(out)
	return out, 0
}

// putBack returns a message the producer never took to the retry list.
func (l *ForecastLog) putBack(m *sarama.ProducerMessage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	l.retry = append(l.retry, m)
	l.failing = true
}

func (l *ForecastLog) acked(*sarama.ProducerMessage) {
	l.mu.Lock()
	l.inflight--
	l.backoff = 0
	l.releaseLocked(1)
	held, wake := l.held, l.held == 0 || (l.failing && l.inflight == 0)
	l.mu.Unlock()
	l.metrics.produced()
	l.metrics.setHeld(held)
	if wake {
		l.signal()
	}
}

func (l *ForecastLog) failed(e *sarama.ProducerError) {
	l.metrics.errored()
	permanent := permanentError(e.Err)
	l.mu.Lock()
	l.inflight--
	if permanent {
		l.releaseLocked(1)
	} else {
		if !l.failing {
			l.log.Warn("forecast log: Kafka failed a forecast; holding and retrying", "topic", l.cfg.Topic, "err", e.Err)
		}
		l.failing = true
		l.retry = append(l.retry, e.Msg)
	}
	held, wake := l.held, l.inflight == 0 || l.held == 0
	l.mu.Unlock()
	l.metrics.setHeld(held)
	if permanent {
		l.metrics.dropped("refused_by_kafka", 1)
		l.log.Error("forecast log: Kafka refused a forecast for good; dropped", "topic", l.cfg.Topic, "err", e.Err)
	}
	if wake {
		l.signal()
	}
}

// permanentError reports errors that producing again cannot fix.
func permanentError(err error) bool {
	for _, p := range []error{sarama.ErrMessageSizeTooLarge, sarama.ErrMessageSetSizeTooLarge, sarama.ErrInvalidMessage,
		sarama.ErrInvalidTopic, sarama.ErrTopicAuthorizationFailed, sarama.ErrClusterAuthorizationFailed,
		sarama.ErrInvalidRecord, sarama.ErrUnsupportedForMessageFormat, sarama.ErrUnsupportedCompressionType} {
		if errors.Is(err, p) {
			return true
		}
	}
	var enc sarama.PacketEncodingError
	var cfg sarama.ConfigurationError
	return errors.As(err, &enc) || errors.As(err, &cfg)
}

// MemoryForecastLog keeps forecasts in memory (tests, and `serve` without
// Kafka in examples).
type MemoryForecastLog struct {
	ids *ForecastIDs
	ch  chan topics.ForecastResult
}

// NewMemoryForecastLog returns a log holding up to capacity forecasts
// before Append blocks (and, after wait, fails).
func NewMemoryForecastLog(capacity int) *MemoryForecastLog {
	return &MemoryForecastLog{ids: NewForecastIDs(), ch: make(chan topics.ForecastResult, capacity)}
}

// Append queues forecasts like ForecastLog.Append, waiting at most 100ms
// for room.
func (l *MemoryForecastLog) Append(ctx context.Context, rs []topics.ForecastResult) error {
	timer := time.NewTimer(100 * time.Millisecond)
	defer timer.Stop()
	for i := range rs {
		if rs[i].ID == "" {
			rs[i].ID = l.ids.Next()
		}
		select { // room now wins over a timer that fired while this goroutine waited for a CPU
		case l.ch <- rs[i]:
			continue
		default:
		}
		select {
		case l.ch <- rs[i]:
		case <-timer.C:
			return fmt.Errorf("memory forecast log full (%d of %d forecasts queued): %w", i, len(rs), ErrQueueFull)
		case <-ctx.Done():
			return fmt.Errorf("forecast log: %w", ctx.Err())
		}
	}
	return nil
}

// Queued returns the queue: a receive takes the oldest forecast.
func (l *MemoryForecastLog) Queued() <-chan topics.ForecastResult { return l.ch }

// Drain returns and removes every queued forecast.
func (l *MemoryForecastLog) Drain() []topics.ForecastResult {
	var out []topics.ForecastResult
	for {
		select {
		case r := <-l.ch:
			out = append(out, r)
		default:
			return out
		}
	}
}
