package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/storecast/storecast/ingest/kaggle"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

// Stage names the producer in dead-letter records.
const Stage = "produce"

// SaramaConfig returns the producer's sarama config: kafka's idempotent
// producer (acks=all), successes returned (for the latency histogram and
// the acknowledged counts), and sarama's hash partitioner, which is what
// goka's default producer builder installs (sarama.NewCustomHashPartitioner
// with goka.DefaultHasher, FNV-1a) and what goka's processors and views use
// to find a key's partition. Keys therefore land where goka looks for them.
func SaramaConfig(kc kafka.Config) *sarama.Config {
	sc := kc.IdempotentProducer(true)
	sc.Producer.Partitioner = sarama.NewHashPartitioner
	return sc
}

// NewAsyncProducer connects an async producer with SaramaConfig.
func NewAsyncProducer(kc kafka.Config) (sarama.AsyncProducer, error) {
	ap, err := sarama.NewAsyncProducer(kc.Brokers, SaramaConfig(kc))
	if err != nil {
		return nil, fmt.Errorf("new producer: %w", err)
	}
	return ap, nil
}

// PartitionOf returns the partition goka assigns key among n partitions:
// FNV-1a (goka.DefaultHasher) of the key as int32, absolute value, modulo n,
// as goka's processors and views compute it.
func PartitionOf(key string, n int32) int32 {
	h := goka.DefaultHasher()()
	_, _ = h.Write([]byte(key)) // hash.Hash never fails
	p := int32(h.Sum32())
	if p < 0 {
		p = -p
	}
	return p % n
}

// Config tunes a Producer.
type Config struct {
	// Names are the topics written: Sales, SalesDLQ, StoreInfo, StoreInfoDLQ.
	Names topics.Names
	// Rate caps sales at this many events per second; 0 is as fast as
	// possible.
	Rate float64
	// Interval is the pause before each live day (see Input.Live).
	Interval time.Duration
	// Bar, when set (a terminal), receives a progress bar with rate and
	// ETA; otherwise progress is logged every LogEvery.
	Bar io.Writer
	// LogEvery is the period of plain progress lines (default 5s).
	LogEvery time.Duration
}

// Input is what one run sends, in this order: Stores (acknowledged before
// anything else goes out), the rejects, Sales, then live days.
type Input struct {
	// Stores go to Names.StoreInfo keyed by store.
	Stores []topics.StoreInfo
	// Sales go to Names.Sales keyed by store, in order; callers order them
	// by (date, store) so dates ascend within each store.
	Sales []topics.Sale
	// StoreRejects and SaleRejects go to Names.StoreInfoDLQ and
	// Names.SalesDLQ as topics.DeadLetter records.
	StoreRejects, SaleRejects []kaggle.Reject
	// Live, when set, keeps the run going after Sales: every
	// Config.Interval it sends Live(d) for d = LiveFrom, LiveFrom+1, ...
	// until ctx ends, which then is a normal end of the run.
	Live     func(d topics.Date) []topics.Sale
	LiveFrom topics.Date
}

// Summary is the outcome of a run. Counts are acknowledged records.
type Summary struct {
	Stores   int64 `json:"stores"`
	Sales    int64 `json:"sales"`
	Rejected int64 `json:"rejected"`
	LiveDays int   `json:"live_days"`
	// Seconds is the wall time of the run; EventsPerSecond is Sales/Seconds.
	Seconds         float64 `json:"seconds"`
	EventsPerSecond float64 `json:"events_per_s"`
}

// Producer sends one Input to Kafka. Any send failure is fatal: the run
// stops sending, flushes what is buffered, and returns the error.
type Producer struct {
	ap  sarama.AsyncProducer
	cfg Config
	log *slog.Logger
	m   *Metrics

	enqueued int64 // sender goroutine only
	acked    atomic.Int64
	failed   atomic.Int64
	sales    atomic.Int64
	stores   atomic.Int64
	dlq      atomic.Int64
	liveDays int

	waiting atomic.Bool
	notify  chan struct{}
	fatal   chan struct{}
	errOnce sync.Once
	err     error
	done    chan struct{}

	keys []sarama.Encoder
	buf  []byte
	envs []envelope
}

