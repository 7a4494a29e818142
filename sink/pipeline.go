package sink

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// idlePing is how long a lane waits without writing before it pings
// PostgreSQL to keep readiness current.
const idlePing = 5 * time.Second

// lagEvery is how often the lag gauges are refreshed from the partitions'
// high watermarks, so lag keeps growing while nothing can be committed.
const lagEvery = 5 * time.Second

// pipeline is one session's path from claims to PostgreSQL. It has one
// lane per writer connection; a partition always goes to lane partition %
// lanes, so both topics' partition p (the same stores: the topics are
// copartitioned) share a lane, and each partition's records stay in order.
type pipeline struct {
	s     *Sink
	sess  sarama.ConsumerGroupSession
	lanes []*lane

	// dead is closed when a lane stops writing (fenced, or the flush
	// deadline passed): the claims then return and the session ends.
	dead     chan struct{}
	deadOnce sync.Once

	// retryCtx ends FlushTimeout after the session's context, bounding the
	// retries of the batches in progress and the final flush.
	retryCtx    context.Context
	cancelRetry context.CancelFunc
	stopAfter   func() bool

	// position is, per claimed partition, the next offset to commit: the
	// stored offset, or where consumption started.
	mu       sync.Mutex
	position map[topicPartition]int64
	lagDone  chan struct{}
}

// lane accumulates batches of its partitions and writes them, one at a
// time, over its own connection: batch n+1 is decoded while batch n is
// written.
type lane struct {
	p       *pipeline
	store   *Store
	in      chan chunk
	batches chan *batch
	done    chan struct{}
	err     error // set before done is closed

	// expected is, per partition of the lane, the offset stored in
	// PostgreSQL (-1: none). Only commit uses it.
	expected map[topicPartition]int64
}

// newPipeline starts a pipeline for sess. expected holds the stored offset
// of each claimed partition (-1: none) and start where consumption starts.
func newPipeline(s *Sink, sess sarama.ConsumerGroupSession, expected, start map[topicPartition]int64) *pipeline {
	retryCtx, cancel := context.WithCancel(context.Background())
	p := &pipeline{
		s: s, sess: sess,
		dead:        make(chan struct{}),
		retryCtx:    retryCtx,
		cancelRetry: cancel,
		position:    start,
		lagDone:     make(chan struct{}),
	}
	go p.watchLag()
	p.stopAfter = context.AfterFunc(sess.Context(), func() { time.AfterFunc(s.cfg.FlushTimeout, cancel) })
	for i, st := range s.stores {
		l := &lane{p: p, store: st, in: make(chan chunk, 64), batches: make(chan *batch, 1), done: make(chan struct{}),
			expected: make(map[topicPartition]int64)}
		for tp, off := range expected {
			if int(tp.partition)%len(s.stores) == i {
				l.expected[tp] = off
			}
		}
		p.lanes = append(p.lanes, l)
		go l.accumulate()
		go l.commit()
	}
	return p
}

// laneOf returns the lane of a partition.
func (p *pipeline) laneOf(partition int32) *lane { return p.lanes[int(partition)%len(p.lanes)] }

func (p *pipeline) kill() { p.deadOnce.Do(func() { close(p.dead) }) }

// close is called once no claim sends any more: it flushes what was
// consumed and waits for the lanes. It returns the errors that made lanes
// give up, if any.
func (p *pipeline) close() error {
	for _, l := range p.lanes {
		close(l.in)
	}
	var errs []error
	for _, l := range p.lanes {
		<-l.done
		errs = append(errs, l.err)
	}
	p.stopAfter()
	p.cancelRetry()
	<-p.lagDone
	return errors.Join(errs...)
}

