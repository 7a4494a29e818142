package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/topics"
)

func TestForecastAPI200(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		name   string
		method string
		target string
		body   string
		check  func(t *testing.T, r resp)
	}{
		{
			name: "predict with the original body", method: "POST", target: "/predict",
			body: `{"store_id":1,"date":"2015-07-01","promo":1,"stateholiday":"0","schoolholiday":0}`,
			check: func(t *testing.T, r resp) {
				v := r.json(t)
				if v["store_id"] != 1.0 || v["date"] != "2015-07-01" || v["model_version"] != "3" || v["as_of"] != "2015-06-19" || v["horizon"] != 12.0 {
					t.Errorf("got %v", v)
				}
				if got, want := v["predicted_sales"], wantSales(1, 12, 1); got != want {
					t.Errorf("predicted_sales = %v, want %v", got, want)
				}
			},
		},
		{
			name: "predict defaults: open, no promo", method: "POST", target: "/predict",
			body: `{"store_id":2,"date":"2015-06-20"}`,
			check: func(t *testing.T, r resp) {
				if got, want := r.json(t)["predicted_sales"], wantSales(2, 1, 0); got != want {
					t.Errorf("predicted_sales = %v, want %v", got, want)
				}
			},
		},
		{
			name: "predict a closed day is 0", method: "POST", target: "/predict",
			body: `{"store_id":2,"date":"2015-06-20","open":0}`,
			check: func(t *testing.T, r resp) {
				if got := r.json(t)["predicted_sales"]; got != 0.0 {
					t.Errorf("predicted_sales = %v, want 0", got)
				}
			},
		},
		{
			name: "predict the last day of the horizon", method: "POST", target: "/predict",
			body: `{"store_id":3,"date":"2015-08-06"}`,
			check: func(t *testing.T, r resp) {
				if got := r.json(t)["horizon"]; got != 48.0 {
					t.Errorf("horizon = %v, want 48", got)
				}
			},
		},
		{
			name: "predict with a per-store model", method: "POST", target: "/predict",
			body: `{"store_id":7,"date":"2015-06-21","promo":0}`,
			check: func(t *testing.T, r resp) {
				v := r.json(t)
				if v["model_name"] != "storecast-sales-store-7" || v["model_version"] != "1" {
					t.Errorf("model = %v %v, want the store's own", v["model_name"], v["model_version"])
				}
			},
		},
		{
			name: "forecasts default to every store over six weeks", method: "POST", target: "/v1/forecasts",
			body: `{}`,
			check: func(t *testing.T, r resp) {
				v := r.json(t)
				if v["count"] != float64(4*DefaultDays) || v["as_of"] != "2015-06-19" {
					t.Errorf("count %v as_of %v, want %d and 2015-06-19", v["count"], v["as_of"], 4*DefaultDays)
				}
				rows := v["forecasts"].([]any)
				first, last := rows[0].(map[string]any), rows[len(rows)-1].(map[string]any)
				if first["store_id"] != 1.0 || first["date"] != "2015-06-20" || last["store_id"] != 7.0 || last["date"] != "2015-07-31" {
					t.Errorf("first %v last %v", first, last)
				}
				if last["model_version"] != "1" {
					t.Errorf("store 7 rows should name their own model: %v", last)
				}
				if _, ok := first["model_version"]; ok {
					t.Errorf("rows of the batch's model should not repeat it: %v", first)
				}
			},
		},
		{
			name: "forecasts with inputs and a Sunday default", method: "POST", target: "/v1/forecasts",
			body: `{"store_ids":[2,1,2],"start_date":"2015-06-20","end_date":"2015-06-23",
			        "inputs":[{"date":"2015-06-22","promo":1},{"store_id":2,"date":"2015-06-22","open":0}]}`,
			check: func(t *testing.T, r resp) {
				rows := r.json(t)["forecasts"].([]any)
				if len(rows) != 8 {
					t.Fatalf("%d rows, want 8 (stores 1 and 2 deduplicated, 4 days)", len(rows))
				}
				type key struct {
					store int
					date  string
				}
				got := map[key]float64{}
				for _, x := range rows {
					m := x.(map[string]any)
					got[key{int(m["store_id"].(float64)), m["date"].(string)}] = m["predicted_sales"].(float64)
				}
				want := map[key]float64{
					{1, "2015-06-20"}: wantSales(1, 1, 0), {1, "2015-06-21"}: 0, // a Sunday: closed by default
					{1, "2015-06-22"}: wantSales(1, 3, 1), {2, "2015-06-22"}: 0, // the store's own entry wins
					{2, "2015-06-23"}: wantSales(2, 4, 0),
				}
				for k, w := range want {
					if got[k] != w {
						t.Errorf("%v = %v, want %v", k, got[k], w)
					}
				}
			},
		},
		{
			name: "model info", method: "GET", target: "/model/info",
			check: func(t *testing.T, r resp) {
				v := r.json(t)
				if v["name"] != "storecast-sales" || v["version"] != "3" || v["trained_through"] != "2015-06-19" {
					t.Errorf("got %v", v)
				}
			},
		},
		{name: "health", method: "GET", target: "/health", check: func(t *testing.T, r resp) {}},
		{name: "ready", method: "GET", target: "/ready", check: func(t *testing.T, r resp) {}},
		{
			name: "openapi.json", method: "GET", target: "/openapi.json",
			check: func(t *testing.T, r resp) {
				if !strings.Contains(string(r.body), `"/v1/forecasts"`) {
					t.Errorf("openapi.json lacks /v1/forecasts")
				}
			},
		},
		{
			name: "docs", method: "GET", target: "/docs",
			check: func(t *testing.T, r resp) {
				if !strings.Contains(string(r.body), "swagger-ui") || strings.Contains(string(r.body), "cdn") {
					t.Errorf("docs page does not load embedded Swagger UI:\n%s", r.body)
				}
			},
		},
		{
			name: "docs assets are embedded", method: "GET", target: "/docs/swagger-ui-bundle.js",
			check: func(t *testing.T, r resp) {
				if r.Body.Len() < 100_000 {
					t.Errorf("swagger-ui-bundle.js is %d bytes", r.Body.Len())
				}
			},
		},
		{
			name: "metrics", method: "GET", target: "/metrics",
			check: func(t *testing.T, r resp) {
				for _, want := range []string{"storecast_api_requests_total", "storecast_forecast_predictions_total", "storecast_forecast_predicted_sales_bucket"} {
					if !strings.Contains(string(r.body), want) {
						t.Errorf("metrics lack %s", want)
					}
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.do("f", c.method, c.target, c.body)
			if r.Code != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", r.Code, r.body)
			}
			c.check(t, r)
		})
	}
}

