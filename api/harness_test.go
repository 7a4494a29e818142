package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/api/stores"
	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/publish"
	"github.com/storecast/storecast/topics"
	"github.com/storecast/storecast/views"
)

// asOfDay is the fake store table's latest day: 2015-06-19, like the
// shared data.
var asOfDay = topics.DateFromYMD(2015, 6, 19)

var testFeatureNames = []string{"store", "horizon", "promo"}

// fakeStores is a StoreReader over a fixed set of stores.
type fakeStores struct {
	mu        sync.Mutex
	ids       []int
	latest    topics.Date
	recovered bool
	err       error
	panicOn   int
	reads     int
}

func (f *fakeStores) Store(_ context.Context, id int) (forecasting.StoreFeatures, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.err != nil {
		return nil, false, f.err
	}
	if id == f.panicOn {
		panic("fake store exploded")
	}
	for _, x := range f.ids {
		if x == id {
			return fakeFeatures{store: id}, true, nil
		}
	}
	return nil, false, nil
}

func (f *fakeStores) StoreIDs(context.Context) ([]int, error) {
	return append([]int(nil), f.ids...), nil
}

func (f *fakeStores) LatestDay(context.Context) (topics.Date, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latest, f.latest != 0, nil
}

func (f *fakeStores) setLatest(d topics.Date) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latest = d
}

func (f *fakeStores) Recovered() bool { return f.recovered }

type fakeFeatures struct{ store int }

func (f fakeFeatures) Features(dst []float64, target, asOf topics.Date, in forecasting.Inputs) ([]float64, error) {
	return append(dst, float64(f.store), float64(target-asOf), float64(in.Day.Promo)), nil
}

// fakeModel predicts 1000*store + 10*horizon + 500*promo + 0.1234, and
// when meta.Intervals is set an interval of ±100.
type fakeModel struct{ meta forecasting.ModelMeta }

func (m *fakeModel) Meta() *forecasting.ModelMeta { return &m.meta }

func (m *fakeModel) Predict(x []float64, _ int) (model.Prediction, error) {
	if len(x) != len(m.meta.FeatureNames) {
		return model.Prediction{}, errors.New("wrong feature count")
	}
	p := model.Prediction{Sales: 1000*x[0] + 10*x[1] + 500*x[2] + 0.1234}
	if m.meta.Intervals != nil {
		p.Low, p.High, p.HasInterval = p.Sales-100, p.Sales+100, true
	}
	return p, nil
}

func (m *fakeModel) PredictBatch(xs [][]float64, horizons []int, out []model.Prediction) error {
	return forecasting.PredictEach(m, xs, horizons, out)
}

func wantSales(store, horizon, promo int) float64 {
	return math.Round((float64(1000*store+10*horizon+500*promo)+0.1234)*100) / 100
}

type fakeModels struct {
	def      forecasting.Model
	perStore map[int]forecasting.Model
}

func (f *fakeModels) Default() forecasting.Model { return f.def }

func (f *fakeModels) ForStore(store int) forecasting.Model {
	if m, ok := f.perStore[store]; ok {
		return m
	}
	return f.def
}

func newFakeModel(name, version string) *fakeModel {
	return &fakeModel{meta: forecasting.ModelMeta{
		Name: name, Version: version, RunID: "run-" + version, Format: topics.FormatLightGBMText,
		Transform: "log1p", FeatureSchema: "test", FeatureNames: testFeatureNames, SHA256: strings.Repeat("ab", 32),
		Metrics: map[string]float64{"rmspe": 0.11}, TrainedThrough: asOfDay, LoadedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}}
}

type fakeEmitter struct {
	mu   sync.Mutex
	reqs []topics.TrainRequest
	err  error
}

func (f *fakeEmitter) EmitTrainRequest(_ context.Context, r *topics.TrainRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.reqs = append(f.reqs, *r)
	return nil
}

// harness serves both APIs with fakes and validates every response to a
// route of openapi.yaml against the spec.
type harness struct {
	t        *testing.T
	stores   *fakeStores
	models   *fakeModels
	log      *publish.MemoryForecastLog
	emitter  *fakeEmitter
	tracker  *views.ResultTracker
	forecast http.Handler
	train    http.Handler
	router   routers.Router
	reg      *prometheus.Registry
}

// withStores mounts the store views' handler (api/stores) over fake views
// of the stores the harness knows.
func withStores(h *harness, fc *ForecastConfig, _ *TrainConfig) {
	sv, err := stores.NewHandler(stores.Config{States: fakeStates{}, Infos: fakeInfos{}, Ready: func() bool { return h.stores.Recovered() },
		IDs: func() ([]int, error) { return []int{1, 2, 3, 7, 9}, nil }})
	if err != nil {
		h.t.Fatal(err)
	}
	fc.Stores = sv
}

type fakeStates struct{}

func (fakeStates) Get(store int) (*features.State, bool, error) {
	if store > 7 {
		return nil, false, nil
	}
	s := new(features.State)
	for d := asOfDay - 120; d <= asOfDay; d++ {
		sale := topics.Sale{V: 1, Store: store, DayOfWeek: d.Weekday(), Date: d, Open: 1, Sales: 5000 + int(d)%500, Customers: 600, StateHoliday: "0"}
		f, err := features.FactOf(&sale)
		if err != nil {
			return nil, false, err
		}
		s.Apply(f)
	}
	return s, true, nil
}

