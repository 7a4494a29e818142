package features

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/metrics"
)

const subsystem = "features"

// Metrics are the features processor's Prometheus series (listed in the
// package doc). Register them once per registry with NewMetrics.
type Metrics struct {
	events    *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	latency   prometheus.Histogram
	examples  *prometheus.CounterVec
	snapshots *prometheus.CounterVec
	stateSize prometheus.Histogram
	stores    prometheus.Gauge
	bytes     prometheus.Gauge
	recovery  prometheus.Gauge
	recovered prometheus.Gauge

	mu    sync.Mutex
	sizes map[string]int
	total int
}

// NewMetrics registers the processor's metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, subsystem, n) }
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("events_total"),
			Help: "Sale events processed, by outcome: added, corrected, duplicate, redelivered, rejected, held (waiting for store info), released (folded in when it came)."}, []string{"outcome"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("rejected_total"),
			Help: "Events sent to the dead-letter topic, by reason."}, []string{"reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: name("process_seconds"),
			Help:    "Time to process one sale event in the callback (decode, state update, examples).",
			Buckets: prometheus.ExponentialBuckets(5e-6, 2.5, 12)}),
		examples: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("examples_total"),
			Help: "Training examples emitted (kind example) and withdrawn (kind tombstone)."}, []string{"kind"}),
		snapshots: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("snapshots_total"),
			Help: "Feature snapshot requests answered, by outcome: ok or error."}, []string{"outcome"}),
		stateSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: name("state_bytes"),
			Help:    "Encoded size of each store state written.",
			Buckets: prometheus.ExponentialBuckets(64, 1.5, 10)}),
		stores: prometheus.NewGauge(prometheus.GaugeOpts{Name: name("table_stores"),
			Help: "Stores whose state this instance wrote since it started."}),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: name("table_bytes"),
			Help: "Encoded bytes of the latest state of those stores."}),
		recovery: prometheus.NewGauge(prometheus.GaugeOpts{Name: name("recovery_seconds"),
			Help: "Seconds from start until every partition was recovered and running."}),
		recovered: prometheus.NewGauge(prometheus.GaugeOpts{Name: name("recovered"),
			Help: "1 once the processor's tables are recovered, else 0."}),
		sizes: make(map[string]int),
	}
	for _, c := range []prometheus.Collector{m.events, m.rejected, m.latency, m.examples, m.snapshots, m.stateSize, m.stores, m.bytes, m.recovery, m.recovered} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// stateWritten records the encoded size of one store's new state.
func (m *Metrics) stateWritten(key string, n int) {
	m.stateSize.Observe(float64(n))
	m.mu.Lock()
	old, ok := m.sizes[key]
	if !ok {
		key = string([]byte(key)) // the map keeps its own copy
	}
	m.sizes[key] = n
	m.total += n - old
	stores, total := len(m.sizes), m.total
	m.mu.Unlock()
	m.stores.Set(float64(stores))
	m.bytes.Set(float64(total))
}