func TestForecastsAreLogged(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.log.Drain()
	r := h.do("f", "POST", "/predict", `{"store_id":1,"date":"2015-07-01","promo":1}`)
	if r.Code != http.StatusOK {
		t.Fatalf("status %d: %s", r.Code, r.body)
	}
	got := h.log.Drain()
	if len(got) != 1 {
		t.Fatalf("%d forecasts logged, want 1", len(got))
	}
	f := got[0]
	if f.Store != 1 || f.Date.String() != "2015-07-01" || f.AsOf != asOfDay || f.Horizon != 12 ||
		f.PredictedSales != r.json(t)["predicted_sales"] || f.ModelVersion != "3" || f.ID == "" || f.Source != SourcePredict {
		t.Errorf("logged %+v, response %s", f, r.body)
	}
	r = h.do("f", "POST", "/v1/forecasts", `{"store_ids":[1,2]}`)
	if r.Code != http.StatusOK {
		t.Fatalf("status %d: %s", r.Code, r.body)
	}
	batch := h.log.Drain()
	if len(batch) != 2*DefaultDays {
		t.Fatalf("%d forecasts logged, want %d", len(batch), 2*DefaultDays)
	}
	ids := map[string]bool{}
	for _, f := range batch {
		ids[f.ID] = true
		if f.RequestID == "" || f.RequestID != batch[0].RequestID || f.Source != SourceBatch {
			t.Errorf("batch forecast %+v", f)
		}
	}
	if len(ids) != len(batch) {
		t.Errorf("%d distinct ids for %d forecasts", len(ids), len(batch))
	}
}

