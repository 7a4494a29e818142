package systemtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// outageGrace is the serve's --kafka-grace in the outage tests; the
// documented rule is: /ready turns 503 at most the grace after Kafka's last
// answer, and 200 again within 3 s (the next 1-s probe with its 2-s
// deadline) after Kafka answers again.
const (
	outageGrace  = 5 * time.Second
	readySlack   = 2 * time.Second // polling and scheduling on a loaded 2-core machine
	backToReady  = 3 * time.Second
	outageStores = 1115
)

// outageStack is the whole serving path on a private broker: a slice of
// the shared data, the features processor, the sink into a database of
// its own, and serve with a small model.
type outageStack struct {
	broker   *testkit.Broker
	names    topics.Names
	dsn      string
	bin      string
	env      []string
	forecast string // base URL
	serve    *proc
}

func startOutageStack(t *testing.T) *outageStack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	data := testkit.DataDir(t)
	b := testkit.PrivateBroker(t)
	dsn := testkit.Postgres(t)
	suffix := testkit.UniqueSuffix(t)
	names := topics.DefaultNames().WithSuffix(suffix)
	testkit.CreateTopics(t, b.Config, names)
	s := &outageStack{broker: b, names: names, dsn: dsn, bin: build(t),
		env: []string{"STORECAST_BROKERS=" + strings.Join(b.Config.Brokers, ","), "STORECAST_NAMES_SUFFIX=" + suffix}}

	run(t, s.env, s.bin, "produce", "--train", filepath.Join(data, "train.csv"), "--store", filepath.Join(data, "store.csv"),
		"--start", "2015-06-01", "--end", "2015-06-19", "--metrics-addr", "", "--no-create-topics")
	publishSmallModel(t, b.Config, names, suffix)

	state := t.TempDir()
	service(t, "process", s.env, s.bin, "process", "--only", "features", "--storage-dir", filepath.Join(state, "goka"), "--metrics-addr", "")
	service(t, "sink", s.env, s.bin, "sink", "run", "--pg-dsn", dsn, "--metrics-addr", "")
	addr := freeAddr(t)
	s.forecast = "http://" + addr
	s.serve = service(t, "serve", s.env, s.bin, "serve", "--forecast-addr", addr, "--train-addr", freeAddr(t),
		"--kafka-grace", outageGrace.String(), "--dashboard-addr", "", "--log-flush-timeout", "3m")
	poll(t, "the store views to reach 2015-06-19 and /ready", 5*time.Minute, func() (bool, string) {
		code, b, err := call("GET", s.forecast+"/v1/stores/1115", "", "")
		if err != nil || code != 200 || !strings.Contains(string(b), `"latest_day":"2015-06-19"`) {
			return false, fmt.Sprint(code, string(b), err)
		}
		code, b, err = call("GET", s.forecast+"/ready", "", "")
		return err == nil && code == 200, fmt.Sprint(code, string(b), err)
	})
	return s
}

// publishSmallModel publishes testkit's small model (version 1) as the
// champion on names' models topic.
func publishSmallModel(t *testing.T, cfg kafka.Config, names topics.Names, suffix string) {
	t.Helper()
	ev := testkit.ModelEvent("1", 4000, 6000)
	ev.Name += "-" + suffix
	val, err := topics.ModelEventCodec{}.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Produce(t, cfg, string(names.Models), ev.Name, val)
}

// readyCode returns /ready's status (0 when the request fails).
func readyCode(url string) int {
	code, _, err := call("GET", url+"/ready", "", "")
	if err != nil {
		return 0
	}
	return code
}

