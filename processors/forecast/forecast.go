// Package forecast is the Goka group that answers batch forecast requests
// (from Airflow or a schedule) with the same feature and model code as the
// forecast API.
//
// # Graph
//
// The group (names.ForecastGroup) consumes names.ForecastRequests
// (topics.ForecastRequest, keyed by store), joins the store table
// (names.StoreTable(), the features group's per-store state) and
// names.StoreInfo, both copartitioned with the requests, and emits one
// topics.ForecastResult per requested day to names.ForecastResults, keyed
// by store. The forecasts come from the forecasting core
// (forecasting.ForecastState: the recipe the forecast API runs too) with
// the models of a model registry fed by the models topic (views.ModelFeed
// in `storecast process`), so a new champion serves the next request
// without a restart.
//
// A request that cannot be answered (undecodable, invalid, unknown store,
// no model yet, a date outside the horizon) goes to names.ForecastDLQ as a
// topics.DeadLetter with the reason; the group keeps running.
//
// # As-of day
//
// A request's AsOf is its as-of day: features use facts of days strictly
// before it, and every requested day must be 1..48 days after it. A zero
// AsOf means the store's latest day, as the API does for the whole table.
//
// # Idempotence
//
// Result ids are RequestID|store|date, so reprocessing a request after a
// crash (Goka is at-least-once) upserts the same rows in PostgreSQL.
//
// # Metrics
//
//	storecast_forecast_requests_total{outcome}  requests by outcome (ok, dlq reason class)
//	storecast_forecast_results_total            forecasts emitted
//	storecast_forecast_request_seconds          time to answer one request
package forecast

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/topics"
)

// Stage names this group in dead letters.
const Stage = "forecast"

// Source marks the forecasts this group emits (topics.ForecastResult.Source).
const Source = "processor"

// Metrics are the group's Prometheus series.
type Metrics struct {
	requests *prometheus.CounterVec
	results  prometheus.Counter
	latency  prometheus.Histogram
}

// NewMetrics registers the group's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "storecast", Subsystem: "forecast", Name: "requests_total", Help: "Forecast requests by outcome.",
		}, []string{"outcome"}),
		results: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "storecast", Subsystem: "forecast", Name: "results_total", Help: "Forecasts emitted to forecast_results.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "storecast", Subsystem: "forecast", Name: "request_seconds", Help: "Time to answer one forecast request.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}),
	}
	reg.MustRegister(m.requests, m.results, m.latency)
	return m
}

// Processor holds the callbacks' dependencies.
type Processor struct {
	names    topics.Names
	models   forecasting.Models
	metrics  *Metrics
	forecast *forecasting.Metrics
}

// New returns the callbacks of the group. fm (the forecasting core's
// metrics) may be nil.
func New(n topics.Names, models forecasting.Models, m *Metrics, fm *forecasting.Metrics) *Processor {
	return &Processor{names: n, models: models, metrics: m, forecast: fm}
}

// DefineGroup returns the group graph; production and goka's tester share it.
func (p *Processor) DefineGroup() *goka.GroupGraph {
	n := p.names
	return goka.DefineGroup(n.ForecastGroup,
		// Raw bytes: an undecodable request must reach the DLQ, not stop the group.
		goka.Input(n.ForecastRequests, new(codec.Bytes), p.handle),
		goka.Join(n.StoreTable(), new(features.Codec)),
		goka.Join(goka.Table(n.StoreInfo), new(topics.StoreInfoCodec)),
		goka.Output(n.ForecastResults, new(topics.ForecastResultCodec)),
		goka.Output(n.ForecastDLQ, new(topics.DeadLetterCodec)),
	)
}

// errState and errInvalid classify dead letters for metrics.
var (
	errInvalid = errors.New("invalid request")
	errState   = errors.New("store state cannot answer")
)