// watchLag refreshes the lag gauges until the session ends.
func (p *pipeline) watchLag() {
	defer close(p.lagDone)
	t := time.NewTicker(lagEvery)
	defer t.Stop()
	for {
		select {
		case <-p.sess.Context().Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		pos := maps.Clone(p.position)
		p.mu.Unlock()
		for tp, next := range pos {
			hwm, err := p.s.client.GetOffset(tp.topic, tp.partition, sarama.OffsetNewest)
			if err != nil {
				p.s.log.Debug("lag: high watermark", "topic", tp.topic, "partition", tp.partition, "err", err)
				continue
			}
			p.s.m.setLag(tp, hwm-next)
		}
	}
}

func (l *lane) accumulate() {
	cfg := l.p.s.cfg
	var b *batch
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var tick <-chan time.Time
	ship := func() {
		l.batches <- b
		b, tick = nil, nil
		timer.Stop()
	}
	for {
		select {
		case c, ok := <-l.in:
			if !ok {
				if b != nil {
					ship()
				}
				close(l.batches)
				return
			}
			l.p.s.m.pending.Add(float64(len(c.msgs)))
			for _, msg := range c.msgs {
				if b == nil {
					b = newBatch(string(cfg.Names.Sales), string(cfg.Names.ForecastResults), min(cfg.BatchRows, 1<<16))
					timer.Reset(cfg.BatchWait)
					tick = timer.C
				}
				b.add(msg, c.hwm)
				if b.records >= cfg.BatchRows {
					ship()
				}
			}
		case <-tick:
			ship()
		}
	}
}

func (l *lane) commit() {
	defer close(l.done)
	s := l.p.s
	stopped := false
	ping := time.NewTicker(idlePing)
	defer ping.Stop()
	lastWrite := time.Now()
	for {
		select {
		case b, ok := <-l.batches:
			if !ok {
				return
			}
			if !stopped {
				if err := l.write(b); err != nil {
					stopped = true
					l.p.kill()
					if errors.Is(err, ErrFenced) {
						s.log.Warn("partition moved to another sink instance; rejoining", "err", err)
					} else {
						l.err = err
					}
				}
				lastWrite = time.Now()
			}
			s.m.pending.Sub(float64(b.records))
		case <-ping.C:
			if !stopped && time.Since(lastWrite) >= idlePing {
				ctx, cancel := context.WithTimeout(l.p.retryCtx, 2*time.Second)
				err := l.store.Ping(ctx)
				cancel()
				s.setPG(err == nil)
			}
		}
	}
}

// write writes b, retrying with capped backoff until it succeeds, is fenced
// or retryCtx ends. Poison rows that PostgreSQL rejects are isolated and
// dead-lettered, and the rest is written.
func (l *lane) write(b *batch) error {
	s, ctx := l.p.s, l.p.retryCtx
	start := time.Now()
	bo := backoff{min: s.cfg.RetryMin, max: s.cfg.RetryMax}
	for attempt := 1; ; attempt++ {
		st, err := l.tryWrite(b)
		if err == nil {
			l.committed(b, st, time.Since(start))
			return nil
		}
		if errors.Is(err, ErrFenced) {
			return err
		}
		if errors.Is(err, ErrInvalidData) && ctx.Err() == nil {
			badSales, badForecasts, ferr := l.store.findPoison(ctx, b)
			if ferr == nil && len(badSales)+len(badForecasts) > 0 {
				s.log.Warn("postgres rejected rows; sending them to the dead-letter topics",
					"sales", len(badSales), "forecasts", len(badForecasts), "err", err)
				b = b.without(badSales, badForecasts)
				continue
			}
			if ferr != nil {
				err = ferr
			}
		}
		s.setPG(false)
		if ctx.Err() != nil {
			return fmt.Errorf("%w of %d records after %d attempts: %w", errGaveUp, b.records, attempt, err)
		}
		s.m.retries.Inc()
		d := bo.next()
		if attempt == 1 || attempt%10 == 0 {
			s.log.Warn("batch write failed; retrying", "attempt", attempt, "records", b.records, "in", d, "err", err)
		}
		if !sleep(ctx, d) {
			return fmt.Errorf("%w of %d records after %d attempts: %w", errGaveUp, b.records, attempt, err)
		}
	}
}

func (l *lane) tryWrite(b *batch) (writeStats, error) {
	if err := l.p.s.sendDeadLetters(b); err != nil {
		return writeStats{}, err
	}
	return l.store.Write(l.p.retryCtx, b, l.expected)
}

// committed records a written batch: offsets, Kafka's copy of them,
// metrics and readiness.
func (l *lane) committed(b *batch, st writeStats, took time.Duration) {
	s := l.p.s
	s.setPG(true)
	l.p.mu.Lock()
	for tp, next := range b.next {
		l.expected[tp] = next
		l.p.position[tp] = next
		l.p.sess.MarkOffset(tp.topic, tp.partition, next, "")
		s.m.setLag(tp, b.hwm[tp]-next)
	}
	l.p.mu.Unlock()
	s.m.rowsWritten.WithLabelValues("rossman_sales").Add(float64(st.sales))
	s.m.rowsWritten.WithLabelValues("forecast_results").Add(float64(st.forecasts + st.actuals))
	for t, n := range b.perTopic {
		s.m.records.WithLabelValues(t).Add(float64(n))
	}
	s.m.batchRows.Observe(float64(b.records))
	s.m.batchDuration.Observe(took.Seconds())
	s.log.Debug("batch committed", "records", b.records, "sales_rows", st.sales, "forecast_rows", st.forecasts,
		"actuals", st.actuals, "poison", len(b.poison), "took", took)
}
