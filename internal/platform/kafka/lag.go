package kafka

import (
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/metrics"
)

// GroupTopics names a consumer group and the topics it consumes.
type GroupTopics struct {
	Group  string
	Topics []string
}

// GroupLag is a Prometheus collector of consumer-group lag: for every
// group and topic it watches, storecast_kafka_consumer_group_lag is the sum
// over the topic's partitions of the high watermark minus the group's
// committed offset (minus the low watermark where the group committed
// nothing yet), in records. It reads the broker at scrape time, at most
// once per MinInterval, over a client it opens lazily and opens again after
// an error: a lost broker leaves the lag series out and counts
// storecast_kafka_consumer_group_lag_errors_total, it never fails the
// scrape or the component.
//
// Metrics:
//
//	storecast_kafka_consumer_group_lag{group,topic}          gauge, records
//	storecast_kafka_consumer_group_lag_errors_total          counter
type GroupLag struct {
	cfg         Config
	watch       []GroupTopics
	log         *slog.Logger
	minInterval time.Duration

	lagDesc *prometheus.Desc
	errors  prometheus.Counter

	mu     sync.Mutex
	client sarama.Client
	admin  sarama.ClusterAdmin
	last   time.Time
	cached []groupTopicLag
}

type groupTopicLag struct {
	group, topic string
	lag          int64
}

// NewGroupLag returns a collector of the lag of the groups in watch.
// Register it on the component's registry.
func NewGroupLag(cfg Config, log *slog.Logger, watch ...GroupTopics) *GroupLag {
	return &GroupLag{
		cfg: cfg, watch: watch, log: log, minInterval: 5 * time.Second,
		lagDesc: prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "kafka", "consumer_group_lag"),
			"Records of a topic the consumer group has not committed yet (sum over partitions of the high watermark minus the committed offset).",
			[]string{"group", "topic"}, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: prometheus.BuildFQName(metrics.Namespace, "kafka", "consumer_group_lag_errors_total"),
			Help: "Scrapes whose consumer-group lag could not be read from Kafka (the lag series are left out).",
		}),
	}
}

var _ prometheus.Collector = (*GroupLag)(nil)

// Describe implements prometheus.Collector.
func (g *GroupLag) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.lagDesc
	g.errors.Describe(ch)
}

// Collect implements prometheus.Collector.
func (g *GroupLag) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cached == nil || time.Since(g.last) >= g.minInterval {
		lags, err := g.read()
		if err != nil {
			g.errors.Inc()
			g.log.Warn("consumer-group lag", "err", err)
			g.closeLocked()
			g.cached = nil
		} else {
			g.cached, g.last = lags, time.Now()
		}
	}
	for _, l := range g.cached {
		ch <- prometheus.MustNewConstMetric(g.lagDesc, prometheus.GaugeValue, float64(l.lag), l.group, l.topic)
	}
	g.errors.Collect(ch)
}

// Close releases the client.
func (g *GroupLag) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closeLocked()
}

func (g *GroupLag) closeLocked() {
	if g.admin != nil {
		_ = g.admin.Close() // closes the client too
	} else if g.client != nil {
		_ = g.client.Close()
	}
	g.admin, g.client = nil, nil
}

func (g *GroupLag) connect() error {
	if g.client != nil && !g.client.Closed() {
		return nil
	}
	sc := g.cfg.Sarama()
	sc.ClientID = sc.ClientID + "-lag"
	sc.Net.DialTimeout = 3 * time.Second
	sc.Net.ReadTimeout = 5 * time.Second
	sc.Net.WriteTimeout = 5 * time.Second
	sc.Metadata.Retry.Max = 1
	client, err := sarama.NewClient(g.cfg.Brokers, sc)
	if err != nil {
		return fmt.Errorf("lag client: %w", err)
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		_ = client.Close()
		return fmt.Errorf("lag admin: %w", err)
	}
	g.client, g.admin = client, admin
	return nil
}

// read asks the broker for every watched group's committed offsets and
// every partition's watermarks.
func (g *GroupLag) read() ([]groupTopicLag, error) {
	if err := g.connect(); err != nil {
		return nil, err
	}
	if err := g.client.RefreshMetadata(); err != nil {
		return nil, fmt.Errorf("lag metadata: %w", err)
	}
	var out []groupTopicLag
	for _, w := range g.watch {
		parts := make(map[string][]int32, len(w.Topics))
		for _, t := range w.Topics {
			ps, err := g.client.Partitions(t)
			if err != nil {
				return nil, fmt.Errorf("lag partitions of %s: %w", t, err)
			}
			parts[t] = ps
		}
		resp, err := g.admin.ListConsumerGroupOffsets(w.Group, parts)
		if err != nil {
			return nil, fmt.Errorf("lag offsets of %s: %w", w.Group, err)
		}
		if resp.Err != sarama.ErrNoError {
			return nil, fmt.Errorf("lag offsets of %s: %w", w.Group, resp.Err)
		}
		topics := make([]string, 0, len(parts))
		for t := range parts {
			topics = append(topics, t)
		}
		sort.Strings(topics)
		for _, t := range topics {
			var sum int64
			for _, p := range parts[t] {
				committed := int64(-1)
				if b := resp.GetBlock(t, p); b != nil {
					if b.Err != sarama.ErrNoError {
						return nil, fmt.Errorf("lag offset of %s %s/%d: %w", w.Group, t, p, b.Err)
					}
					committed = b.Offset
				}
				lag, err := g.partitionLag(t, p, committed)
				if err != nil {
					return nil, err
				}
				sum += lag
			}
			out = append(out, groupTopicLag{group: w.Group, topic: t, lag: sum})
		}
	}
	return out, nil
}

func (g *GroupLag) partitionLag(topic string, p int32, committed int64) (int64, error) {
	high, err := g.client.GetOffset(topic, p, sarama.OffsetNewest)
	if err != nil {
		return 0, fmt.Errorf("lag high watermark of %s/%d: %w", topic, p, err)
	}
	return Lag(committed, high, func() (int64, error) {
		low, err := g.client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil {
			return 0, fmt.Errorf("lag low watermark of %s/%d: %w", topic, p, err)
		}
		return low, nil
	})
}

// Lag is a partition's lag: high minus committed, or high minus the low
// watermark (asked only then) when nothing is committed (committed < 0).
// Never negative.
func Lag(committed, high int64, low func() (int64, error)) (int64, error) {
	start := committed
	if committed < 0 {
		l, err := low()
		if err != nil {
			return 0, err
		}
		start = l
	}
	return max(high-start, 0), nil
}