func (p *Processor) handle(ctx goka.Context, msg any) {
	start := time.Now()
	raw, _ := msg.([]byte)
	results, err := p.answer(ctx, raw)
	if err != nil {
		outcome := "invalid"
		switch {
		case errors.Is(err, model.ErrNoModel):
			outcome = "no_model"
		case errors.Is(err, topics.ErrUnknownStore):
			outcome = "unknown_store"
		case errors.Is(err, errState):
			outcome = "state"
		}
		p.metrics.requests.WithLabelValues(outcome).Inc()
		dl := topics.NewDeadLetter(Stage, string(p.names.ForecastRequests), raw, err, ctx.Timestamp())
		dl.Key, dl.Partition, dl.Offset = ctx.Key(), ctx.Partition(), ctx.Offset()
		ctx.Emit(p.names.ForecastDLQ, ctx.Key(), dl)
		return
	}
	for i := range results {
		ctx.Emit(p.names.ForecastResults, ctx.Key(), &results[i])
	}
	p.metrics.requests.WithLabelValues("ok").Inc()
	p.metrics.results.Add(float64(len(results)))
	p.metrics.latency.Observe(time.Since(start).Seconds())
}

// answer computes the forecasts of one request.
func (p *Processor) answer(ctx goka.Context, raw []byte) ([]topics.ForecastResult, error) {
	v, err := topics.ForecastRequestCodec{}.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalid, &topics.FieldError{Field: "value", Reason: err.Error()})
	}
	req := v.(*topics.ForecastRequest)
	key, err := topics.ParseStoreKey(ctx.Key())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalid, err)
	}
	if err := validate(req, key); err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalid, err)
	}
	st, _ := ctx.Join(p.names.StoreTable()).(*features.State)
	si, _ := ctx.Join(goka.Table(p.names.StoreInfo)).(*topics.StoreInfo)
	if st == nil || st.Empty() || si == nil {
		return nil, fmt.Errorf("%w: %w", topics.ErrUnknownStore, &topics.FieldError{Field: "store", Reason: fmt.Sprintf("store %d has no state or no store info", req.Store)})
	}
	asOf := req.AsOf
	if asOf == 0 {
		asOf, _ = st.Latest()
	}
	info := features.NewInfo(si)
	rows := make([]forecasting.Row, len(req.Days))
	for i, in := range req.Days {
		rows[i] = forecasting.Row{Store: req.Store, Date: req.Start.AddDays(i), In: in}
	}
	if err := forecasting.ForecastState(p.models, p.forecast, st, &info, "start", asOf, rows); err != nil {
		return nil, classify(err)
	}
	at := ctx.Timestamp().UTC()
	out := make([]topics.ForecastResult, len(rows))
	for i := range rows {
		out[i] = rows[i].Result(asOf, req.RequestID, Source, at)
		out[i].ID = ResultID(req.RequestID, req.Store, rows[i].Date)
		out[i].JobID, out[i].JobRows = req.JobID, req.JobRows
	}
	return out, nil
}

// classify marks the recipe's errors for the dead-letter metrics: a field
// error is an invalid request, a state that cannot serve the as-of day is
// errState; no model stays model.ErrNoModel.
func classify(err error) error {
	var fe *topics.FieldError
	switch {
	case errors.Is(err, model.ErrNoModel):
		return err
	case errors.As(err, &fe):
		return fmt.Errorf("%w: %w", errInvalid, err)
	case errors.Is(err, features.ErrNoHistory), errors.Is(err, features.ErrAsOfTooEarly), errors.Is(err, features.ErrHorizon):
		return fmt.Errorf("%w: %w", errState, err)
	}
	return err
}

// validate reports every problem with a request at once.
func validate(r *topics.ForecastRequest, key int) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &topics.FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if r.V != topics.ForecastRequestVersion {
		bad("v", "schema version %d is not supported (want %d)", r.V, topics.ForecastRequestVersion)
	}
	if r.RequestID == "" {
		bad("request_id", "is required")
	}
	if r.Store != key {
		bad("store", "store %d does not match the message key %d", r.Store, key)
	}
	if len(r.Days) == 0 || len(r.Days) > features.MaxHorizon {
		bad("days", "%d days, want 1..%d", len(r.Days), features.MaxHorizon)
	}
	if r.Start == 0 {
		bad("start", "is required")
	}
	if (r.JobID == "") != (r.JobRows == 0) || r.JobRows < 0 || (r.JobRows > 0 && r.JobRows < len(r.Days)) {
		bad("job_rows", "job %q with %d rows for %d days: a job needs an id and at least its request's days", r.JobID, r.JobRows, len(r.Days))
	}
	return errors.Join(errs...)
}

// ResultID is the id of the forecast of store's day d in request reqID.
func ResultID(reqID string, store int, d topics.Date) string {
	return reqID + "|" + strconv.Itoa(store) + "|" + d.String()
}
