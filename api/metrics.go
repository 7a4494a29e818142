package api

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/metrics"
)

const subsystem = "api"

// Metrics are the API's Prometheus series (listed in the package doc).
type Metrics struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	predictions    *prometheus.CounterVec
	predicted      prometheus.Histogram
	logQueue       prometheus.Gauge
	logWait        prometheus.Histogram
	logBlocked     prometheus.Counter
	logProduced    prometheus.Counter
	logErrors      prometheus.Counter
	logRefused     prometheus.Counter
	modelSwaps     *prometheus.CounterVec
	trainRequests  *prometheus.CounterVec
	cacheHits      prometheus.Counter
	requestObsMu   sync.RWMutex
	requestObs     map[obsKey]observers
	predictionsObs sync.Map // model version → prometheus.Counter
}

type obsKey struct {
	server, route, method string
	status                int
}

type observers struct {
	count prometheus.Counter
	dur   prometheus.Observer
}

// NewMetrics registers the API's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, subsystem, n) }
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: name("requests_total"), Help: "HTTP requests by server, route, method and status.",
		}, []string{"server", "route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: name("request_duration_seconds"), Help: "HTTP request latency by server, route, method and status.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"server", "route", "method", "status"}),
		predictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: name("predictions_total"), Help: "Forecasts served, by model version.",
		}, []string{"model_version"}),
		predicted: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: name("predicted_sales"), Help: "Distribution of the predicted daily sales served.",
			Buckets: []float64{0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10000, 12500, 15000, 20000, 30000, 50000},
		}),
		logQueue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: name("forecast_log_queue_depth"), Help: "Forecasts waiting to be produced to forecast_results.",
		}),
		logWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: name("forecast_log_enqueue_wait_seconds"), Help: "Time a request waited for room in the forecast log queue (only when it was full).",
			Buckets: []float64{.0001, .001, .005, .01, .05, .1, .5, 1, 2},
		}),
		logBlocked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("forecast_log_blocked_total"), Help: "Forecasts that found the forecast log queue full and waited.",
		}),
		logProduced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("forecast_log_produced_total"), Help: "Forecasts acknowledged by Kafka on forecast_results.",
		}),
		logErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("forecast_log_errors_total"), Help: "Forecasts Kafka refused after retries (lost from forecast_results).",
		}),
		logRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("forecast_log_refused_total"), Help: "Forecasts not served (503) because the forecast log queue stayed full.",
		}),
		modelSwaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: name("model_events_total"), Help: "Model events seen by outcome (loaded, refused, ignored).",
		}, []string{"outcome"}),
		trainRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: name("train_requests_total"), Help: "Train requests emitted by outcome (emitted, failed).",
		}, []string{"outcome"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("prediction_cache_hits_total"), Help: "Forecasts answered from the prediction cache (same model, store state, days and inputs).",
		}),
		requestObs: make(map[obsKey]observers),
	}
	reg.MustRegister(m.requests, m.duration, m.predictions, m.predicted, m.logQueue, m.logWait,
		m.logBlocked, m.logProduced, m.logErrors, m.logRefused, m.modelSwaps, m.trainRequests, m.cacheHits)
	return m
}

// observed returns the cached request observers of k.
func (m *Metrics) observed(k obsKey) observers {
	m.requestObsMu.RLock()
	o, ok := m.requestObs[k]
	m.requestObsMu.RUnlock()
	if ok {
		return o
	}
	lv := []string{k.server, k.route, k.method, strconv.Itoa(k.status)}
	o = observers{count: m.requests.WithLabelValues(lv...), dur: m.duration.WithLabelValues(lv...)}
	m.requestObsMu.Lock()
	m.requestObs[k] = o
	m.requestObsMu.Unlock()
	return o
}

// servedPredictions counts n forecasts of model version v.
func (m *Metrics) servedPredictions(version string, n int) {
	c, ok := m.predictionsObs.Load(version)
	if !ok {
		c, _ = m.predictionsObs.LoadOrStore(version, m.predictions.WithLabelValues(version))
	}
	c.(prometheus.Counter).Add(float64(n))
}

// statusWriter records the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// instrument counts requests and observes their latency by the chi route
// pattern (never the raw path, so ids do not explode the label set).
func (m *Metrics) instrument(server string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := statusWriters.Get().(*statusWriter)
			sw.ResponseWriter, sw.status = w, 0
			next.ServeHTTP(sw, r)
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			sw.ResponseWriter = nil
			statusWriters.Put(sw)
			route := "unmatched"
			if rc := chi.RouteContext(r.Context()); rc != nil {
				if p := rc.RoutePattern(); p != "" {
					route = p
				}
			}
			o := m.observed(obsKey{server: server, route: route, method: r.Method, status: status})
			o.count.Inc()
			o.dur.Observe(time.Since(start).Seconds())
		})
	}
}
