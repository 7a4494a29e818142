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
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	trainRequests *prometheus.CounterVec
	rateLimited   *prometheus.CounterVec
	requestObsMu  sync.RWMutex
	requestObs    map[obsKey]observers
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
		trainRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: name("train_requests_total"), Help: "Requests emitted on train_requests (training and promotion) by outcome (emitted, failed).",
		}, []string{"outcome"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: name("rate_limited_total"), Help: "Requests refused with 429 by the per-client rate limit, by server.",
		}, []string{"server"}),
		requestObs: make(map[obsKey]observers),
	}
	reg.MustRegister(m.requests, m.duration, m.trainRequests, m.rateLimited)
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
