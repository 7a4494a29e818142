package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/api/forecastgen"
	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/topics"
	"github.com/storecast/storecast/views"
)

// Forecast sources written to topics.ForecastResult.Source.
const (
	SourcePredict = "api-predict"
	SourceBatch   = "api-forecasts"
)

// DefaultDays is the default length of a /v1/forecasts range: six weeks.
const DefaultDays = 42

// ForecastLog records every served forecast on forecast_results
// (publish.ForecastLog).
type ForecastLog interface {
	// Append queues forecasts. It returns at once while there is room,
	// else waits (bounded) and then fails with publish.ErrQueueFull, so a
	// forecast is never served without being queued. Forecasts without an
	// ID get one.
	Append(ctx context.Context, rs []topics.ForecastResult) error
}

// ForecastConfig configures the forecast API.
type ForecastConfig struct {
	Engine *forecasting.Engine
	Log    ForecastLog
	// Stores serves /v1/stores/... (api/stores); nil leaves it unmounted.
	Stores http.Handler
	// Pipeline answers /v1/topics, /v1/groups and /v1/dead-letters; nil
	// answers them 503.
	Pipeline PipelineReader
	// History answers /v1/sales/{id}; nil answers it 503.
	History SalesReader
	// Versions answers /v1/models; nil answers it 503.
	Versions ModelVersionReader
	// Ready lists the readiness checks of /ready.
	Ready    []Check
	Metrics  *Metrics
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// MaxBody bounds a /v1/forecasts body (default 16 MiB); /predict
	// bodies are bounded at 64 KiB.
	MaxBody int64
	// MaxRows bounds the forecasts of one /v1/forecasts request or forecast
	// job (default 100,000).
	MaxRows int
	// Offers tells /model/info what serving did with the latest model
	// event (a model.Registry); nil leaves latest_offer out.
	Offers ModelOffers
	// Registry tells /model/info what the model registry says (a
	// views.RegistryWatch); nil leaves registry out.
	Registry RegistryAliases
	// AsOf tells /model/info how the as-of day was derived (views.Views);
	// nil leaves as_of out.
	AsOf AsOfReporter
	// Token is the bearer token of POST /v1/forecast-jobs; empty disables
	// it (503), never opens it.
	Token string
	// JobRequests and JobProgress serve /v1/forecast-jobs; when either is
	// nil those routes answer 503.
	JobRequests ForecastRequestEmitter
	JobProgress ForecastJobReader
	// RateLimit limits each client's requests (zero: no limit).
	RateLimit RateLimit
}

// ModelOffers reports the latest offer of a model name (model.Registry).
type ModelOffers interface {
	Latest(name string) (model.Offered, bool)
}

// AsOfReporter derives the as-of day and the stores excluded from it
// (views.Views).
type AsOfReporter interface {
	AsOfReport() (views.AsOf, bool, error)
}

// RegistryAliases reports the model registry's aliases beside the served
// version (views.RegistryWatch).
type RegistryAliases interface {
	Status() views.RegistryStatus
}

type forecastServer struct {
	ops
	cfg ForecastConfig
}

var _ forecastgen.ServerInterface = (*forecastServer)(nil)

// NewForecastHandler returns the forecast API's router (the routes of
// openapi.yaml tagged forecast, stores and ops).
func NewForecastHandler(cfg ForecastConfig) (http.Handler, error) {
	if cfg.Engine == nil || cfg.Log == nil || cfg.Metrics == nil || cfg.Gatherer == nil || cfg.Logger == nil {
		return nil, errors.New("forecast api: Engine, Log, Metrics, Gatherer and Logger are required")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 16 << 20
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = 100_000
	}
	o, err := newOps("forecast", cfg.Ready, cfg.Gatherer, cfg.Logger)
	if err != nil {
		return nil, err
	}
	s := &forecastServer{ops: o, cfg: cfg}
	r := chi.NewRouter()
	r.Use(cfg.Metrics.instrument("forecast"), rateLimited("forecast", cfg.RateLimit, cfg.Metrics.rateLimited), recoverer(o.errs))
	r.NotFound(o.errs.notFound)
	r.MethodNotAllowed(o.errs.methodNotAllowed)
	o.mountDocs(r)
	if cfg.Stores != nil {
		r.Mount("/v1/stores", cfg.Stores)
	}
	forecastgen.HandlerWithOptions(s, forecastgen.ChiServerOptions{BaseRouter: r, ErrorHandlerFunc: o.errs.param})
	return r, nil
}