func TestForecastAPI400(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		name, target, body, field, problem string
	}{
		{"malformed JSON", "/predict", `{"store_id":1,`, "", typeMalformed},
		{"not an object", "/predict", `[1,2]`, "", typeMalformed},
		{"empty body", "/predict", ` `, "", typeMalformed},
		{"store_id of the wrong type", "/predict", `{"store_id":"1","date":"2015-07-01"}`, "store_id", typeMalformed},
		{"stateholiday of the wrong type", "/predict", `{"store_id":1,"date":"2015-07-01","stateholiday":0}`, "stateholiday", typeMalformed},
		{"store_id missing", "/predict", `{"date":"2015-07-01"}`, "store_id", typeInvalidField},
		{"store_id negative", "/predict", `{"store_id":-4,"date":"2015-07-01"}`, "store_id", typeInvalidField},
		{"date missing", "/predict", `{"store_id":1}`, "date", typeInvalidField},
		{"date not a date", "/predict", `{"store_id":1,"date":"2015-02-30"}`, "date", typeInvalidField},
		{"date is the as-of day", "/predict", `{"store_id":1,"date":"2015-06-19"}`, "date", typeInvalidField},
		{"date before the data", "/predict", `{"store_id":1,"date":"2012-01-01"}`, "date", typeInvalidField},
		{"date beyond 48 days", "/predict", `{"store_id":1,"date":"2015-08-07"}`, "date", typeInvalidField},
		{"promo not 0 or 1", "/predict", `{"store_id":1,"date":"2015-07-01","promo":2}`, "promo", typeInvalidField},
		{"stateholiday unknown", "/predict", `{"store_id":1,"date":"2015-07-01","stateholiday":"x"}`, "stateholiday", typeInvalidField},
		{"open not 0 or 1", "/predict", `{"store_id":1,"date":"2015-07-01","open":3}`, "open", typeInvalidField},
		{"forecasts start before as-of", "/v1/forecasts", `{"start_date":"2015-06-01"}`, "start_date", typeInvalidField},
		{"forecasts end beyond 48 days", "/v1/forecasts", `{"end_date":"2015-08-30"}`, "end_date", typeInvalidField},
		{"forecasts end before start", "/v1/forecasts", `{"start_date":"2015-07-10","end_date":"2015-07-01"}`, "end_date", typeInvalidField},
		{"forecasts bad store id", "/v1/forecasts", `{"store_ids":[1,0]}`, "store_ids[1]", typeInvalidField},
		{"forecasts input outside the range", "/v1/forecasts", `{"end_date":"2015-06-25","inputs":[{"date":"2015-07-01"}]}`, "inputs[0].date", typeInvalidField},
		{"forecasts input for a store not asked for", "/v1/forecasts", `{"store_ids":[1],"inputs":[{"store_id":2,"date":"2015-06-22"}]}`, "inputs[0].store_id", typeInvalidField},
		{"forecasts duplicate input", "/v1/forecasts", `{"inputs":[{"date":"2015-06-22"},{"date":"2015-06-22","promo":1}]}`, "inputs[1].date", typeInvalidField},
		{"forecasts store_ids not an array", "/v1/forecasts", `{"store_ids":5}`, "store_ids", typeMalformed},
		{"open null", "/predict", `{"store_id":1,"date":"2015-07-01","open":null}`, "open", typeMalformed},
		{"promo null", "/predict", `{"store_id":1,"date":"2015-07-01","promo":null}`, "promo", typeMalformed},
		{"schoolholiday null", "/predict", `{"store_id":1,"date":"2015-07-01","schoolholiday":null}`, "schoolholiday", typeMalformed},
		{"stateholiday null", "/predict", `{"store_id":1,"date":"2015-07-01","stateholiday":null}`, "stateholiday", typeMalformed},
		{"store_id null", "/predict", `{"store_id":null,"date":"2015-07-01"}`, "store_id", typeMalformed},
		{"body null", "/predict", `null`, "", typeMalformed},
		{"forecasts inputs null", "/v1/forecasts", `{"inputs":null}`, "inputs", typeMalformed},
		{"forecasts store_ids null", "/v1/forecasts", `{"store_ids":null}`, "store_ids", typeMalformed},
		{"forecasts start_date null", "/v1/forecasts", `{"start_date":null}`, "start_date", typeMalformed},
		{"forecasts null store id", "/v1/forecasts", `{"store_ids":[1,null]}`, "store_ids[1]", typeMalformed},
		{"forecasts null input", "/v1/forecasts", `{"inputs":[{"date":"2015-06-22"},null]}`, "inputs[1]", typeMalformed},
		{"forecasts input open null", "/v1/forecasts", `{"inputs":[{"date":"2015-06-22","open":null}]}`, "inputs[0].open", typeMalformed},
		{"forecasts body null", "/v1/forecasts", `null`, "", typeMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.do("f", "POST", c.target, c.body)
			if r.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Code, r.body)
			}
			v := r.json(t)
			if v["type"] != c.problem {
				t.Errorf("type %v, want %s", v["type"], c.problem)
			}
			if f, _ := v["field"].(string); f != c.field {
				t.Errorf("field %q, want %q (%s)", f, c.field, r.body)
			}
		})
	}
}

