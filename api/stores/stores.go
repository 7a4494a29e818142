// Package stores serves the store views over HTTP (chi), for the forecast
// API to mount under /v1/stores:
//
//	GET /{id}           a store's state summary: days held, latest day, means
//	GET /{id}/features  the named feature vector of a target day:
//	                    ?date=YYYY-MM-DD (required) &as_of= (default: the
//	                    store's latest day) &promo= &state_holiday= &school_holiday= &open=
//
// Errors are RFC 9457 problems (application/problem+json) with the types of
// api/openapi.yaml: 400 invalid-field naming the field, 404 not-found for an
// unknown store, 503 not-ready while the views recover, 500 internal.
package stores

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/topics"
	"github.com/storecast/storecast/views"
)

// StateReader reads per-store states (views.StoreStates implements it).
// Returned states are shared and read-only.
type StateReader interface {
	Get(store int) (*features.State, bool, error)
}

// InfoReader reads store metadata (views.StoreInfos implements it).
type InfoReader interface {
	Get(store int) (*views.StoreInfo, bool, error)
}

// Config configures the handler.
type Config struct {
	States StateReader
	Infos  InfoReader
	// IDs lists the store ids of store_info (views.StoreInfos.Stores),
	// for GET / ; nil answers it 503.
	IDs func() ([]int, error)
	// Ready reports whether the views have recovered; nil means always.
	Ready func() bool
	// Logger logs internal errors; nil discards them.
	Logger *slog.Logger
}

// NewHandler returns the /v1/stores router (mount it at /v1/stores).
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.States == nil || cfg.Infos == nil {
		return nil, errors.New("stores handler: States and Infos are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{cfg: cfg}
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound, Detail: "no route " + r.URL.Path})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodGet) // every route here is GET; RFC 9110 wants it on a 405
		writeProblem(w, problem{Type: typeMethodNotAllowed, Title: "Method not allowed", Status: http.StatusMethodNotAllowed, Detail: r.Method + " is not allowed here"})
	})
	r.Get("/", h.list)
	r.Get("/{id}", h.summary)
	r.Get("/{id}/features", h.features)
	return r, nil
}

type handler struct{ cfg Config }

// Problem types, as in api/openapi.yaml.
const (
	problemPrefix        = "urn:storecast:problem:"
	typeInvalidField     = problemPrefix + "invalid-field"
	typeNotFound         = problemPrefix + "not-found"
	typeMethodNotAllowed = problemPrefix + "method-not-allowed"
	typeInternal         = problemPrefix + "internal"
	typeNotReady         = problemPrefix + "not-ready"
)

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Field  string `json:"field,omitempty"`
}

func writeProblem(w http.ResponseWriter, p problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func invalid(w http.ResponseWriter, field, format string, args ...any) {
	writeProblem(w, problem{Type: typeInvalidField, Title: "Invalid field", Status: http.StatusBadRequest,
		Detail: fmt.Sprintf(format, args...), Field: field})
}

func notFound(w http.ResponseWriter, format string, args ...any) {
	writeProblem(w, problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound, Detail: fmt.Sprintf(format, args...)})
}