// envelope is a message with its enqueue time; slabs of them keep the
// hot path free of per-message allocations.
type envelope struct {
	msg sarama.ProducerMessage
	at  time.Time
}

// New returns a Producer sending with ap, which must return successes and
// errors (SaramaConfig does). The Producer owns ap and closes it at the end
// of Run; Run may be called once.
func New(ap sarama.AsyncProducer, cfg Config, log *slog.Logger, m *Metrics) *Producer {
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 5 * time.Second
	}
	return &Producer{
		ap: ap, cfg: cfg, log: log, m: m,
		notify: make(chan struct{}, 1), fatal: make(chan struct{}), done: make(chan struct{}),
	}
}

// Run sends in and returns the summary. It returns an error for a send
// failure, or when ctx ends before a finite input is sent; with in.Live set,
// the end of ctx is the normal end.
func (p *Producer) Run(ctx context.Context, in Input) (Summary, error) {
	start := time.Now()
	go p.drain()
	total := int64(len(in.Stores) + len(in.StoreRejects) + len(in.SaleRejects) + len(in.Sales))
	stopProgress := p.progress(total, start)

	err := p.send(ctx, in)
	if in.Live != nil && err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		err = nil
	}
	p.ap.AsyncClose() // flushes what is buffered; drain ends when both channels close
	<-p.done
	stopProgress()
	if ferr := p.fatalErr(); ferr != nil {
		err = ferr
	}
	sum := Summary{Stores: p.stores.Load(), Sales: p.sales.Load(), Rejected: p.dlq.Load(), Seconds: time.Since(start).Seconds()}
	if in.Live != nil {
		sum.LiveDays = p.liveDays
	}
	if sum.Seconds > 0 {
		sum.EventsPerSecond = float64(sum.Sales) / sum.Seconds
	}
	return sum, err
}

func (p *Producer) send(ctx context.Context, in Input) error {
	n := p.cfg.Names
	// Store metadata first, acknowledged before any sale goes out, so
	// consumers that join on it find it.
	for i := range in.Stores {
		s := &in.Stores[i]
		v, err := topics.StoreInfoCodec{}.Encode(s)
		if err != nil {
			return fmt.Errorf("encode store %d: %w", s.Store, err)
		}
		if err := p.enqueue(ctx, string(n.StoreInfo), p.key(s.Store), v); err != nil {
			return err
		}
	}
	if err := p.waitAcked(ctx); err != nil {
		return err
	}
	if err := p.rejects(ctx, string(n.StoreInfoDLQ), in.StoreRejects); err != nil {
		return err
	}
	if err := p.rejects(ctx, string(n.SalesDLQ), in.SaleRejects); err != nil {
		return err
	}
	var pace *pacer
	if p.cfg.Rate > 0 {
		pace = newPacer(p.cfg.Rate)
		defer pace.stop()
	}
	if err := p.sendSales(ctx, in.Sales, pace); err != nil {
		return err
	}
	if in.Live == nil {
		return nil
	}
	if err := p.waitAcked(ctx); err != nil {
		return err
	}
	p.log.Info("history sent; live mode: one new day per interval", "from", in.LiveFrom, "interval", p.cfg.Interval)
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for d := in.LiveFrom; ; d++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		day := in.Live(d)
		if err := p.sendSales(ctx, day, nil); err != nil {
			return err
		}
		p.liveDays++
		p.log.Info("live day sent", "date", d, "events", len(day))
	}
}

func (p *Producer) sendSales(ctx context.Context, sales []topics.Sale, pace *pacer) error {
	topic := string(p.cfg.Names.Sales)
	for i := range sales {
		if pace != nil {
			if err := pace.wait(ctx); err != nil {
				return err
			}
		}
		if err := p.enqueue(ctx, topic, p.key(sales[i].Store), p.encodeSale(&sales[i])); err != nil {
			return err
		}
	}
	return nil
}

func (p *Producer) rejects(ctx context.Context, topic string, rs []kaggle.Reject) error {
	for i := range rs {
		r := &rs[i]
		dl := topics.NewDeadLetter(Stage, "file", r.Payload, r.Err, time.Now())
		dl.File, dl.Line, dl.Key = r.File, r.Line, r.Key
		v, err := topics.DeadLetterCodec{}.Encode(dl)
		if err != nil {
			return fmt.Errorf("encode dead letter: %w", err)
		}
		var key sarama.Encoder
		if r.Key != "" {
			key = sarama.StringEncoder(r.Key)
		}
		p.m.rejected.WithLabelValues(r.Reason()).Inc()
		p.log.Debug("rejected row", "file", r.File, "line", r.Line, "reason", dl.Reason)
		if err := p.enqueue(ctx, topic, key, v); err != nil {
			return err
		}
	}
	return nil
}