// Predict implements POST /predict.
func (s *forecastServer) Predict(w http.ResponseWriter, r *http.Request) {
	var req forecastgen.PredictRequest
	if err := decodeJSON(w, r, 64<<10, &req); err != nil {
		s.errs.write(w, r, err)
		return
	}
	row, err := predictRow(&req)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	rows := [1]forecasting.Row{row}
	stamp, err := s.cfg.Engine.Forecast(r.Context(), rows[:])
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	res := [1]topics.ForecastResult{rows[0].Result(stamp.AsOf, "", SourcePredict, time.Now().UTC())}
	if err := s.cfg.Log.Append(r.Context(), res[:]); err != nil {
		s.errs.write(w, r, err)
		return
	}
	bp := respPool.Get().(*[]byte)
	b := appendPredict((*bp)[:0], &rows[0], stamp)
	writeJSONBytes(w, http.StatusOK, b)
	*bp = b
	respPool.Put(bp)
}

func predictRow(req *forecastgen.PredictRequest) (forecasting.Row, error) {
	var errs []error
	row := forecasting.Row{Store: req.StoreId, In: topics.KnownInputs{Open: 1, StateHoliday: "0"}}
	if req.StoreId < 1 || req.StoreId > topics.MaxStoreID {
		errs = append(errs, bad("store_id", "%d is out of range 1..%d", req.StoreId, topics.MaxStoreID))
	}
	d, err := parseDateField("date", req.Date)
	if err != nil {
		errs = append(errs, err)
	}
	row.Date = d
	if req.Open != nil {
		if !req.Open.Valid() {
			errs = append(errs, bad("open", "%d is not 0 or 1", *req.Open))
		}
		row.In.Open = int(*req.Open)
	}
	if req.Promo != nil {
		if !req.Promo.Valid() {
			errs = append(errs, bad("promo", "%d is not 0 or 1", *req.Promo))
		}
		row.In.Promo = int(*req.Promo)
	}
	if req.Schoolholiday != nil {
		if !req.Schoolholiday.Valid() {
			errs = append(errs, bad("schoolholiday", "%d is not 0 or 1", *req.Schoolholiday))
		}
		row.In.SchoolHoliday = int(*req.Schoolholiday)
	}
	if req.Stateholiday != nil {
		if !req.Stateholiday.Valid() {
			errs = append(errs, bad("stateholiday", "%q is not one of 0, a, b, c", string(*req.Stateholiday)))
		}
		row.In.StateHoliday = topics.StateHolidayOf([]byte(*req.Stateholiday))
	}
	return row, errors.Join(errs...)
}

// CreateForecasts implements POST /v1/forecasts.
func (s *forecastServer) CreateForecasts(w http.ResponseWriter, r *http.Request) {
	var req forecastgen.ForecastsRequest
	if err := decodeJSON(w, r, s.cfg.MaxBody, &req); err != nil {
		s.errs.write(w, r, err)
		return
	}
	ctx := r.Context()
	asOf, err := s.cfg.Engine.AsOf(ctx)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	rows, err := s.planRows(ctx, &req, asOf)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	stamp, err := s.cfg.Engine.Forecast(ctx, rows)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	reqID := newRequestID()
	now := time.Now().UTC()
	res := make([]topics.ForecastResult, len(rows))
	for i := range rows {
		res[i] = rows[i].Result(stamp.AsOf, reqID, SourceBatch, now)
	}
	if err := s.cfg.Log.Append(ctx, res); err != nil {
		s.errs.write(w, r, err)
		return
	}
	b := appendForecasts(make([]byte, 0, 160+len(rows)*80), rows, stamp)
	writeJSONBytes(w, http.StatusOK, b)
}

