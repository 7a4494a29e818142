package systemtest

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/storecast/storecast/ingest"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/sink"
	"github.com/storecast/storecast/topics"
)

// TestObservabilityEndToEnd runs the system under a private Prometheus
// configured from deploy/prometheus/prometheus.yml (the test's components
// in place of the stack's addresses, its rules loaded) and:
//
//   - live accuracy: loads the shared data's history up to day D
//     (2015-06-05), publishes a model, asks the API for every store's forecasts of
//     D+1..D+14, streams the sales of those days, and checks that the
//     forecast_accuracy view and the sink's storecast_forecast_accuracy_rmspe
//     (as Prometheus scraped it) give exactly the RMSPE per horizon week that
//     the test computes itself from the API's answers and train.csv;
//   - dashboards: after that workload (and a dead letter and some API
//     traffic), every panel query of deploy/grafana/dashboards/*.json, with
//     its template variables resolved, must run without error and return at
//     least one series.
func TestObservabilityEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	kcfg := testkit.Kafka(t)
	data := testkit.DataDir(t)
	dsn := testkit.Postgres(t)
	trainer := trainerBinary(t)
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		if testkit.Integration() {
			t.Fatalf("prometheus is not installed (%v); .ci/run installs Debian's prometheus", err)
		}
		t.Skip("prometheus is not installed")
	}
	suffix, names, bin, env := deployment(t, kcfg)
	const token = "obs-token"
	processAddr, sinkAddr, forecastAddr, trainAddr, trainerAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	state := t.TempDir()
	start := time.Now()

	// History up to D, and one record no consumer accepts (a dead letter).
	const asOf, first, last = "2015-06-05", "2015-06-06", "2015-06-19"
	trainCSV, storeCSV := filepath.Join(data, "train.csv"), filepath.Join(data, "store.csv")
	run(t, env, bin, "produce", "--train", trainCSV, "--store", storeCSV, "--start", "2015-01-01", "--end", asOf, "--metrics-addr", "")
	sendRaw(t, kcfg, string(names.Sales), "7", `{"v":1,"store":7,`)
	t.Logf("produced the history in %s", time.Since(start).Round(time.Millisecond))

	service(t, "process", env, bin, "process", "--only", "features,forecast", "--storage-dir", filepath.Join(state, "goka"), "--metrics-addr", processAddr)
	service(t, "sink", env, bin, "sink", "run", "--pg-dsn", dsn, "--metrics-addr", sinkAddr)
	service(t, "serve", env, bin, "serve", "--forecast-addr", forecastAddr, "--train-addr", trainAddr, "--dashboard-addr", "",
		"--api-token", token, "--storage-dir", "")
	service(t, "trainer", env, trainer, "worker", "--metrics-addr", trainerAddr)
	prom := startPrometheus(t, promBin, map[string]string{
		"127.0.0.1:9103": processAddr, "127.0.0.1:9102": sinkAddr, "127.0.0.1:4242": forecastAddr,
		"127.0.0.1:4243": trainAddr, "127.0.0.1:9104": trainerAddr,
		"127.0.0.1:9100": "127.0.0.1:" + envOr("STORECAST_NODE_EXPORTER_PORT", "9100"),
		"127.0.0.1:9187": "127.0.0.1:" + envOr("STORECAST_PG_EXPORTER_PORT", "9187"),
		"127.0.0.1:7071": "127.0.0.1:" + envOr("STORECAST_KAFKA_JMX_PORT", "7071"),
	})
	fURL, tURL := "http://"+forecastAddr, "http://"+trainAddr

	// Every store, not only one: the table's partitions reach serve's view
	// at their own pace (waiting for store 1115 alone once left 416 stores
	// out of the batch below). A store's state only moves forward, so the
	// stores already seen at D are not asked again.
	next := 1
	poll(t, "every store's state to reach "+asOf, 5*time.Minute, func() (bool, string) {
		for ; next <= 1115; next++ {
			code, b, err := call("GET", fmt.Sprintf("%s/v1/stores/%d", fURL, next), "", "")
			if err != nil || code != 200 || !strings.Contains(string(b), `"latest_day":"`+asOf+`"`) {
				return false, fmt.Sprintf("store %d: %d %.200s %v", next, code, b, err)
			}
		}
		return true, ""
	})
	const version = "1"
	publishModel(t, kcfg, suffix, version, asOf)
	poll(t, "/ready", 2*time.Minute, func() (bool, string) {
		code, b, err := call("GET", fURL+"/ready", "", "")
		return err == nil && code == 200, string(b)
	})
	t.Logf("model %s serves at %s", version, time.Since(start).Round(time.Second))

	// Every store's forecasts of D+1..D+14, as of D.
	code, b, err := call("POST", fURL+"/v1/forecasts", "", fmt.Sprintf(`{"start_date":%q,"end_date":%q}`, first, last))
	if err != nil || code != 200 {
		t.Fatalf("POST /v1/forecasts: %d %.300s %v", code, b, err)
	}
	var batch struct {
		AsOf         string `json:"as_of"`
		ModelVersion string `json:"model_version"`
		Forecasts    []struct {
			StoreID        int     `json:"store_id"`
			Date           string  `json:"date"`
			Horizon        int     `json:"horizon"`
			PredictedSales float64 `json:"predicted_sales"`
			ModelVersion   *string `json:"model_version"`
		} `json:"forecasts"`
	}
	if err := json.Unmarshal(b, &batch); err != nil {
		t.Fatal(err)
	}
	if batch.AsOf != asOf || batch.ModelVersion != version || len(batch.Forecasts) != 1115*14 {
		t.Fatalf("as of %s by %s with %d forecasts; want as of %s by %s with %d", batch.AsOf, batch.ModelVersion, len(batch.Forecasts), asOf, version, 1115*14)
	}

	// The sales of D+1..D+14 arrive.
	run(t, env, bin, "produce", "--train", trainCSV, "--store", storeCSV, "--start", first, "--end", last, "--metrics-addr", "")
	actual := readSales(t, trainCSV, first, last)

	// The test's own RMSPE per horizon week, over open days with sales > 0.
	type acc struct{ n, sse float64 }
	own := map[int]*acc{}
	withActual := 0
	for _, f := range batch.Forecasts {
		if f.ModelVersion != nil && *f.ModelVersion != version {
			t.Fatalf("store %d answered by model %s, not the batch's %s", f.StoreID, *f.ModelVersion, version)
		}
		a, ok := actual[storeDay{f.StoreID, f.Date}]
		if !ok {
			continue
		}
		withActual++
		if a <= 0 {
			continue
		}
		w := (f.Horizon-1)/7 + 1
		if own[w] == nil {
			own[w] = &acc{}
		}
		e := (float64(a) - f.PredictedSales) / float64(a)
		own[w].n++
		own[w].sse += e * e
	}
	if len(own) != 2 {
		t.Fatalf("forecasts cover horizon weeks %v, want 1 and 2", own)
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	poll(t, "every forecast's actual sale in PostgreSQL", 5*time.Minute, func() (bool, string) {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM forecast_results WHERE actual_sales IS NOT NULL`).Scan(&n); err != nil {
			return false, err.Error()
		}
		return n == withActual, fmt.Sprintf("%d of %d", n, withActual)
	})

	// The view gives the same RMSPE.
	view, err := sink.QueryAccuracy(ctx, conn, sink.AccuracyWindowDays)
	if err != nil {
		t.Fatal(err)
	}
	if len(view) != len(own) {
		t.Fatalf("view rows %+v, want weeks %v", view, own)
	}
	for _, v := range view {
		o := own[v.HorizonWeek]
		want := math.Sqrt(o.sse / o.n)
		if v.ModelVersion != version || float64(v.Forecasts) != o.n || !near(v.RMSPE, want) {
			t.Errorf("view: week %d model %s: %d forecasts RMSPE %.12f; the test computes %v forecasts RMSPE %.12f",
				v.HorizonWeek, v.ModelVersion, v.Forecasts, v.RMSPE, o.n, want)
		}
		t.Logf("week %d: RMSPE %.4f over %d forecasts (view and test agree)", v.HorizonWeek, v.RMSPE, v.Forecasts)
	}

	// And so does the metric, as Prometheus scraped it from the sink.
	for w, o := range own {
		want := math.Sqrt(o.sse / o.n)
		q := fmt.Sprintf(`storecast_forecast_accuracy_rmspe{job="storecast-sink",model_version=%q,horizon_week="%d"}`, version, w)
		poll(t, q+" in Prometheus", 2*time.Minute, func() (bool, string) {
			vals, err := prom.query(q)
			if err != nil || len(vals) != 1 {
				return false, fmt.Sprint(vals, err)
			}
			return near(vals[0], want), fmt.Sprintf("%.12f, want %.12f", vals[0], want)
		})
	}

	// Some API traffic: answered, refused and not found.
	for i := range 20 {
		_, _, _ = call("POST", fURL+"/predict", "", fmt.Sprintf(`{"store_id":%d,"date":"2015-06-10"}`, i+1))
	}
	_, _, _ = call("POST", fURL+"/predict", "", `{"store_id":1,"date":"2016-01-01"}`)
	_, _, _ = call("GET", fURL+"/v1/stores/99999", "", "")

	// The two listeners of storecast serve never expose the same series.
	_, fm, _ := call("GET", fURL+"/metrics", "", "")
	_, tm, _ := call("GET", tURL+"/metrics", "", "")
	seen := map[string]bool{}
	for _, l := range strings.Split(string(fm), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			seen[strings.Fields(l)[0]] = true
		}
	}
	trainSeries := 0
	for _, l := range strings.Split(string(tm), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		trainSeries++
		if k := strings.Fields(l)[0]; seen[k] {
			t.Errorf("series %s on both the forecast and the training API's /metrics", k)
		}
	}
	if trainSeries == 0 || len(seen) == 0 {
		t.Errorf("%d series on the forecast API, %d on the training API; want both", len(seen), trainSeries)
	}

	// Every component's /metrics, as served after the workload, follows the
	// naming conventions (the packages' TestMetricNamesLint lint the same
	// metrics before they have series).
	for _, c := range []struct{ name, url string }{
		{"process", "http://" + processAddr}, {"sink", "http://" + sinkAddr}, {"serve (forecast API)", fURL},
		{"serve (training API)", tURL}, {"trainer", "http://" + trainerAddr},
	} {
		code, b, err := call("GET", c.url+"/metrics", "", "")
		if err != nil || code != 200 {
			t.Errorf("%s /metrics: %d %v", c.name, code, err)
			continue
		}
		testkit.LintExposition(t, c.name, bytes.NewReader(b), "storecast_")
	}

	// The broker's JMX agent reads the log sizes of the production topics
	// only (deploy/kafka/jmx-exporter.yml names their beans exactly), and this
	// world's topics are suffixed: make sure the production sales topics exist,
	// as `storecast produce` would (created empty on a fresh broker, untouched
	// on a stack that has them), so the log-size panel has series to show.
	if err := ingest.EnsureTopics(kcfg, topics.DefaultNames(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("production sales topics: %v", err)
	}

	// Every panel of every dashboard answers with series.
	checkDashboards(t, prom, filepath.Join(repoRoot(t), "deploy", "grafana", "dashboards"))
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// sendRaw produces one record as is.
func sendRaw(t *testing.T, kcfg kafka.Config, topic, key, value string) {
	t.Helper()
	p, err := sarama.NewSyncProducer(kcfg.Brokers, kcfg.IdempotentProducer(true))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.StringEncoder(value)}); err != nil {
		t.Fatal(err)
	}
}

// publishModel publishes an all-stores model on the test's models topic, as
// the trainer does (testkit.ModelEvent: 5,500 without a promotion, 7,500
// with one) with a validation RMSPE and training bins that say every
// feature was 0 or 1 half of the time (so served vectors drift and the PSI
// series exist). Training itself is the trainer's tests' business; here it
// would only cost minutes.
func publishModel(t *testing.T, kcfg kafka.Config, suffix, version, trainedThrough string) {
	t.Helper()
	ev := testkit.ModelEvent(version, 5500, 7500)
	ev.Name += "-" + suffix
	ev.Metrics = map[string]float64{"val_rmspe": 0.15}
	through, err := topics.ParseDate(trainedThrough)
	if err != nil {
		t.Fatal(err)
	}
	ev.TrainedThrough = through
	for _, f := range ev.FeatureNames {
		ev.FeatureBins = append(ev.FeatureBins, topics.FeatureBins{Feature: f, Edges: []float64{0}, Fractions: []float64{0.5, 0.5}})
	}
	b, err := topics.ModelEventCodec{}.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	sendRaw(t, kcfg, string(topics.DefaultNames().WithSuffix(suffix).Models), ev.Name, string(b))
}

type storeDay struct {
	store int
	day   string
}

// readSales returns the sales of train.csv between first and last (inclusive).
func readSales(t *testing.T, path, first, last string) map[storeDay]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	if _, err := r.Read(); err != nil { // header
		t.Fatal(err)
	}
	out := map[storeDay]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if d := rec[2]; d >= first && d <= last {
			s, err1 := strconv.Atoi(rec[0])
			v, err2 := strconv.Atoi(rec[3])
			if err1 != nil || err2 != nil {
				t.Fatalf("train.csv row %v", rec)
			}
			out[storeDay{s, d}] = v
		}
	}
	return out
}

// promServer is a private Prometheus server of one test.
type promServer struct{ url string }

// startPrometheus runs Prometheus with deploy/prometheus/prometheus.yml,
// its addresses replaced by replace (default → actual), scraping and
// evaluating rules every 2 s, until the test ends.
func startPrometheus(t *testing.T, bin string, replace map[string]string) *promServer {
	t.Helper()
	root := repoRoot(t)
	src, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cfg := string(src)
	pairs := []string{"127.0.0.1:9090", addr, "scrape_interval: 15s", "scrape_interval: 2s", "evaluation_interval: 15s", "evaluation_interval: 2s",
		"scrape_timeout: 14s", "scrape_timeout: 2s", "  - rules/", "  - " + filepath.Join(root, "deploy", "prometheus", "rules") + "/"}
	for k, v := range replace {
		pairs = append(pairs, k, v)
	}
	cfg = strings.NewReplacer(pairs...).Replace(cfg)
	dir := t.TempDir()
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	service(t, "prometheus", nil, bin, "--config.file="+path, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	p := &promServer{url: "http://" + addr}
	poll(t, "Prometheus to be ready", time.Minute, func() (bool, string) {
		code, b, err := call("GET", p.url+"/-/ready", "", "")
		return err == nil && code == 200, string(b)
	})
	return p
}

// query runs an instant query and returns the value of every series.
func (p *promServer) query(q string) ([]float64, error) {
	res, err := p.api("/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(res, &data); err != nil {
		return nil, err
	}
	var out []float64
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("value %v: %w", r.Value[1], err)
		}
		out = append(out, v)
	}
	if data.ResultType == "scalar" {
		return nil, fmt.Errorf("scalar result")
	}
	return out, nil
}

// api GETs a Prometheus API path and returns its data.
func (p *promServer) api(path string) (json.RawMessage, error) {
	code, b, err := call("GET", p.url+path, "", "")
	if err != nil {
		return nil, err
	}
	var resp struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, fmt.Errorf("%d %.200s: %w", code, b, err)
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("%d: %s", code, resp.Error)
	}
	return resp.Data, nil
}

// labelValuesRE matches a Grafana query variable label_values(selector, label).
var labelValuesRE = regexp.MustCompile(`^label_values\((.*),\s*(\w+)\)$`)

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title  string `json:"title"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query struct {
				Query string `json:"query"`
			} `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// checkDashboards runs every panel query of the dashboards in dir against
// p, with each template variable resolved to its first value and Grafana's
// interval variables to 1m, until every query returns series (scrapes and
// rule evaluations need a few rounds) or two minutes pass; then it fails
// on each query that errors or returns nothing.
func checkDashboards(t *testing.T, p *promServer, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s: %v", dir, err)
	}
	type query struct {
		where, expr string
		vars        map[string]string // the dashboard's variables: name → label_values(...)
	}
	var queries []query
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		vars := map[string]string{}
		for _, v := range d.Templating.List {
			vars[v.Name] = v.Query.Query
		}
		for _, pn := range d.Panels {
			if len(pn.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", d.Title, pn.Title)
			}
			for _, tg := range pn.Targets {
				queries = append(queries, query{fmt.Sprintf("%s / %s / %s", d.Title, pn.Title, tg.RefID), tg.Expr, vars})
			}
		}
	}
	t.Logf("%d panel queries in %d dashboards", len(queries), len(files))

	var failures map[string]string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		failures = map[string]string{}
		for _, q := range queries {
			// Variables resolve on each round: their series may appear late.
			expr, err := resolveVars(p, q.expr, q.vars)
			if err != nil {
				failures[q.where] = err.Error()
				continue
			}
			expr = strings.NewReplacer("$__rate_interval", "1m", "$__interval", "15s", "$__range", "5m").Replace(expr)
			vals, err := p.query(expr)
			switch {
			case err != nil:
				failures[q.where] = fmt.Sprintf("%s: %v", expr, err)
			case len(vals) == 0:
				failures[q.where] = expr + ": no series"
			}
		}
		if len(failures) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second) // one scrape and rule evaluation round
	}
	keys := make([]string, 0, len(failures))
	for k := range failures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Errorf("panel %s: %s", k, failures[k])
	}
	t.Logf("%d failing panel queries", len(failures))
}

var varRE = regexp.MustCompile(`\$\{?(\w+)\}?`)

// resolveVars replaces each dashboard variable of expr by its first value
// (label_values queries against p).
func resolveVars(p *promServer, expr string, vars map[string]string) (string, error) {
	var err error
	out := varRE.ReplaceAllStringFunc(expr, func(s string) string {
		name := varRE.FindStringSubmatch(s)[1]
		def, ok := vars[name]
		if !ok || err != nil {
			return s
		}
		m := labelValuesRE.FindStringSubmatch(def)
		if m == nil {
			err = fmt.Errorf("variable %s: query %q is not label_values(selector, label)", name, def)
			return s
		}
		var res json.RawMessage
		res, err = p.api("/api/v1/series?match[]=" + url.QueryEscape(m[1]))
		if err != nil {
			return s
		}
		var series []map[string]string
		if err = json.Unmarshal(res, &series); err != nil {
			return s
		}
		var values []string
		for _, l := range series {
			if v := l[m[2]]; v != "" {
				values = append(values, v)
			}
		}
		if len(values) == 0 {
			err = fmt.Errorf("variable %s (%s) has no values", name, def)
			return s
		}
		sort.Strings(values)
		return regexp.QuoteMeta(values[0])
	})
	return out, err
}