type fakeInfos struct{}

func (fakeInfos) Get(store int) (*views.StoreInfo, bool, error) {
	if store > 7 {
		return nil, false, nil
	}
	dist := 570.0
	si := &topics.StoreInfo{V: 1, Store: store, StoreType: "a", Assortment: "c", CompetitionDistance: &dist}
	return &views.StoreInfo{StoreInfo: si, Features: features.NewInfo(si)}, true, nil
}

type harnessOpt func(*harness, *ForecastConfig, *TrainConfig)

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		stores:  &fakeStores{ids: []int{1, 2, 3, 7}, latest: asOfDay, recovered: true},
		models:  &fakeModels{def: newFakeModel("storecast-sales", "3"), perStore: map[int]forecasting.Model{7: newFakeModel("storecast-sales-store-7", "1")}},
		log:     publish.NewMemoryForecastLog(1 << 12),
		emitter: &fakeEmitter{},
		tracker: views.NewResultTracker(),
		reg:     prometheus.NewRegistry(),
	}
	m := NewMetrics(h.reg)
	log := slog.New(slog.DiscardHandler)
	fc := ForecastConfig{
		Log: h.log, Metrics: m, Gatherer: h.reg, Logger: log,
		Ready: []Check{{Name: "views", Probe: func(context.Context) error {
			if !h.stores.Recovered() {
				return errors.New("recovering")
			}
			return nil
		}}},
	}
	tc := TrainConfig{Emitter: h.emitter, Results: h.tracker, Token: "s3cret", Metrics: m, Gatherer: h.reg, Logger: log}
	for _, o := range opts {
		o(h, &fc, &tc)
	}
	fc.Engine = forecasting.NewEngine(h.stores, h.models, forecasting.NewMetrics(h.reg), forecasting.EngineConfig{FeatureNames: testFeatureNames, AsOfTTL: time.Nanosecond})
	var err error
	if h.forecast, err = NewForecastHandler(fc); err != nil {
		t.Fatal(err)
	}
	if h.train, err = NewTrainHandler(tc); err != nil {
		t.Fatal(err)
	}
	h.router = specRouter(t)
	return h
}

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter = func(t *testing.T) routers.Router {
		t.Helper()
		specOnce.Do(func() {
			doc, err := LoadSpec()
			if err != nil {
				t.Fatal(err)
			}
			// Match any host: tests serve from httptest recorders.
			doc.Servers = nil
			for _, p := range doc.Paths.Map() {
				p.Servers = nil
			}
			specDoc = doc
			openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
		})
		r, err := gorillamux.NewRouter(specDoc)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
)

type resp struct {
	*httptest.ResponseRecorder
	body []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.body)
	}
	return v
}

// do serves one request on the forecast (server "f") or training ("t")
// API and validates the response against the spec when the route is in it.
func (h *harness) do(server, method, target, body string, hdr ...string) resp {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return h.serve(server, req, body)
}

// serve serves req (whose body is body) on the forecast ("f") or training
// ("t") API and validates the response.
func (h *harness) serve(server string, req *http.Request, body string) resp {
	h.t.Helper()
	rec := httptest.NewRecorder()
	handler := h.forecast
	if server == "t" {
		handler = h.train
	}
	handler.ServeHTTP(rec, req)
	out := resp{ResponseRecorder: rec, body: rec.Body.Bytes()}
	h.validate(server, req, body, out)
	return out
}

func (h *harness) validate(server string, req *http.Request, body string, r resp) {
	h.t.Helper()
	if r.Code >= 400 && req.URL.Path != "/ready" && r.Header().Get("Content-Type") != "application/problem+json" {
		h.t.Errorf("%s %s → %d with content type %q, want application/problem+json", req.Method, req.URL, r.Code, r.Header().Get("Content-Type"))
	}
	if r.Code >= 500 && bytes.Contains(r.body, []byte("goroutine ")) {
		h.t.Errorf("%s %s → %d leaks a stack trace:\n%s", req.Method, req.URL, r.Code, r.body)
	}
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(strings.NewReader(body))
	route, params, err := h.router.FindRoute(vreq)
	if err != nil || !servedBy(server, route.Operation) {
		return // not a route this server has (unknown routes, assets, the other listener's)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: r.Code,
		Header: r.Header(),
		Body:   io.NopCloser(bytes.NewReader(r.body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		h.t.Errorf("%s %s → %d does not match openapi.yaml: %v\n%s", req.Method, req.URL, r.Code, err, r.body)
	}
}

// servedBy reports whether the listener ("f" forecast, "t" training)
// serves op, by its tags.
func servedBy(server string, op *openapi3.Operation) bool {
	for _, tag := range op.Tags {
		switch {
		case tag == "ops",
			server == "f" && (tag == "forecast" || tag == "forecast-jobs" || tag == "stores" || tag == "pipeline" || tag == "history" || tag == "models"),
			server == "t" && tag == "training":
			return true
		}
	}
	return false
}