type storeDay struct {
	store int
	date  topics.Date
}

// planRows turns a ForecastsRequest into rows ordered by store and date,
// with each row's known inputs resolved (see openapi.yaml).
func (s *forecastServer) planRows(ctx context.Context, req *forecastgen.ForecastsRequest, asOf topics.Date) ([]forecasting.Row, error) {
	start, end := asOf+1, asOf+DefaultDays
	var errs []error
	if req.StartDate != nil {
		d, err := parseDateField("start_date", *req.StartDate)
		if err == nil {
			err = forecasting.CheckDate("start_date", d, asOf)
		}
		if err != nil {
			errs = append(errs, err)
		}
		start = d
	}
	if req.EndDate != nil {
		d, err := parseDateField("end_date", *req.EndDate)
		if err == nil {
			err = forecasting.CheckDate("end_date", d, asOf)
		}
		if err != nil {
			errs = append(errs, err)
		}
		end = d
	} else if req.StartDate != nil {
		end = min(start+DefaultDays-1, asOf+features.MaxHorizon)
	}
	if len(errs) == 0 && end < start {
		errs = append(errs, bad("end_date", "%s is before start_date %s", end, start))
	}
	var stores []int
	if req.StoreIds != nil && len(*req.StoreIds) > 0 {
		stores = slices.Clone(*req.StoreIds)
		for i, id := range stores {
			if id < 1 || id > topics.MaxStoreID {
				errs = append(errs, bad(fmt.Sprintf("store_ids[%d]", i), "%d is out of range 1..%d", id, topics.MaxStoreID))
			}
		}
		slices.Sort(stores)
		stores = slices.Compact(stores)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if stores == nil {
		all, err := s.cfg.Engine.StoreIDs(ctx)
		if err != nil {
			return nil, fmt.Errorf("list stores: %w", err)
		}
		stores = all
	}
	days := int(end-start) + 1
	if n := len(stores) * days; n > s.cfg.MaxRows {
		return nil, fmt.Errorf("store_ids: %d stores × %d days = %d forecasts, more than %d per request: %w", len(stores), days, n, s.cfg.MaxRows, ErrTooLarge)
	}
	byStoreDay, byDay, err := indexInputs(req.Inputs, stores, start, end)
	if err != nil {
		return nil, err
	}
	rows := make([]forecasting.Row, 0, len(stores)*days)
	for _, st := range stores {
		for d := start; d <= end; d++ {
			in, ok := byStoreDay[storeDay{st, d}]
			if !ok {
				in, ok = byDay[d]
			}
			if !ok {
				in = DefaultInputs(d)
			}
			rows = append(rows, forecasting.Row{Store: st, Date: d, In: in})
		}
	}
	return rows, nil
}

// DefaultInputs are the known inputs of a day nobody specified: open
// except on Sundays, no promo, no holidays.
func DefaultInputs(d topics.Date) topics.KnownInputs {
	in := topics.KnownInputs{Open: 1, StateHoliday: "0"}
	if d.Weekday() == 7 {
		in.Open = 0
	}
	return in
}

func indexInputs(inputs *[]forecastgen.DayInputs, stores []int, start, end topics.Date) (map[storeDay]topics.KnownInputs, map[topics.Date]topics.KnownInputs, error) {
	if inputs == nil || len(*inputs) == 0 {
		return nil, nil, nil
	}
	byStoreDay := make(map[storeDay]topics.KnownInputs)
	byDay := make(map[topics.Date]topics.KnownInputs)
	var errs []error
	for i, in := range *inputs {
		f := func(name string) string { return fmt.Sprintf("inputs[%d].%s", i, name) }
		d, err := parseDateField(f("date"), in.Date)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if d < start || d > end {
			errs = append(errs, bad(f("date"), "%s is outside the requested range %s..%s", d, start, end))
			continue
		}
		k := DefaultInputs(d)
		if in.Open != nil {
			if !in.Open.Valid() {
				errs = append(errs, bad(f("open"), "%d is not 0 or 1", *in.Open))
			}
			k.Open = int(*in.Open)
		}
		if in.Promo != nil {
			if !in.Promo.Valid() {
				errs = append(errs, bad(f("promo"), "%d is not 0 or 1", *in.Promo))
			}
			k.Promo = int(*in.Promo)
		}
		if in.Schoolholiday != nil {
			if !in.Schoolholiday.Valid() {
				errs = append(errs, bad(f("schoolholiday"), "%d is not 0 or 1", *in.Schoolholiday))
			}
			k.SchoolHoliday = int(*in.Schoolholiday)
		}
		if in.Stateholiday != nil {
			if !in.Stateholiday.Valid() {
				errs = append(errs, bad(f("stateholiday"), "%q is not one of 0, a, b, c", string(*in.Stateholiday)))
			}
			k.StateHoliday = topics.StateHolidayOf([]byte(*in.Stateholiday))
		}
		if in.StoreId != nil {
			if _, found := slices.BinarySearch(stores, *in.StoreId); !found {
				errs = append(errs, bad(f("store_id"), "store %d is not among the requested stores", *in.StoreId))
				continue
			}
			key := storeDay{*in.StoreId, d}
			if _, dup := byStoreDay[key]; dup {
				errs = append(errs, bad(f("date"), "a second entry for store %d on %s", *in.StoreId, d))
			}
			byStoreDay[key] = k
			continue
		}
		if _, dup := byDay[d]; dup {
			errs = append(errs, bad(f("date"), "a second entry for every store on %s", d))
		}
		byDay[d] = k
	}
	return byStoreDay, byDay, errors.Join(errs...)
}

// GetModelInfo implements GET /model/info.
func (s *forecastServer) GetModelInfo(w http.ResponseWriter, r *http.Request) {
	m := s.cfg.Engine.DefaultModel()
	if m == nil {
		err := model.ErrNoModel
		if s.cfg.Offers != nil {
			if o, ok := s.cfg.Offers.Latest(model.GlobalModelName); ok && o.Err != nil {
				err = fmt.Errorf("%w: the latest model event (version %s) was refused: %w", model.ErrNoModel, o.Version, o.Err)
			}
		}
		s.errs.write(w, r, err)
		return
	}
	meta := m.Meta()
	info := forecastgen.ModelInfo{
		Name: meta.Name, Version: meta.Version, Format: meta.Format, FeatureSchema: meta.FeatureSchema,
		FeatureNames: meta.FeatureNames, Sha256: meta.SHA256, LoadedAt: meta.LoadedAt.UTC(),
	}
	if info.FeatureNames == nil {
		info.FeatureNames = []string{}
	}
	if meta.RunID != "" {
		info.RunId = &meta.RunID
	}
	if meta.Transform != "" {
		info.TargetTransform = &meta.Transform
	}
	if meta.TrainedThrough != 0 {
		t := meta.TrainedThrough.String()
		info.TrainedThrough = &t
	}
	if meta.Metrics != nil {
		info.Metrics = &meta.Metrics
	}
	if meta.Source != "" {
		src := forecastgen.ModelInfoSource(meta.Source)
		info.Source, info.SizeBytes, info.Trees = &src, &meta.Size, &meta.Trees
	}
	if meta.ArtifactURI != "" {
		info.ArtifactUri = &meta.ArtifactURI
	}
	if meta.Protocol != "" {
		info.Protocol = &meta.Protocol
	}
	if iv := meta.Intervals; iv != nil {
		info.Intervals = &forecastgen.ModelIntervals{Level: iv.Level, Method: iv.Method, HorizonWeeks: len(iv.Low)}
	}
	if s.cfg.Offers != nil {
		if o, ok := s.cfg.Offers.Latest(meta.Name); ok {
			lo := forecastgen.ModelOffer{Version: o.Version, Loaded: o.Err == nil, At: o.At}
			if o.Err != nil {
				msg := o.Err.Error()
				lo.Error = &msg
			}
			info.LatestOffer = &lo
		}
	}
	if s.cfg.Registry != nil {
		st := s.cfg.Registry.Status()
		rs := forecastgen.ModelRegistryStatus{InStep: st.InStep}
		if st.Champion != "" {
			rs.Champion = &st.Champion
		}
		if st.Challenger != "" {
			rs.Challenger = &st.Challenger
		}
		if !st.CheckedAt.IsZero() {
			rs.CheckedAt = &st.CheckedAt
		}
		if st.Err != nil {
			msg := st.Err.Error()
			rs.Error = &msg
		}
		info.Registry = &rs
	}
	if s.cfg.AsOf != nil {
		if rep, ok, err := s.cfg.AsOf.AsOfReport(); err == nil && ok {
			ai := forecastgen.AsOfInfo{Day: rep.Day.String(), Rule: rep.Rule, Stores: rep.Stores, Excluded: []forecastgen.ExcludedStore{}}
			for _, x := range rep.Excluded {
				ai.Excluded = append(ai.Excluded, forecastgen.ExcludedStore{StoreId: x.Store, LatestDay: x.Latest.String(), Reason: x.Reason})
			}
			info.AsOf = &ai
		}
	}
	writeJSON(w, http.StatusOK, info)
}

var respPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// appendPredict encodes a PredictResponse.
func appendPredict(b []byte, r *forecasting.Row, st forecasting.Stamp) []byte {
	b = append(b, `{"store_id":`...)
	b = strconv.AppendInt(b, int64(r.Store), 10)
	b = append(b, `,"date":"`...)
	b = r.Date.AppendText(b)
	b = append(b, `","predicted_sales":`...)
	b = topics.AppendJSONFloat(b, r.Sales)
	b = appendInterval(b, r)
	b = append(b, `,"model_version":`...)
	b = topics.AppendJSONString(b, r.Model.Version)
	b = append(b, `,"model_name":`...)
	b = topics.AppendJSONString(b, r.Model.Name)
	b = append(b, `,"as_of":"`...)
	b = st.AsOf.AppendText(b)
	b = append(b, `","horizon":`...)
	b = strconv.AppendInt(b, int64(r.Horizon), 10)
	return append(b, '}', '\n')
}

// appendInterval appends a row's predicted_sales_low and _high when its
// model has intervals.
func appendInterval(b []byte, r *forecasting.Row) []byte {
	if !r.HasInterval {
		return b
	}
	b = append(b, `,"predicted_sales_low":`...)
	b = topics.AppendJSONFloat(b, r.Low)
	b = append(b, `,"predicted_sales_high":`...)
	return topics.AppendJSONFloat(b, r.High)
}

// appendForecasts encodes a ForecastsResponse.
func appendForecasts(b []byte, rows []forecasting.Row, st forecasting.Stamp) []byte {
	b = append(b, `{"as_of":"`...)
	b = st.AsOf.AppendText(b)
	b = append(b, `","model_name":`...)
	b = topics.AppendJSONString(b, st.Model.Name)
	b = append(b, `,"model_version":`...)
	b = topics.AppendJSONString(b, st.Model.Version)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(len(rows)), 10)
	b = append(b, `,"forecasts":[`...)
	for i := range rows {
		r := &rows[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"store_id":`...)
		b = strconv.AppendInt(b, int64(r.Store), 10)
		b = append(b, `,"date":"`...)
		b = r.Date.AppendText(b)
		b = append(b, `","horizon":`...)
		b = strconv.AppendInt(b, int64(r.Horizon), 10)
		b = append(b, `,"predicted_sales":`...)
		b = topics.AppendJSONFloat(b, r.Sales)
		b = appendInterval(b, r)
		b = append(b, `,"open":`...)
		b = strconv.AppendInt(b, int64(r.In.Open), 10)
		if r.Model != st.Model && r.Model != nil {
			b = append(b, `,"model_name":`...)
			b = topics.AppendJSONString(b, r.Model.Name)
			b = append(b, `,"model_version":`...)
			b = topics.AppendJSONString(b, r.Model.Version)
		}
		b = append(b, '}')
	}
	return append(b, ']', '}', '\n')
}
