// Package systemtest holds end-to-end tests of the whole system against
// the real Kafka, PostgreSQL and MLflow that `make up` starts. They build
// the storecast binary, run its services and the Python trainer as
// subprocesses on names of their own (a suffix), and are skipped unless
// STORECAST_INTEGRATION=1.
package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/topics"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// build compiles cmd/storecast into a temporary folder.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "storecast")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/storecast")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a subprocess that service started.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it exited
	err  error         // its exit, once done is closed
}

// service runs a long-lived subprocess until the test ends (SIGTERM, then
// SIGKILL after 20 s), logging to a file that is printed when the test
// fails.
func service(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		_ = f.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			t.Logf("---- %s log (tail) ----\n%s", name, b)
		}
	})
	return p
}

func run(t *testing.T, env []string, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
	}
}

// poll calls f until it returns true or timeout passes.
func poll(t *testing.T, what string, timeout time.Duration, f func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ok, state := f()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, last)
		}
		time.Sleep(250 * time.Millisecond) // polling with a deadline
	}
}

func call(method, url, token, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// trainerBinary returns the trainer's console script from trainer/.venv; it
// fails under STORECAST_INTEGRATION=1 when missing, else skips.
func trainerBinary(t *testing.T) string {
	t.Helper()
	trainer := filepath.Join(repoRoot(t), "trainer", ".venv", "bin", "storecast-trainer")
	if _, err := os.Stat(trainer); err != nil {
		if testkit.Integration() {
			t.Fatalf("the trainer is not installed (%v); `make up` installs it", err)
		}
		t.Skip("the trainer is not installed")
	}
	return trainer
}

// deployment gives the test names of its own (a suffix) with their topics,
// the storecast binary and the environment its subprocesses run with.
func deployment(t *testing.T, kcfg kafka.Config) (suffix string, names topics.Names, bin string, env []string) {
	t.Helper()
	suffix = testkit.UniqueSuffix(t)
	names = topics.DefaultNames().WithSuffix(suffix)
	testkit.CreateTopics(t, kcfg, names)
	bin = build(t)
	env = []string{"STORECAST_BROKERS=" + strings.Join(kcfg.Brokers, ","), "STORECAST_NAMES_SUFFIX=" + suffix}
	return suffix, names, bin, env
}

// TestPredictEndToEnd replays a slice of the shared data (every store,
// 2015-01-01..2015-06-19), trains a model by POST /train, and checks that
// POST /predict answers with the champion and that the same forecast lands
// in PostgreSQL; then that /v1/forecasts for all 1,115 stores over 42 days
// returns (and logs) 46,830 forecasts.
func TestPredictEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	kcfg := testkit.Kafka(t)
	data := testkit.DataDir(t)
	dsn := testkit.Postgres(t)
	trainer := trainerBinary(t)
	suffix, names, bin, env := deployment(t, kcfg)
	const token = "e2e-token"
	forecastAddr, trainAddr, dashboardAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	state := t.TempDir()

	start := time.Now()
	run(t, env, bin, "produce", "--train", filepath.Join(data, "train.csv"), "--store", filepath.Join(data, "store.csv"),
		"--start", "2015-01-01", "--end", "2015-06-19", "--metrics-addr", "")
	t.Logf("produced the slice in %s", time.Since(start).Round(time.Millisecond))
	produceDeadLetter(t, env, bin, filepath.Join(data, "store.csv"))

	service(t, "process", env, bin, "process", "--only", "features,forecast", "--storage-dir", filepath.Join(state, "goka"), "--metrics-addr", "")
	service(t, "sink", env, bin, "sink", "run", "--pg-dsn", dsn, "--metrics-addr", "")
	service(t, "serve", env, bin, "serve", "--forecast-addr", forecastAddr, "--train-addr", trainAddr,
		"--api-token", token, "--storage-dir", "", "--log-queue", "100000",
		"--dashboard-addr", dashboardAddr, "--pg-read-dsn", dsn)
	service(t, "trainer", env, trainer, "worker", "--metrics-addr", freeAddr(t))
	fURL, tURL := "http://"+forecastAddr, "http://"+trainAddr

	// The views hold the whole slice.
	poll(t, "the store table to reach 2015-06-19", 5*time.Minute, func() (bool, string) {
		code, b, err := call("GET", fURL+"/v1/stores/1115", "", "")
		if err != nil {
			return false, err.Error()
		}
		return code == 200 && bytes.Contains(b, []byte(`"latest_day":"2015-06-19"`)), string(b)
	})
	t.Logf("features and views caught up at %s", time.Since(start).Round(time.Second))

	// Train by event.
	code, b, err := call("POST", tURL+"/train", token, `{}`)
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("POST /train: %d %s %v", code, b, err)
	}
	var accepted struct {
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(b, &accepted); err != nil {
		t.Fatal(err)
	}
	var trained struct {
		Status       string `json:"status"`
		Reason       string `json:"reason"`
		ModelVersion string `json:"model_version"`
		Promoted     bool   `json:"promoted"`
	}
	poll(t, "training to finish", 15*time.Minute, func() (bool, string) {
		code, b, err := call("GET", tURL+"/train/"+accepted.RequestID+"?wait=30s", "", "")
		if err != nil || code != 200 {
			return false, fmt.Sprint(code, string(b), err)
		}
		_ = json.Unmarshal(b, &trained)
		if trained.Status == "failed" {
			t.Fatalf("training failed: %s", b)
		}
		return trained.Status == "succeeded", string(b)
	})
	t.Logf("trained model version %s (promoted %v) at %s", trained.ModelVersion, trained.Promoted, time.Since(start).Round(time.Second))

	poll(t, "/ready", 2*time.Minute, func() (bool, string) {
		code, b, err := call("GET", fURL+"/ready", "", "")
		return err == nil && code == 200, string(b)
	})

	// One forecast: answered, then the same prediction in PostgreSQL.
	code, b, err = call("POST", fURL+"/predict", "", `{"store_id":1,"date":"2015-07-01","promo":1,"stateholiday":"0","schoolholiday":0}`)
	if err != nil || code != 200 {
		t.Fatalf("POST /predict: %d %s %v", code, b, err)
	}
	var pred struct {
		StoreID        int     `json:"store_id"`
		Date           string  `json:"date"`
		PredictedSales float64 `json:"predicted_sales"`
		ModelVersion   string  `json:"model_version"`
		AsOf           string  `json:"as_of"`
		Horizon        int     `json:"horizon"`
	}
	if err := json.Unmarshal(b, &pred); err != nil {
		t.Fatal(err)
	}
	if pred.AsOf != "2015-06-19" || pred.Horizon != 12 || pred.PredictedSales <= 0 || pred.ModelVersion != trained.ModelVersion {
		t.Errorf("prediction %s; trained version %s", b, trained.ModelVersion)
	}
	t.Logf("POST /predict → %s", bytes.TrimSpace(b))

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	poll(t, "the forecast in PostgreSQL", 2*time.Minute, func() (bool, string) {
		var sales float64
		var version, asOf string
		err := conn.QueryRow(ctx, `SELECT predicted_sales, model_version, as_of::text FROM forecast_results
			WHERE store = 1 AND target_date = '2015-07-01' AND source = 'api-predict'`).Scan(&sales, &version, &asOf)
		if err != nil {
			return false, err.Error()
		}
		if math.Abs(sales-pred.PredictedSales) > 1e-9 || version != pred.ModelVersion || asOf != pred.AsOf {
			t.Fatalf("PostgreSQL holds %v by model %s as of %s; the API answered %v by %s as of %s", sales, version, asOf, pred.PredictedSales, pred.ModelVersion, pred.AsOf)
		}
		return true, ""
	})

	// The whole chain over six weeks.
	t0 := time.Now()
	code, b, err = call("POST", fURL+"/v1/forecasts", "", `{"start_date":"2015-06-20","end_date":"2015-07-31"}`)
	if err != nil || code != 200 {
		t.Fatalf("POST /v1/forecasts: %d %.500s %v", code, b, err)
	}
	var batch struct {
		Count     int               `json:"count"`
		Forecasts []json.RawMessage `json:"forecasts"`
	}
	if err := json.Unmarshal(b, &batch); err != nil {
		t.Fatal(err)
	}
	if batch.Count != 46_830 || len(batch.Forecasts) != 46_830 {
		t.Fatalf("count %d, %d rows; want 46,830 (1,115 stores × 42 days)", batch.Count, len(batch.Forecasts))
	}
	t.Logf("POST /v1/forecasts: 46,830 forecasts in %s", time.Since(t0).Round(time.Millisecond))
	poll(t, "the 46,830 forecasts in PostgreSQL", 3*time.Minute, func() (bool, string) {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM forecast_results WHERE source = 'api-forecasts'`).Scan(&n); err != nil {
			return false, err.Error()
		}
		return n == 46_830, fmt.Sprint(n, " rows")
	})

	// A batch request by event: the forecast group answers with the same
	// features and model as the API, and the sink lands it.
	apiStore1 := map[string]float64{}
	for _, raw := range batch.Forecasts {
		var r struct {
			StoreID        int     `json:"store_id"`
			Date           string  `json:"date"`
			PredictedSales float64 `json:"predicted_sales"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		if r.StoreID == 1 {
			apiStore1[r.Date] = r.PredictedSales
		}
	}
	days := make([]topics.KnownInputs, 42)
	for i := range days {
		days[i] = topics.KnownInputs{Open: 1, StateHoliday: "0"}
		if (topics.DateFromYMD(2015, 6, 20) + topics.Date(i)).Weekday() == 7 {
			days[i].Open = 0
		}
	}
	req := topics.ForecastRequest{V: topics.ForecastRequestVersion, RequestID: "e2e-batch", Store: 1,
		Start: topics.DateFromYMD(2015, 6, 20), Days: days, At: time.Now().UTC()}
	val, err := topics.ForecastRequestCodec{}.Encode(&req)
	if err != nil {
		t.Fatal(err)
	}
	producer, err := sarama.NewSyncProducer(kcfg.Brokers, kcfg.IdempotentProducer(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: string(names.ForecastRequests), Key: sarama.StringEncoder("1"), Value: sarama.ByteEncoder(val)}); err != nil {
		t.Fatal(err)
	}
	_ = producer.Close()
	poll(t, "the forecast group's 42 forecasts in PostgreSQL", 3*time.Minute, func() (bool, string) {
		rows, err := conn.Query(ctx, `SELECT target_date::text, predicted_sales FROM forecast_results WHERE request_id = 'e2e-batch' AND source = 'processor'`)
		if err != nil {
			return false, err.Error()
		}
		got := map[string]float64{}
		for rows.Next() {
			var d string
			var v float64
			if err := rows.Scan(&d, &v); err != nil {
				rows.Close()
				return false, err.Error()
			}
			got[d] = v
		}
		rows.Close()
		if len(got) < 42 {
			return false, fmt.Sprint(len(got), " rows")
		}
		for d, v := range got {
			if apiV, ok := apiStore1[d]; !ok || math.Abs(apiV-v) > 1e-9 {
				t.Fatalf("store 1 on %s: the forecast group says %v, the API %v", d, v, apiV)
			}
		}
		return true, ""
	})

	// The README's examples answer as documented on the real stack.
	runReadmeExamples(t, fURL, tURL, token)

	// The dashboard on the same stack (web/e2e, Playwright), with a second
	// registered version of the trained run so that the Models page can
	// promote it and roll back (STORECAST_E2E_PROMOTE).
	ml := testkit.NewMLflow(t)
	second := ml.CopyVersion(model.GlobalModelName+"-"+suffix, trained.ModelVersion)
	t.Logf("registered version %s of the trained run for the promotion round trip", second)
	runDashboardE2E(t, "http://"+dashboardAddr, fURL, "STORECAST_E2E_PROMOTE=1", "STORECAST_E2E_TOKEN="+token)
}
