package sink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// idlePing is how long the committer waits without writing before it pings
// PostgreSQL to keep readiness current.
const idlePing = 5 * time.Second

// pipeline is one session's path from claims to PostgreSQL: the claims send
// records to in; accumulate builds batches by size and time; commit writes
// them one at a time, so batch n+1 is decoded while batch n is written.
type pipeline struct {
	s    *Sink
	sess sarama.ConsumerGroupSession

	in      chan chunk
	batches chan *batch
	// dead is closed when commit stops writing (fenced, or the flush
	// deadline passed): the claims then return and the session ends.
	dead chan struct{}
	done chan struct{}
	err  error // set by commit before done is closed

	// retryCtx ends FlushTimeout after the session's context, bounding the
	// retries of the batch in progress and the final flush.
	retryCtx    context.Context
	cancelRetry context.CancelFunc
	stopAfter   func() bool

	// expected is, per claimed partition, the offset stored in PostgreSQL
	// (-1: none). Only commit uses it.
	expected map[topicPartition]int64
}

func newPipeline(s *Sink, sess sarama.ConsumerGroupSession, expected map[topicPartition]int64) *pipeline {
	retryCtx, cancel := context.WithCancel(context.Background())
	p := &pipeline{
		s: s, sess: sess,
		in:          make(chan chunk, 64),
		batches:     make(chan *batch, 1),
		dead:        make(chan struct{}),
		done:        make(chan struct{}),
		retryCtx:    retryCtx,
		cancelRetry: cancel,
		expected:    expected,
	}
	p.stopAfter = context.AfterFunc(sess.Context(), func() { time.AfterFunc(s.cfg.FlushTimeout, cancel) })
	go p.accumulate()
	go p.commit()
	return p
}

// close is called once no claim sends any more: it flushes what was
// consumed and waits for the committer. It returns the error that made the
// committer give up, if any.
func (p *pipeline) close() error {
	close(p.in)
	<-p.done
	p.stopAfter()
	p.cancelRetry()
	return p.err
}

func (p *pipeline) accumulate() {
	cfg := p.s.cfg
	var b *batch
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var tick <-chan time.Time
	ship := func() {
		p.batches <- b
		b, tick = nil, nil
		timer.Stop()
	}
	for {
		select {
		case c, ok := <-p.in:
			if !ok {
				if b != nil {
					ship()
				}
				close(p.batches)
				return
			}
			p.s.m.pending.Add(float64(len(c.msgs)))
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

func (p *pipeline) commit() {
	defer close(p.done)
	stopped := false
	ping := time.NewTicker(idlePing)
	defer ping.Stop()
	lastWrite := time.Now()
	for {
		select {
		case b, ok := <-p.batches:
			if !ok {
				return
			}
			if !stopped {
				if err := p.write(b); err != nil {
					stopped = true
					close(p.dead)
					if errors.Is(err, ErrFenced) {
						p.s.log.Warn("partition moved to another sink instance; rejoining", "err", err)
					} else {
						p.err = err
					}
				}
				lastWrite = time.Now()
			}
			p.s.m.pending.Sub(float64(b.records))
		case <-ping.C:
			if !stopped && time.Since(lastWrite) >= idlePing {
				ctx, cancel := context.WithTimeout(p.retryCtx, 2*time.Second)
				err := p.s.store.Ping(ctx)
				cancel()
				p.s.setPG(err == nil)
			}
		}
	}
}

// write writes b, retrying with capped backoff until it succeeds, is fenced
// or retryCtx ends. Poison rows that PostgreSQL rejects are isolated and
// dead-lettered, and the rest is written.
func (p *pipeline) write(b *batch) error {
	s := p.s
	start := time.Now()
	bo := backoff{min: s.cfg.RetryMin, max: s.cfg.RetryMax}
	for attempt := 1; ; attempt++ {
		st, err := p.tryWrite(b)
		if err == nil {
			p.committed(b, st, time.Since(start))
			return nil
		}
		if errors.Is(err, ErrFenced) {
			return err
		}
		if errors.Is(err, ErrInvalidData) && p.retryCtx.Err() == nil {
			badSales, badForecasts, ferr := s.store.findPoison(p.retryCtx, b)
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
		if p.retryCtx.Err() != nil {
			return fmt.Errorf("%w of %d records after %d attempts: %w", errGaveUp, b.records, attempt, err)
		}
		s.m.retries.Inc()
		d := bo.next()
		if attempt == 1 || attempt%10 == 0 {
			s.log.Warn("batch write failed; retrying", "attempt", attempt, "records", b.records, "in", d, "err", err)
		}
		if !sleep(p.retryCtx, d) {
			return fmt.Errorf("%w of %d records after %d attempts: %w", errGaveUp, b.records, attempt, err)
		}
	}
}

func (p *pipeline) tryWrite(b *batch) (writeStats, error) {
	if err := p.s.sendDeadLetters(b); err != nil {
		return writeStats{}, err
	}
	return p.s.store.Write(p.retryCtx, b, p.expected)
}

// committed records a written batch: offsets, Kafka's copy of them,
// metrics and readiness.
func (p *pipeline) committed(b *batch, st writeStats, took time.Duration) {
	s := p.s
	s.setPG(true)
	for tp, next := range b.next {
		p.expected[tp] = next
		p.sess.MarkOffset(tp.topic, tp.partition, next, "")
		s.m.setLag(tp, b.hwm[tp]-next)
	}
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
