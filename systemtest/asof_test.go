package systemtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// TestAsOfOnTheRealBroker runs `storecast process` and `storecast serve` on
// the real broker (topics of its own) with 20 stores reporting through
// 2015-06-19 and store 21 silent since 2015-04-20 (60 days before), and
// checks the chain's clock end to end:
//   - the as-of day is 2015-06-19; /model/info lists store 21 as excluded;
//   - POST /predict for store 21 answers 422 stale-store naming store_id,
//     the store and its last day; store 1 is forecast;
//   - the all-stores POST /v1/forecasts leaves store 21 out;
//   - one sale for store 1 dated 2030-01-01 lands in
//     sale_rossman_store.dlq with its reason and changes no forecast and no
//     as-of day.
func TestAsOfOnTheRealBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	kcfg := testkit.Kafka(t)
	suffix, names, bin, env := deployment(t, kcfg)
	const (
		stale  = 21
		asOf   = "2015-06-19"
		silent = "2015-04-20"
	)
	// Stores 1..21 until 2015-04-20, then 1..20 until 2015-06-19.
	run(t, env, bin, "produce", "--stores", "21", "--days", "120", "--end", silent, "--metrics-addr", "", "--no-create-topics")
	run(t, env, bin, "produce", "--stores", "20", "--days", "180", "--end", asOf, "--metrics-addr", "", "--no-create-topics")
	// A one-tree model as the trainer of this deployment names it.
	m := testkit.ModelEvent("1", 1000, 1500)
	m.Name += "-" + suffix
	ev, err := topics.ModelEventCodec{}.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Produce(t, kcfg, string(names.Models), m.Name, ev)

	service(t, "process", env, bin, "process", "--only", "features", "--storage-dir", filepath.Join(t.TempDir(), "goka"), "--metrics-addr", "")
	forecastAddr := freeAddr(t)
	service(t, "serve", env, bin, "serve", "--forecast-addr", forecastAddr, "--train-addr", freeAddr(t),
		"--storage-dir", "", "--dashboard-addr", "", "--mlflow-tracking-uri", "")
	url := "http://" + forecastAddr

	latestDay := func(store int) func() (bool, string) {
		want := map[bool]string{true: silent, false: asOf}[store == stale]
		return func() (bool, string) {
			code, b, err := call("GET", fmt.Sprintf("%s/v1/stores/%d", url, store), "", "")
			if err != nil {
				return false, err.Error()
			}
			return code == 200 && strings.Contains(string(b), `"latest_day":"`+want+`"`), string(b)
		}
	}
	poll(t, "store 21's table to end on "+silent, 3*time.Minute, latestDay(stale))
	// Partitions are processed independently: every current store, not just one, must have caught up.
	for store := 1; store < stale; store++ {
		poll(t, fmt.Sprintf("store %d's table to end on %s", store, asOf), 3*time.Minute, latestDay(store))
	}
	poll(t, "/ready", 2*time.Minute, func() (bool, string) {
		code, b, err := call("GET", url+"/ready", "", "")
		return err == nil && code == 200, string(b)
	})

	// /model/info: the as-of day, its rule and the excluded store.
	var info struct {
		AsOf struct {
			Day      string `json:"day"`
			Rule     string `json:"rule"`
			Stores   int    `json:"stores"`
			Excluded []struct {
				StoreID   int    `json:"store_id"`
				LatestDay string `json:"latest_day"`
				Reason    string `json:"reason"`
			} `json:"excluded"`
		} `json:"as_of"`
	}
	getJSON(t, url+"/model/info", &info)
	a := info.AsOf
	if a.Day != asOf || a.Stores != 21 || len(a.Excluded) != 1 || a.Excluded[0].StoreID != stale || a.Excluded[0].LatestDay != silent ||
		!strings.Contains(a.Excluded[0].Reason, "60 days before the as-of day (more than 28)") || !strings.Contains(a.Rule, "half of the stores") {
		t.Fatalf("/model/info as_of = %+v", a)
	}

	// The stale store is refused with the reason; a current one is forecast.
	predict := func(store int) (int, []byte) {
		code, b, err := call("POST", url+"/predict", "", fmt.Sprintf(`{"store_id":%d,"date":"2015-07-01","promo":1,"stateholiday":"0","schoolholiday":0}`, store))
		if err != nil {
			t.Fatal(err)
		}
		return code, b
	}
	code, b := predict(stale)
	var problem struct {
		Type, Detail, Field string
	}
	if err := json.Unmarshal(b, &problem); err != nil {
		t.Fatalf("422 body %s: %v", b, err)
	}
	if code != http.StatusUnprocessableEntity || !strings.HasSuffix(problem.Type, "stale-store") || problem.Field != "store_id" ||
		!strings.Contains(problem.Detail, "store 21 has no sales since "+silent) {
		t.Fatalf("POST /predict store 21: %d %s", code, b)
	}
	t.Logf("store 21: %d %s", code, b)
	code, before := predict(1)
	if code != http.StatusOK || !strings.Contains(string(before), `"as_of":"`+asOf+`"`) {
		t.Fatalf("POST /predict store 1: %d %s", code, before)
	}

	// All stores: 20 stores × 2 days, store 21 left out.
	code, b, err = call("POST", url+"/v1/forecasts", "", `{"start_date":"2015-06-20","end_date":"2015-06-21"}`)
	if err != nil || code != http.StatusOK {
		t.Fatalf("POST /v1/forecasts: %d %.300s %v", code, b, err)
	}
	var batch struct {
		Count     int `json:"count"`
		Forecasts []struct {
			StoreID int `json:"store_id"`
		} `json:"forecasts"`
	}
	if err := json.Unmarshal(b, &batch); err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, f := range batch.Forecasts {
		if !slices.Contains(ids, f.StoreID) {
			ids = append(ids, f.StoreID)
		}
	}
	if batch.Count != 40 || len(ids) != 20 || slices.Contains(ids, stale) {
		t.Fatalf("all-stores forecast: count %d, stores %v; want 40 rows of stores 1..20", batch.Count, ids)
	}

	// One far-future sale: dead-lettered with its reason; nothing moves.
	far := topics.Sale{V: 1, Store: 1, DayOfWeek: 2, Date: topics.DateFromYMD(2030, 1, 1), Sales: 5000, Customers: 500, Open: 1, StateHoliday: "0"}
	testkit.Produce(t, kcfg, string(names.Sales), topics.StoreKey(1), topics.AppendSale(nil, &far))
	var dl topics.DeadLetter
	poll(t, "the 2030 sale in "+string(names.SalesDLQ), 2*time.Minute, func() (bool, string) {
		recs := testkit.ReadTopic(t, kcfg, string(names.SalesDLQ))
		if len(recs) == 0 {
			return false, "empty"
		}
		if len(recs) > 1 {
			t.Fatalf("%d dead letters, want the one 2030 sale", len(recs))
		}
		if err := json.Unmarshal(recs[0].Value, &dl); err != nil {
			t.Fatal(err)
		}
		return true, ""
	})
	if !strings.Contains(dl.Payload, "2030-01-01") || !strings.Contains(dl.Reason, "--max-days-ahead") || !slices.Contains(dl.Fields, "date") {
		t.Fatalf("dead letter %+v", dl)
	}
	t.Logf("far-future sale dead-lettered: %s", dl.Reason)
	// The features group dead-lettered it without writing store 1's state:
	// the same forecast, as of the same day.
	code, after := predict(1)
	if code != http.StatusOK || forecastOf(t, after) != forecastOf(t, before) {
		t.Fatalf("store 1 after the 2030 sale: %d %s; before it: %s", code, after, before)
	}
	getJSON(t, url+"/model/info", &info)
	if info.AsOf.Day != asOf {
		t.Fatalf("as-of day after the 2030 sale: %s, want %s", info.AsOf.Day, asOf)
	}
	poll(t, "store 1's table unchanged", 10*time.Second, latestDay(1))
}

// forecastOf is the part of a /predict answer that the state and the
// model decide.
func forecastOf(t *testing.T, b []byte) string {
	t.Helper()
	var p struct {
		PredictedSales float64 `json:"predicted_sales"`
		ModelVersion   string  `json:"model_version"`
		AsOf           string  `json:"as_of"`
		Horizon        int     `json:"horizon"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("/predict answer %s: %v", b, err)
	}
	return fmt.Sprintf("%v by model %s as of %s (horizon %d)", p.PredictedSales, p.ModelVersion, p.AsOf, p.Horizon)
}

// getJSON GETs url and decodes its 200 answer into out.
func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	code, b, err := call("GET", url, "", "")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET %s: %d %.300s %v", url, code, b, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v in %.300s", url, err, b)
	}
}