// key returns the cached key encoder of a store.
func (p *Producer) key(store int) sarama.Encoder {
	if store < 0 || store > topics.MaxStoreID {
		return sarama.StringEncoder(topics.StoreKey(store))
	}
	if store >= len(p.keys) {
		p.keys = append(p.keys, make([]sarama.Encoder, store+1-len(p.keys))...)
	}
	if p.keys[store] == nil {
		p.keys[store] = sarama.StringEncoder(topics.StoreKey(store))
	}
	return p.keys[store]
}

// encodeSale encodes s into the current slab. Values are never reused:
// a full slab is left to the garbage collector once its messages are sent.
func (p *Producer) encodeSale(s *topics.Sale) []byte {
	if cap(p.buf)-len(p.buf) < 512 {
		p.buf = make([]byte, 0, 1<<20)
	}
	start := len(p.buf)
	p.buf = topics.AppendSale(p.buf, s)
	return p.buf[start:len(p.buf):len(p.buf)]
}

func (p *Producer) enqueue(ctx context.Context, topic string, key sarama.Encoder, value []byte) error {
	if len(p.envs) == 0 {
		p.envs = make([]envelope, 4096)
	}
	e := &p.envs[0]
	p.envs = p.envs[1:]
	e.msg = sarama.ProducerMessage{Topic: topic, Key: key, Value: sarama.ByteEncoder(value), Metadata: e}
	e.at = time.Now()
	select {
	case p.ap.Input() <- &e.msg:
	default:
		select {
		case p.ap.Input() <- &e.msg:
		case <-p.fatal:
			return p.fatalErr()
		case <-ctx.Done():
			return fmt.Errorf("produce interrupted: %w", ctx.Err())
		}
	}
	p.enqueued++
	return nil
}

// waitAcked waits until every enqueued record is acknowledged or failed.
func (p *Producer) waitAcked(ctx context.Context) error {
	p.waiting.Store(true)
	defer p.waiting.Store(false)
	for p.acked.Load()+p.failed.Load() < p.enqueued {
		select {
		case <-p.notify:
		case <-p.fatal:
			return p.fatalErr()
		case <-ctx.Done():
			return fmt.Errorf("produce interrupted: %w", ctx.Err())
		}
	}
	return p.fatalErr()
}

// drain reads acknowledgements and errors until the producer closes.
func (p *Producer) drain() {
	defer close(p.done)
	succ, errs := p.ap.Successes(), p.ap.Errors()
	counters := map[string]func(){}
	salesTopic, storeTopic := string(p.cfg.Names.Sales), string(p.cfg.Names.StoreInfo)
	for succ != nil || errs != nil {
		select {
		case m, ok := <-succ:
			if !ok {
				succ = nil
				continue
			}
			if e, ok := m.Metadata.(*envelope); ok {
				p.m.latency.Observe(time.Since(e.at).Seconds())
			}
			inc, ok := counters[m.Topic]
			if !ok {
				inc = p.m.sent.WithLabelValues(m.Topic).Inc
				counters[m.Topic] = inc
			}
			inc()
			switch m.Topic {
			case salesTopic:
				p.sales.Add(1)
			case storeTopic:
				p.stores.Add(1)
			default:
				p.dlq.Add(1)
			}
			p.acked.Add(1)
		case e, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			p.failed.Add(1)
			p.setFatal(fmt.Errorf("send to %s: %w", e.Msg.Topic, e.Err))
		}
		if p.waiting.Load() {
			select {
			case p.notify <- struct{}{}:
			default:
			}
		}
	}
}

func (p *Producer) setFatal(err error) {
	p.errOnce.Do(func() {
		p.err = err
		close(p.fatal)
	})
}

func (p *Producer) fatalErr() error {
	select {
	case <-p.fatal:
		return p.err
	default:
		return nil
	}
}