func TestForecastAPI404(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct{ name, method, target, body, field string }{
		{"unknown store", "POST", "/predict", `{"store_id":999,"date":"2015-07-01"}`, "store_id"},
		{"unknown store in a batch", "POST", "/v1/forecasts", `{"store_ids":[1,999]}`, "store_id"},
		{"unknown store on a closed day", "POST", "/predict", `{"store_id":999,"date":"2015-07-01","open":0}`, "store_id"},
		{"unknown route", "GET", "/nope", "", ""},
		{"training route on the forecast API", "POST", "/train", `{}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.do("f", c.method, c.target, c.body)
			if r.Code != http.StatusNotFound {
				t.Fatalf("status %d, want 404: %s", r.Code, r.body)
			}
			if f, _ := r.json(t)["field"].(string); f != c.field {
				t.Errorf("field %q, want %q", f, c.field)
			}
		})
	}
}

func TestForecastAPI405(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, target := range []string{"/predict", "/v1/forecasts"} {
		if r := h.do("f", "GET", target, ""); r.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: status %d, want 405", target, r.Code)
		}
	}
}

func TestForecastAPI413(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(_ *harness, fc *ForecastConfig, _ *TrainConfig) { fc.MaxRows = 100; fc.MaxBody = 1 << 10 })
	cases := []struct{ name, target, body string }{
		{"predict body over 64 KiB", "/predict", `{"store_id":1,"date":"2015-07-01","pad":"` + strings.Repeat("x", 70<<10) + `"}`},
		{"forecasts body over the limit", "/v1/forecasts", `{"inputs":[` + strings.Repeat(`{"date":"2015-06-22"},`, 100) + `{"date":"2015-06-23"}]}`},
		{"too many forecasts", "/v1/forecasts", `{"store_ids":[1,2,3]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := h.do("f", "POST", c.target, c.body); r.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413: %s", r.Code, r.body)
			}
		})
	}
}

func TestForecastAPI415(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.do("f", "POST", "/predict", `<predict/>`, "Content-Type", "application/xml")
	if r.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("status %d, want 415: %s", r.Code, r.body)
	}
	// curl -d sends form-urlencoded: the original scripts keep working.
	r = h.do("f", "POST", "/predict", `{"store_id":1,"date":"2015-07-01"}`, "Content-Type", "application/x-www-form-urlencoded")
	if r.Code != http.StatusOK {
		t.Fatalf("form content type: status %d, want 200: %s", r.Code, r.body)
	}
}

func TestForecastAPI500(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.stores.panicOn = 3
	r := h.do("f", "POST", "/predict", `{"store_id":3,"date":"2015-07-01"}`)
	if r.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500: %s", r.Code, r.body)
	}
	if strings.Contains(string(r.body), "exploded") || strings.Contains(string(r.body), ".go:") {
		t.Errorf("500 leaks internals: %s", r.body)
	}
	h.stores.panicOn = 0
	h.stores.err = errors.New("leveldb: corrupted at /secret/path")
	r = h.do("f", "POST", "/predict", `{"store_id":3,"date":"2015-07-01"}`)
	if r.Code != http.StatusInternalServerError || strings.Contains(string(r.body), "secret") {
		t.Fatalf("status %d, want 500 without the error text: %s", r.Code, r.body)
	}
}