func (h *handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	h.cfg.Logger.Error("stores handler", "path", r.URL.Path, "err", err)
	writeProblem(w, problem{Type: typeInternal, Title: "Internal error", Status: http.StatusInternalServerError, Detail: "the store views failed to answer"})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// lookup resolves the store of the request: it writes the problem and
// returns false when it cannot.
func (h *handler) lookup(w http.ResponseWriter, r *http.Request) (int, *views.StoreInfo, *features.State, bool) {
	if h.cfg.Ready != nil && !h.cfg.Ready() {
		writeProblem(w, problem{Type: typeNotReady, Title: "Not ready", Status: http.StatusServiceUnavailable, Detail: "the store views are still recovering"})
		return 0, nil, nil, false
	}
	id, err := strconv.Atoi(chi.URLParam(r, "id"))
	if err != nil || id < 1 || id > topics.MaxStoreID {
		invalid(w, "id", "store id %q is not an integer in 1..%d", chi.URLParam(r, "id"), topics.MaxStoreID)
		return 0, nil, nil, false
	}
	si, found, err := h.cfg.Infos.Get(id)
	if err != nil {
		h.internal(w, r, err)
		return 0, nil, nil, false
	}
	if !found {
		notFound(w, "store %d is not in store_info", id)
		return 0, nil, nil, false
	}
	st, found, err := h.cfg.States.Get(id)
	if err != nil {
		h.internal(w, r, err)
		return 0, nil, nil, false
	}
	if !found {
		st = new(features.State)
	}
	return id, si, st, true
}

// Listed is one store of GET /: what a store picker searches by.
type Listed struct {
	Store               int      `json:"store_id"`
	StoreType           string   `json:"store_type"`
	Assortment          string   `json:"assortment"`
	CompetitionDistance *float64 `json:"competition_distance"`
	Promo2              int      `json:"promo2"`
}

// list serves GET /?type=&assortment=: the stores of store_info, by id.
func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	if h.cfg.IDs == nil || (h.cfg.Ready != nil && !h.cfg.Ready()) {
		writeProblem(w, problem{Type: typeNotReady, Title: "Not ready", Status: http.StatusServiceUnavailable, Detail: "the store list is not available (views recovering)"})
		return
	}
	typ, assort := r.URL.Query().Get("type"), r.URL.Query().Get("assortment")
	if typ != "" && !strings.Contains("abcd", typ) || len(typ) > 1 {
		invalid(w, "type", "store type %q is not one of a, b, c, d", typ)
		return
	}
	if assort != "" && !strings.Contains("abc", assort) || len(assort) > 1 {
		invalid(w, "assortment", "assortment %q is not one of a, b, c", assort)
		return
	}
	ids, err := h.cfg.IDs()
	if err != nil {
		h.internal(w, r, err)
		return
	}
	out := make([]Listed, 0, len(ids))
	for _, id := range ids {
		si, found, err := h.cfg.Infos.Get(id)
		if err != nil {
			h.internal(w, r, err)
			return
		}
		if !found || (typ != "" && si.StoreType != typ) || (assort != "" && si.Assortment != assort) {
			continue
		}
		out = append(out, Listed{Store: id, StoreType: si.StoreType, Assortment: si.Assortment, CompetitionDistance: si.CompetitionDistance, Promo2: si.Promo2})
	}
	writeJSON(w, map[string]any{"stores": out})
}

