package publish

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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
	// Queue is the capacity of the in-memory queue (default 65,536).
	Queue int
	// MaxWait bounds how long Append waits for room (default 2s).
	MaxWait time.Duration
}

// ForecastLog records every served forecast on forecast_results, off the
// response path: Append queues forecasts in a bounded in-memory queue and
// Run produces them as JSON topics.ForecastResult records keyed by store
// through a sarama async producer (idempotent, acks=all; see
// internal/platform/kafka).
type ForecastLog struct {
	cfg      ForecastLogConfig
	producer sarama.AsyncProducer
	queue    chan topics.ForecastResult
	ids      *ForecastIDs
	log      *slog.Logger
	metrics  *ForecastLogMetrics
}

// NewForecastLog returns a log producing with p, which must return errors
// and successes. m may be nil.
func NewForecastLog(p sarama.AsyncProducer, cfg ForecastLogConfig, log *slog.Logger, m *ForecastLogMetrics) *ForecastLog {
	if cfg.Queue <= 0 {
		cfg.Queue = 1 << 16
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 2 * time.Second
	}
	return &ForecastLog{cfg: cfg, producer: p, queue: make(chan topics.ForecastResult, cfg.Queue), ids: NewForecastIDs(), log: log, metrics: m}
}

// Append queues forecasts. It returns at once while the queue has room;
// when it is full it blocks (bounded by the log's wait and by ctx) and
// then fails with ErrQueueFull, so a forecast is never served without
// being queued. Forecasts without an ID get one.
func (l *ForecastLog) Append(ctx context.Context, rs []topics.ForecastResult) error {
	// IDs are assigned in Run, off the response path.
	return appendBounded(ctx, l.queue, rs, nil, l.cfg.MaxWait, l.metrics)
}

func appendBounded(ctx context.Context, q chan topics.ForecastResult, rs []topics.ForecastResult, ids *ForecastIDs, maxWait time.Duration, m *ForecastLogMetrics) error {
	var timer *time.Timer
	var deadline <-chan time.Time
	var waitStart time.Time
	for i := range rs {
		if ids != nil && rs[i].ID == "" {
			rs[i].ID = ids.Next()
		}
		select {
		case q <- rs[i]:
			continue
		default:
		}
		if timer == nil {
			waitStart = time.Now()
			timer = time.NewTimer(maxWait)
			defer timer.Stop()
			deadline = timer.C
			if m != nil {
				m.logBlocked.Inc()
			}
		}
		select {
		case q <- rs[i]:
		case <-deadline:
			if m != nil {
				m.logRefused.Add(float64(len(rs) - i))
			}
			return fmt.Errorf("forecast log queue full for %s (%d of %d forecasts queued): %w", maxWait, i, len(rs), ErrQueueFull)
		case <-ctx.Done():
			return fmt.Errorf("forecast log: %w", ctx.Err())
		}
	}
	if timer != nil && m != nil {
		m.logWait.Observe(time.Since(waitStart).Seconds())
	}
	if m != nil {
		m.logQueue.Set(float64(len(q)))
	}
	return nil
}

// Run drains the queue into Kafka until ctx is done, then flushes what is
// queued and closes the producer.
func (l *ForecastLog) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range l.producer.Successes() {
			if l.metrics != nil {
				l.metrics.logProduced.Inc()
			}
		}
	}()
	errsDone := make(chan struct{})
	go func() {
		defer close(errsDone)
		for err := range l.producer.Errors() {
			if l.metrics != nil {
				l.metrics.logErrors.Inc()
			}
			l.log.Error("forecast log: produce failed", "topic", l.cfg.Topic, "err", err.Err)
		}
	}()
	send := func(r topics.ForecastResult) {
		if r.ID == "" {
			r.ID = l.ids.Next()
		}
		b := topics.AppendForecastResult(make([]byte, 0, 320), &r)
		l.producer.Input() <- &sarama.ProducerMessage{Topic: l.cfg.Topic, Key: sarama.StringEncoder(topics.StoreKey(r.Store)), Value: sarama.ByteEncoder(b)}
	}
	for {
		select {
		case r := <-l.queue:
			send(r)
		case <-ctx.Done():
			for drained := false; !drained; {
				select {
				case r := <-l.queue:
					send(r)
				default:
					drained = true
				}
			}
			l.producer.AsyncClose()
			<-done
			<-errsDone
			return nil
		}
	}
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

// Append queues forecasts like ForecastLog.Append, waiting at most 100ms.
func (l *MemoryForecastLog) Append(ctx context.Context, rs []topics.ForecastResult) error {
	return appendBounded(ctx, l.ch, rs, l.ids, 100*time.Millisecond, nil)
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