func TestForecastAPI503(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		setup   func(h *harness)
		target  string
		body    string
		problem string
	}{
		{"no model", func(h *harness) { h.models.def, h.models.perStore = nil, nil }, "/predict", `{"store_id":1,"date":"2015-07-01"}`, typeNoModel},
		{"no model info", func(h *harness) { h.models.def = nil }, "/model/info", "", typeNoModel},
		{"no model for a batch", func(h *harness) { h.models.def = nil }, "/v1/forecasts", `{"store_ids":[1]}`, typeNoModel},
		{"views recovering", func(h *harness) { h.stores.recovered = false }, "/predict", `{"store_id":1,"date":"2015-07-01"}`, typeNotReady},
		{"empty store table", func(h *harness) { h.stores.latest = 0 }, "/v1/forecasts", `{}`, typeNotReady},
		{"forecast log full", func(h *harness) {
			for h.log.Append(context.Background(), make([]topics.ForecastResult, 1)) == nil {
			}
		}, "/predict", `{"store_id":1,"date":"2015-07-01"}`, typeForecastLogFull},
		{"not ready", func(h *harness) { h.stores.recovered = false }, "/ready", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			c.setup(h)
			method := "POST"
			if c.body == "" {
				method = "GET"
			}
			r := h.do("f", method, c.target, c.body)
			if r.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503: %s", r.Code, r.body)
			}
			if c.problem != "" && r.json(t)["type"] != c.problem {
				t.Errorf("type %v, want %s", r.json(t)["type"], c.problem)
			}
		})
	}
}

func TestHotModelSwap(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i, version := range []string{"3", "4"} {
		h.models.def = newFakeModel("storecast-sales", version)
		if i == 1 {
			h.models.def.(*fakeModel).meta.Name = "storecast-sales"
		}
		r := h.do("f", "POST", "/predict", `{"store_id":1,"date":"2015-07-01"}`)
		if got := r.json(t)["model_version"]; got != version {
			t.Errorf("model_version %v, want %s", got, version)
		}
	}
	if !strings.Contains(string(h.do("f", "GET", "/metrics", "").body), fmt.Sprintf(`storecast_forecast_predictions_total{model_version=%q} 1`, "4")) {
		t.Errorf("predictions_total lacks version 4")
	}
}

func TestStoreViewsAreMounted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withStores)
	cases := []struct {
		target string
		status int
		field  string
	}{
		{"/v1/stores/1", 200, ""},
		{"/v1/stores/2/features?date=2015-07-01&promo=1", 200, ""},
		{"/v1/stores/999", 404, ""},
		{"/v1/stores/x", 400, "id"},
		{"/v1/stores/1/features?date=someday", 400, "date"},
		{"/v1/stores/1/features?date=2015-07-01&promo=7", 400, "promo"},
	}
	for _, c := range cases {
		r := h.do("f", "GET", c.target, "")
		if r.Code != c.status {
			t.Errorf("GET %s: status %d, want %d: %s", c.target, r.Code, c.status, r.body)
			continue
		}
		if c.field != "" && r.json(t)["field"] != c.field {
			t.Errorf("GET %s: field %v, want %s", c.target, r.json(t)["field"], c.field)
		}
	}
}

func TestAsOfFollowsTheStoreTable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	asOf := func() any {
		return h.do("f", "POST", "/predict", `{"store_id":1,"date":"2015-07-01"}`).json(t)["as_of"]
	}
	if got := asOf(); got != "2015-06-19" {
		t.Fatalf("as_of %v", got)
	}
	h.stores.setLatest(asOfDay + 1) // a new day arrives
	deadline := time.Now().Add(10 * time.Second)
	for asOf() != "2015-06-20" {
		if time.Now().After(deadline) {
			t.Fatal("as_of never advanced to 2015-06-20")
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
}