// waitReady polls /ready every 50 ms until it answers want, and returns how
// long that took; it fails the test after limit.
func waitReady(t *testing.T, url string, want int, limit time.Duration) time.Duration {
	t.Helper()
	t0 := time.Now()
	for {
		if readyCode(url) == want {
			return time.Since(t0)
		}
		if time.Since(t0) > limit {
			t.Fatalf("/ready did not answer %d within %s", want, limit)
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
}

// predictOutage serves n distinct predictions (store × day × promo) and
// returns them by "store|date".
func predictOutage(t *testing.T, url string, n int) map[string]float64 {
	t.Helper()
	served := make(map[string]float64, n)
	for i := range n {
		store := i%outageStores + 1
		day := topics.DateFromYMD(2015, 6, 20) + topics.Date(i/outageStores)
		body := fmt.Sprintf(`{"store_id":%d,"date":"%s","promo":%d,"stateholiday":"0","schoolholiday":0}`, store, day, i%2)
		code, b, err := call("POST", url+"/predict", "", body)
		if err != nil || code != http.StatusOK {
			t.Fatalf("prediction %d during the outage: %d %s %v", i, code, b, err)
		}
		var r struct {
			PredictedSales float64 `json:"predicted_sales"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		served[fmt.Sprintf("%d|%s", store, day)] = r.PredictedSales
	}
	return served
}

// TestServingThroughBrokerOutage runs the serving path on a private broker
// and checks, in order on the same stack:
//   - idle: 2,000 probes of /ready over 60 s all answer 200;
//   - outage: with the broker killed (SIGKILL), /ready stays 200 through the
//     grace period, turns 503 within it, and is 200 again within the
//     documented time after the broker answers; /health stays 200;
//   - no forecast lost: with the broker killed, 1,000 predictions are
//     served; after the restart all 1,000 are on forecast_results once each
//     (by forecast id) and in PostgreSQL;
//   - SIGTERM: with the broker killed, 200 more are served, then serve gets
//     SIGTERM; it does not exit while it holds them, the broker comes back,
//     serve flushes them and exits 0; all 1,200 are in the topic and table.
func TestServingThroughBrokerOutage(t *testing.T) {
	s := startOutageStack(t)
	t.Run("idle", func(t *testing.T) { readinessHoldsIdle(t, s) })
	t.Run("outage", func(t *testing.T) { readinessFollowsOutage(t, s) })
	t.Run("no forecast lost", func(t *testing.T) { noForecastLost(t, s) })
	t.Run("sigterm flushes", func(t *testing.T) { sigtermFlushes(t, s) })
}

func noForecastLost(t *testing.T, s *outageStack) {
	s.broker.Kill()
	served := predictOutage(t, s.forecast, 1000)
	s.broker.Restart()
	s.assertLogged(t, 1000, served)
}

func sigtermFlushes(t *testing.T, s *outageStack) {
	s.broker.Kill()
	predictOutage(t, s.forecast, 200)
	if err := s.serve.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.serve.done:
		t.Fatalf("serve exited (%v) while it held 200 forecasts the broker had not taken", s.serve.err)
	case <-time.After(2 * time.Second):
	}
	s.broker.Restart()
	select {
	case <-s.serve.done:
		if s.serve.err != nil {
			t.Fatalf("serve exited with %v after SIGTERM", s.serve.err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("serve did not exit within 2 minutes of the broker's return")
	}
	s.assertLogged(t, 1200, nil)
}

// assertLogged waits until the forecast-results topic holds want
// api-predict records, then checks their ids are distinct and that
// PostgreSQL holds the same ids (and, for served, the same predictions).
func (s *outageStack) assertLogged(t *testing.T, want int, served map[string]float64) {
	t.Helper()
	var recs []testkit.Record
	poll(t, fmt.Sprintf("%d forecasts on %s", want, s.names.ForecastResults), 2*time.Minute, func() (bool, string) {
		recs = testkit.ReadTopic(t, s.broker.Config, string(s.names.ForecastResults))
		return len(recs) >= want, fmt.Sprint(len(recs), " records")
	})
	ids := map[string]int{}
	for _, r := range recs {
		var f topics.ForecastResult
		if err := json.Unmarshal(r.Value, &f); err != nil {
			t.Fatal(err)
		}
		ids[f.ID]++
		if v, ok := served[fmt.Sprintf("%d|%s", f.Store, f.Date)]; ok && v != f.PredictedSales {
			t.Errorf("store %d on %s: served %v, logged %v", f.Store, f.Date, v, f.PredictedSales)
		}
	}
	if len(recs) != want || len(ids) != want {
		t.Fatalf("%d records with %d distinct forecast ids on the topic, want %d once each", len(recs), len(ids), want)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	poll(t, fmt.Sprintf("%d forecasts in PostgreSQL", want), 2*time.Minute, func() (bool, string) {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM forecast_results WHERE source = 'api-predict'`).Scan(&n); err != nil {
			return false, err.Error()
		}
		return n == want, fmt.Sprint(n, " rows")
	})
	rows, err := conn.Query(ctx, `SELECT forecast_id FROM forecast_results WHERE source = 'api-predict'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if ids[id] != 1 {
			t.Errorf("PostgreSQL holds forecast %s, which the topic has %d times", id, ids[id])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

func readinessHoldsIdle(t *testing.T, s *outageStack) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const probes, over = 2000, 60 * time.Second
	tick := time.NewTicker(over / probes)
	defer tick.Stop()
	bad := map[string]int{}
	for range probes {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("2,000 probes took more than 2 minutes")
		}
		code, b, err := call("GET", s.forecast+"/ready", "", "")
		if err != nil || code != 200 {
			bad[fmt.Sprint(code, " ", strings.TrimSpace(string(b)), err)]++
		}
	}
	if len(bad) > 0 {
		t.Fatalf("non-200 answers of 2,000: %v", bad)
	}
}

func readinessFollowsOutage(t *testing.T, s *outageStack) {
	s.broker.Kill()
	if code := readyCode(s.forecast); code != 200 {
		t.Fatalf("/ready answered %d right after the kill; the grace period is %s", code, outageGrace)
	}
	took := waitReady(t, s.forecast, http.StatusServiceUnavailable, outageGrace+readySlack+time.Second)
	t.Logf("/ready turned 503 %s after the kill (grace %s)", took.Round(10*time.Millisecond), outageGrace)
	if took < outageGrace-2*time.Second {
		t.Errorf("/ready turned 503 after %s, before the grace period %s could pass", took, outageGrace)
	}
	if code, _, err := call("GET", s.forecast+"/health", "", ""); err != nil || code != 200 {
		t.Errorf("/health during the outage: %d %v, want 200 (liveness only)", code, err)
	}
	_, b, _ := call("GET", s.forecast+"/ready", "", "")
	if !strings.Contains(string(b), "kafka") {
		t.Errorf("/ready body does not name kafka: %s", b)
	}

	s.broker.Restart()
	took = waitReady(t, s.forecast, http.StatusOK, backToReady+readySlack)
	t.Logf("/ready was 200 again %s after the broker answered", took.Round(10*time.Millisecond))
}
