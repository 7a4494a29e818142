package sink

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/metrics"
)

const subsystem = "sink"

// sinkMetrics are the sink's Prometheus series (listed in the package doc).
type sinkMetrics struct {
	rowsWritten   *prometheus.CounterVec
	records       *prometheus.CounterVec
	batchRows     prometheus.Histogram
	batchDuration prometheus.Histogram
	lag           *prometheus.GaugeVec
	retries       prometheus.Counter
	dlq           *prometheus.CounterVec
	pending       prometheus.Gauge
	ready         prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*sinkMetrics, error) {
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, subsystem, n) }
	m := &sinkMetrics{
		rowsWritten: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("rows_written_total"),
			Help: "Rows the sink inserted or changed in PostgreSQL, by table (unchanged replays are not counted)."}, []string{"table"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("records_total"),
			Help: "Kafka records the sink committed, valid or poison, by topic."}, []string{"topic"}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{Name: name("batch_rows"),
			Help: "Records per written batch.", Buckets: prometheus.ExponentialBuckets(1, 4, 10)}),
		batchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: name("batch_duration_seconds"),
			Help: "Time to write one batch to PostgreSQL, retries included.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name("lag_records"),
			Help: "Records on a partition the sink has not committed yet (high watermark minus committed offset)."}, []string{"topic", "partition"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: name("retries_total"),
			Help: "Failed PostgreSQL or dead-letter attempts that the sink retried."}),
		dlq: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("dlq_total"),
			Help: "Records sent to a dead-letter topic, by source topic."}, []string{"topic"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: name("pending_records"),
			Help: "Records consumed but not yet committed to PostgreSQL."}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{Name: name("ready"),
			Help: "1 when the sink is consuming and PostgreSQL answers, else 0."}),
	}
	for _, c := range []prometheus.Collector{m.rowsWritten, m.records, m.batchRows, m.batchDuration, m.lag, m.retries, m.dlq, m.pending, m.ready} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register sink metrics: %w", err)
		}
	}
	return m, nil
}

func (m *sinkMetrics) setLag(tp topicPartition, lag int64) {
	m.lag.WithLabelValues(tp.topic, strconv.Itoa(int(tp.partition))).Set(float64(max(lag, 0)))
}

func (m *sinkMetrics) dropLag(tp topicPartition) {
	m.lag.DeleteLabelValues(tp.topic, strconv.Itoa(int(tp.partition)))
}