// num renders NaN as JSON null.
func num(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// Summary is the body of GET /{id}.
type Summary struct {
	Store        int                 `json:"store_id"`
	Info         *topics.StoreInfo   `json:"store_info"`
	DaysHeld     int                 `json:"days_held"`
	FirstDay     *topics.Date        `json:"first_day"`
	LatestDay    *topics.Date        `json:"latest_day"`
	RingStart    *topics.Date        `json:"ring_start,omitempty"`
	EarliestAsOf *topics.Date        `json:"earliest_as_of,omitempty"`
	Schema       string              `json:"feature_schema"`
	Means        map[string]*float64 `json:"means"`
	ByWeekday    map[string]*float64 `json:"mean_sales_by_weekday"`
	OpenByDay    map[string]*float64 `json:"open_ratio_by_weekday"`
}

func (h *handler) summary(w http.ResponseWriter, r *http.Request) {
	id, si, st, ok := h.lookup(w, r)
	if !ok {
		return
	}
	out := Summary{Store: id, Info: si.StoreInfo, DaysHeld: st.DaysHeld(), Schema: features.SchemaVersion,
		Means: map[string]*float64{}, ByWeekday: map[string]*float64{}, OpenByDay: map[string]*float64{}}
	if first, ok := st.FirstDay(); ok {
		out.FirstDay = &first
	}
	latest, ok := st.Latest()
	if !ok {
		writeJSON(w, out)
		return
	}
	rs, ea := st.RingStart(), st.EarliestAsOf()
	out.LatestDay, out.RingStart, out.EarliestAsOf = &latest, &rs, &ea
	// Everything known: features as of the day after the latest.
	var stats features.Stats
	if err := st.Stats(latest+1, &stats); err != nil {
		h.internal(w, r, err)
		return
	}
	v := make([]float64, 0, features.NumFeatures)
	for hz := 1; hz <= 7; hz++ {
		t := latest + 1 + topics.Date(hz)
		var err error
		if v, err = stats.Append(v[:0], &si.Features, t, features.Known{Open: true}); err != nil {
			h.internal(w, r, err)
			return
		}
		wd := strconv.Itoa(t.Weekday())
		out.ByWeekday[wd] = num(v[features.FMeanSalesDow])
		out.OpenByDay[wd] = num(v[features.FOpenRatioDow])
	}
	for _, i := range []int{features.FHistoryDays, features.FMeanSales, features.FMeanCustomers, features.FSalesPerCustomer,
		features.FPromoLift, features.FMeanSales28, features.FTrend7, features.FTrend14, features.FTrend28} {
		out.Means[features.Names()[i]] = num(v[i])
	}
	writeJSON(w, out)
}

// FeaturesResponse is the body of GET /{id}/features.
type FeaturesResponse struct {
	Store    int                  `json:"store_id"`
	Date     topics.Date          `json:"date"`
	AsOf     topics.Date          `json:"as_of"`
	Horizon  int                  `json:"horizon"`
	Open     int                  `json:"open"`
	Schema   string               `json:"schema"`
	Features topics.FeatureVector `json:"features"`
}

func (h *handler) features(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	date, err := topics.ParseDate(q.Get("date"))
	if err != nil {
		invalid(w, "date", "date: %v", err)
		return
	}
	var asOf *topics.Date
	if s := q.Get("as_of"); s != "" {
		a, err := topics.ParseDate(s)
		if err != nil {
			invalid(w, "as_of", "as_of: %v", err)
			return
		}
		asOf = &a
	}
	in := topics.KnownInputs{Open: 1, StateHoliday: "0"}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"promo", &in.Promo}, {"school_holiday", &in.SchoolHoliday}, {"open", &in.Open}} {
		if s := q.Get(p.name); s != "" {
			if s != "0" && s != "1" {
				invalid(w, p.name, "%s %q is not 0 or 1", p.name, s)
				return
			}
			*p.dst = int(s[0] - '0')
		}
	}
	if s := q.Get("state_holiday"); s != "" {
		in.StateHoliday = s
	}
	if _, err := features.KnownOf(in); err != nil {
		fields := topics.Fields(err)
		field := "state_holiday"
		if len(fields) > 0 {
			field = fields[0]
		}
		invalid(w, field, "%s", topics.Reason(err))
		return
	}

	id, si, st, ok := h.lookup(w, r)
	if !ok {
		return
	}
	latest, has := st.Latest()
	if !has {
		notFound(w, "store %d has no sales history yet", id)
		return
	}
	a := latest
	if asOf != nil {
		a = *asOf
	}
	// The vector the forecasting recipe would feed the model.
	src := forecasting.NewStateFeatures(st, &si.Features, forecasting.NewStatsCache(1))
	v, err := src.Features(make([]float64, 0, features.NumFeatures), date, a, forecasting.Inputs{Day: in})
	switch {
	case errors.Is(err, features.ErrHorizon):
		invalid(w, "date", "date %s: %v", date, err)
		return
	case err != nil:
		invalid(w, "as_of", "as_of %s: %v; the state serves as-of days from %s", a, err, st.EarliestAsOf())
		return
	}
	writeJSON(w, FeaturesResponse{Store: id, Date: date, AsOf: a, Horizon: int(date - a), Open: in.Open,
		Schema: features.SchemaVersion, Features: topics.FeatureVector{Names: features.Names(), Values: v}})
}
