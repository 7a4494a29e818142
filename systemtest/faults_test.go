package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/storecast/storecast/ingest/kaggle"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// The full-stack fault test's schedule and its documented recovery times
// (README "Restarts and outages"): from the broker answering again, serve's
// /ready is 200 within faultServeBack and the sink's /readyz within
// faultSinkBack; from PostgreSQL accepting connections again, the sink's
// /readyz is 200 within faultSinkBack. Generous for a loaded 2-core machine.
const (
	faultFirstDay   = "2015-06-01"
	faultLoadedDay  = "2015-06-09" // loaded before the services start
	faultLastDay    = "2015-06-19" // the days after faultLoadedDay stream during the faults
	faultDayEvery   = 4 * time.Second
	faultBrokerDown = 20 * time.Second
	faultServeBack  = 30 * time.Second
	faultSinkBack   = 60 * time.Second
	faultPredictMax = 6000
)

// TestFullStackFaults runs the whole pipeline as subprocesses on a private
// world (testkit.PrivateBroker, a private PostgreSQL cluster, storecast
// process, sink and serve) while a day of sales streams in every few
// seconds and /predict is served continuously, and injects, in turn:
//   - a broker SIGKILL, restarted after 20 s;
//   - a PostgreSQL crash restart (`pg_ctl restart -m immediate`).
//
// After each fault every component is ready again within the documented
// time without any action; at the end rossman_sales equals the input
// exactly (every column), every served forecast is in PostgreSQL's
// forecast_results exactly once with the value served (and on the topic at
// least once, see checkServedOnTopic), and training_examples
// has the same digest as a clean run of the same data (on the shared
// broker, which no fault touches).
// A day whose `storecast produce` fails while the broker is away is sent
// again, as a user would: resending changes no state.
func TestFullStackFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	began := time.Now()
	data := testkit.DataDir(t)
	b := testkit.PrivateBroker(t)
	pg := testkit.PrivatePostgres(t)
	bin := build(t)
	suffix := testkit.UniqueSuffix(t)
	names := topics.DefaultNames().WithSuffix(suffix)
	testkit.CreateTopics(t, b.Config, names)
	env := []string{"STORECAST_BROKERS=" + strings.Join(b.Config.Brokers, ","), "STORECAST_NAMES_SUFFIX=" + suffix}
	produceDays := func(env []string, first, last string) error {
		cmd := exec.Command(bin, "produce", "--train", filepath.Join(data, "train.csv"), "--store", filepath.Join(data, "store.csv"),
			"--start", first, "--end", last, "--metrics-addr", "", "--no-create-topics")
		cmd.Dir, cmd.Env = repoRoot(t), append(cmd.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("produce %s..%s: %w\n%s", first, last, err, tail(string(out), 2000))
		}
		return nil
	}

	// The clean run: the same days in one go on topics of its own on the
	// shared broker (never faulted), folded by a features processor that
	// sees no fault.
	shared := testkit.Kafka(t)
	clean := make(chan kafka.Digest, 1)
	cleanDone := make(chan struct{})
	t.Cleanup(func() { <-cleanDone })
	go func() {
		defer close(cleanDone)
		defer close(clean)
		d, err := cleanExamples(t, shared, bin, produceDays, suffix+"-clean")
		if err != nil {
			t.Error(err)
			return
		}
		clean <- d
	}()

	if err := produceDays(env, faultFirstDay, faultLoadedDay); err != nil {
		t.Fatal(err)
	}
	publishSmallModel(t, b.Config, names, suffix)

	state := t.TempDir()
	processMetrics, sinkMetrics, forecastAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	service(t, "process", env, bin, "process", "--only", "features", "--storage-dir", filepath.Join(state, "goka"), "--metrics-addr", processMetrics)
	service(t, "sink", env, bin, "sink", "run", "--pg-dsn", pg.DSN, "--metrics-addr", sinkMetrics)
	forecast := "http://" + forecastAddr
	service(t, "serve", env, bin, "serve", "--forecast-addr", forecastAddr, "--train-addr", freeAddr(t),
		"--kafka-grace", outageGrace.String(), "--dashboard-addr", "", "--log-flush-timeout", "3m")
	poll(t, "the store views to reach "+faultLoadedDay+" and /ready", 8*time.Minute, func() (bool, string) {
		code, body, err := call("GET", forecast+"/v1/stores/1115", "", "")
		if err != nil || code != 200 || !strings.Contains(string(body), `"latest_day":"`+faultLoadedDay+`"`) {
			return false, fmt.Sprint(code, string(body), err)
		}
		return readyCode(forecast) == 200, "serve not ready"
	})
	t.Logf("%s: the private world serves", time.Since(began).Round(time.Second))

	// Sales stream in, one day every faultDayEvery (the pace is the test's
	// subject: sales arrive during the faults, not a synchronisation).
	days := daysBetween(t, faultLoadedDay, faultLastDay)[1:]
	sent := make(chan string, len(days))
	streamDone := make(chan struct{})
	stopPredict := make(chan struct{})
	predictDone := make(chan struct{})
	quit := make(chan struct{})
	t.Cleanup(func() { close(quit); <-streamDone; <-predictDone }) // before the services stop
	resent := 0
	go func() {
		defer close(streamDone)
		defer close(sent)
		next := time.Now()
		for _, day := range days {
			select {
			case <-time.After(time.Until(next)):
			case <-quit:
				return
			}
			next = time.Now().Add(faultDayEvery)
			deadline := time.Now().Add(5 * time.Minute)
			for {
				err := produceDays(env, day, day)
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("day %s could not be produced for 5 minutes: %v", day, err)
					return
				}
				resent++
				select {
				case <-time.After(2 * time.Second): // a user retrying a failed load
				case <-quit:
					return
				}
			}
			sent <- day
		}
	}()
	// /predict is served all along: distinct (store, day) requests at up
	// to 50 a second.
	var (
		mu       sync.Mutex
		served   = map[string]float64{}
		failures = map[string]int{}
	)
	go func() {
		defer close(predictDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < faultPredictMax; i++ {
			select {
			case <-stopPredict:
				return
			case <-quit:
				return
			case <-tick.C:
			}
			store := i%outageStores + 1
			day := topics.DateFromYMD(2015, 6, 20) + topics.Date(i/outageStores)
			body := fmt.Sprintf(`{"store_id":%d,"date":"%s","promo":%d,"stateholiday":"0","schoolholiday":0}`, store, day, i%2)
			code, rb, err := call("POST", forecast+"/predict", "", body)
			mu.Lock()
			switch {
			case err != nil:
				failures[err.Error()]++
			case code != http.StatusOK:
				failures[fmt.Sprint(code, " ", strings.TrimSpace(string(rb)))]++
			default:
				var r struct {
					PredictedSales float64 `json:"predicted_sales"`
				}
				if err := json.Unmarshal(rb, &r); err != nil {
					failures["bad body: "+err.Error()]++
				} else {
					served[fmt.Sprintf("%d|%s", store, day)] = r.PredictedSales
				}
			}
			mu.Unlock()
		}
	}()
	waitDays := func(n int) {
		for range n {
			if _, ok := <-sent; !ok {
				t.Fatal("the sales stream ended early")
			}
		}
	}

	// Fault 1: the broker is SIGKILLed and comes back after 20 s.
	waitDays(2)
	before := folded(t, processMetrics)
	b.Kill()
	t.Logf("%s: broker SIGKILLed", time.Since(began).Round(time.Second))
	time.Sleep(faultBrokerDown) // the outage's length is the test's subject
	b.Restart()
	back := time.Now()
	t.Logf("%s: broker back", time.Since(began).Round(time.Second))
	took := waitReady(t, forecast, http.StatusOK, faultServeBack)
	t.Logf("serve /ready 200 %s after the broker answered (documented: within %s)", took.Round(100*time.Millisecond), faultServeBack)
	took = waitHTTPStatus(t, "http://"+sinkMetrics+"/readyz", http.StatusOK, faultSinkBack)
	t.Logf("sink /readyz 200 %s after the broker answered (documented: within %s)", took.Round(100*time.Millisecond), faultSinkBack)
	waitDays(1)
	poll(t, "storecast process to fold sales again after the broker's return", processBackWithin, func() (bool, string) {
		n := folded(t, processMetrics)
		return n > before, fmt.Sprintf("folded %v, %v before the outage", n, before)
	})
	t.Logf("storecast process folding again %s after the broker answered (documented: within %s)", time.Since(back).Round(100*time.Millisecond), processBackWithin)

	// Fault 2: PostgreSQL crashes and restarts under the sink.
	waitDays(1)
	took = pg.CrashRestart(t)
	t.Logf("%s: PostgreSQL crash-restarted in %s", time.Since(began).Round(time.Second), took.Round(100*time.Millisecond))
	took = waitHTTPStatus(t, "http://"+sinkMetrics+"/readyz", http.StatusOK, faultSinkBack)
	t.Logf("sink /readyz 200 %s after PostgreSQL accepted connections again (documented: within %s)", took.Round(100*time.Millisecond), faultSinkBack)

	for range sent { // the rest of the stream
	}
	<-streamDone
	close(stopPredict)
	<-predictDone
	t.Logf("%s: %d days streamed (%d produce runs resent), %d forecasts served", time.Since(began).Round(time.Second), len(days), resent, len(served))
	if len(failures) > 0 {
		t.Errorf("/predict failures during the faults: %v", failures)
	}

	// Everything lands: the sink and the features group catch up.
	poll(t, "the sink to commit every sale and forecast", 3*time.Minute, func() (bool, string) {
		return sinkCaughtUp(t, b.Config, pg.DSN, names.SinkGroup, string(names.Sales), string(names.ForecastResults))
	})
	poll(t, "the features group to commit every sale", 5*time.Minute, func() (bool, string) {
		return groupCaughtUp(t, b.Config, string(names.FeaturesGroup), string(names.Sales))
	})
	t.Logf("%s: caught up", time.Since(began).Round(time.Second))

	t.Run("rossman_sales equals the input", func(t *testing.T) {
		checkRossmanSales(t, pg.DSN, filepath.Join(data, "train.csv"), faultFirstDay, faultLastDay)
	})
	t.Run("every served forecast lands once", func(t *testing.T) {
		checkServedOnTopic(t, b.Config, string(names.ForecastResults), served)
		checkServedRows(t, pg.DSN, served)
	})
	t.Run("training_examples equals a clean run", func(t *testing.T) {
		want, ok := <-clean
		if !ok {
			t.Fatal("the clean run failed")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		got, err := kafka.TopicDigest(ctx, b.Config, string(names.TrainingExamples))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("training_examples: %d keys from %d records, clean run %d keys from %d records", got.Keys, got.Records, want.Keys, want.Records)
		if got.Keys == 0 || got.Keys != want.Keys || got.SHA256 != want.SHA256 {
			t.Errorf("training_examples digest %s (%d keys), clean run %s (%d keys)", got.SHA256, got.Keys, want.SHA256, want.Keys)
		}
	})
	t.Logf("%s: done", time.Since(began).Round(time.Second))
}

// cleanExamples loads faultFirstDay..faultLastDay in one go on the names
// with suffix, folds them with a features processor of their own until it
// has committed every sale, stops it, and returns the digest of
// training_examples.
func cleanExamples(t *testing.T, cfg kafka.Config, bin string, produceDays func([]string, string, string) error, suffix string) (kafka.Digest, error) {
	names := topics.DefaultNames().WithSuffix(suffix)
	testkit.CreateTopics(t, cfg, names)
	env := []string{"STORECAST_BROKERS=" + strings.Join(cfg.Brokers, ","), "STORECAST_NAMES_SUFFIX=" + suffix}
	// A busy shared broker may not know the new topics yet: produce again
	// (the same events: the state and examples do not change).
	for attempt := 1; ; attempt++ {
		err := produceDays(env, faultFirstDay, faultLastDay)
		if err == nil {
			break
		}
		if attempt == 5 {
			return kafka.Digest{}, err
		}
		t.Logf("the clean run's produce failed (attempt %d), producing again: %v", attempt, tail(err.Error(), 300))
		time.Sleep(3 * time.Second) // the shared broker catching up with new topics
	}
	storage := t.TempDir()
	p := service(t, "clean-process", env, bin, "process", "--only", "features", "--storage-dir", storage, "--metrics-addr", "")
	deadline := time.Now().Add(8 * time.Minute)
	for {
		ok, state := groupCaughtUp(t, cfg, string(names.FeaturesGroup), string(names.Sales))
		if ok {
			break
		}
		select {
		case <-p.done: // as a supervisor would: start it again after a pause (its log says why it exited)
			t.Logf("the clean run's process exited (%v); starting it again", p.err)
			time.Sleep(2 * time.Second) // the supervisor's pause, not a synchronisation
			p = service(t, "clean-process", env, bin, "process", "--only", "features", "--storage-dir", storage, "--metrics-addr", "")
		default:
		}
		if time.Now().After(deadline) {
			return kafka.Digest{}, fmt.Errorf("the clean run did not fold every sale within 8 minutes: %s", state)
		}
		time.Sleep(250 * time.Millisecond) // polling with a deadline
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := kafka.TopicDigest(ctx, cfg, string(names.TrainingExamples))
	testkit.DeleteTopics(t, cfg, names)
	return d, err
}

// daysBetween returns the days first..last (inclusive) as YYYY-MM-DD.
func daysBetween(t *testing.T, first, last string) []string {
	t.Helper()
	a, err1 := topics.ParseDate(first)
	b, err2 := topics.ParseDate(last)
	if err1 != nil || err2 != nil {
		t.Fatalf("days %s..%s: %v %v", first, last, err1, err2)
	}
	var out []string
	for d := a; d <= b; d++ {
		out = append(out, d.String())
	}
	return out
}

// folded is storecast_features_events_total on a process's /metrics (0
// when it does not answer).
func folded(t *testing.T, addr string) float64 {
	t.Helper()
	m, err := testkit.Scrape("http://" + addr + "/metrics")
	if err != nil {
		return 0
	}
	return m["storecast_features_events_total"]
}

// waitHTTPStatus polls url every 50 ms until it answers want, and returns
// how long that took; it fails the test after limit.
func waitHTTPStatus(t *testing.T, url string, want int, limit time.Duration) time.Duration {
	t.Helper()
	t0 := time.Now()
	for {
		if code, _, err := call("GET", url, "", ""); err == nil && code == want {
			return time.Since(t0)
		}
		if time.Since(t0) > limit {
			t.Fatalf("%s did not answer %d within %s", url, want, limit)
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
}

// endOffsets returns the high watermark of every partition of topic.
func endOffsets(cfg kafka.Config, topic string) (map[int32]int64, error) {
	client, err := sarama.NewClient(cfg.Brokers, cfg.Sarama())
	if err != nil {
		return nil, err
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	for _, p := range parts {
		if out[p], err = client.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// groupCaughtUp reports whether group has committed topic up to its end.
func groupCaughtUp(t *testing.T, cfg kafka.Config, group, topic string) (bool, string) {
	t.Helper()
	end, err := endOffsets(cfg, topic)
	if err != nil {
		return false, err.Error()
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, cfg.Sarama())
	if err != nil {
		return false, err.Error()
	}
	defer admin.Close()
	parts := make([]int32, 0, len(end))
	for p := range end {
		parts = append(parts, p)
	}
	res, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: parts})
	if err != nil {
		return false, err.Error()
	}
	for p, e := range end {
		blk := res.GetBlock(topic, p)
		if e > 0 && (blk == nil || blk.Offset < e) {
			return false, fmt.Sprintf("%s/%d committed %v of %d", topic, p, blk, e)
		}
	}
	return true, ""
}

// sinkCaughtUp reports whether the sink stored, in PostgreSQL, offsets at
// the end of every partition of the topics.
func sinkCaughtUp(t *testing.T, cfg kafka.Config, dsn, consumer string, topicNames ...string) (bool, string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return false, err.Error()
	}
	defer conn.Close(ctx)
	for _, topic := range topicNames {
		end, err := endOffsets(cfg, topic)
		if err != nil {
			return false, err.Error()
		}
		for p, e := range end {
			var next int64
			err := conn.QueryRow(ctx, `SELECT next_offset FROM sink_offsets WHERE consumer = $1 AND topic = $2 AND partition = $3`,
				consumer, topic, p).Scan(&next)
			if e > 0 && (err != nil || next < e) {
				return false, fmt.Sprintf("%s/%d stored %d of %d (%v)", topic, p, next, e, err)
			}
		}
	}
	return true, ""
}

// checkRossmanSales compares rossman_sales with the rows of train.csv
// between first and last: the same rows, every column.
func checkRossmanSales(t *testing.T, dsn, trainCSV, first, last string) {
	t.Helper()
	start, err1 := topics.ParseDate(first)
	end, err2 := topics.ParseDate(last)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	res, err := kaggle.ReadSalesFile(trainCSV, kaggle.SalesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var in []topics.Sale
	for _, s := range res.Sales {
		if s.Date >= start && s.Date <= end {
			in = append(in, s)
		}
	}
	testkit.CheckSales(t, dsn, testkit.LatestSales(in))
}

// checkServedOnTopic checks that every served forecast is on the
// forecast-results topic with the value served. The topic is at least
// once: a forecast whose acknowledgement the broker's SIGKILL lost is
// produced again (publish.ForecastLog holds and retries it), so it may be
// there twice, but only as the same record (same forecast id, same bytes);
// PostgreSQL keys rows by forecast id and holds it once (checkServedRows).
func checkServedOnTopic(t *testing.T, cfg kafka.Config, topic string, served map[string]float64) {
	t.Helper()
	byID := map[string][]byte{}
	var recs []testkit.Record
	poll(t, fmt.Sprintf("%d served forecasts on %s", len(served), topic), 2*time.Minute, func() (bool, string) {
		recs = testkit.ReadTopic(t, cfg, topic)
		clear(byID)
		for _, r := range recs {
			var f topics.ForecastResult
			if err := topics.DecodeForecastResult(r.Value, &f); err != nil {
				t.Fatalf("record %d/%d: %v", r.Partition, r.Offset, err)
			}
			byID[f.ID] = r.Value
		}
		return len(byID) >= len(served), fmt.Sprint(len(byID), " forecast ids")
	})
	seen := map[string]int{}
	bad := 0
	for _, r := range recs {
		var f topics.ForecastResult
		_ = topics.DecodeForecastResult(r.Value, &f)
		seen[f.ID]++
		if !bytes.Equal(byID[f.ID], r.Value) {
			t.Errorf("forecast %s is on the topic twice with different records:\n%s\n%s", f.ID, byID[f.ID], r.Value)
		}
		if v, ok := served[fmt.Sprintf("%d|%s", f.Store, f.Date)]; !ok || v != f.PredictedSales {
			if bad < 5 {
				t.Errorf("topic holds store %d on %s = %v; served %v (served: %v)", f.Store, f.Date, f.PredictedSales, v, ok)
			}
			bad++
		}
	}
	if len(seen) != len(served) {
		t.Errorf("%d distinct forecast ids on the topic, %d forecasts served", len(seen), len(served))
	}
	t.Logf("%d served forecasts: %d records on the topic (%d produced again after the broker's SIGKILL lost their acknowledgement)",
		len(served), len(recs), len(recs)-len(seen))
}

// checkServedRows checks that PostgreSQL holds every served forecast once,
// with the value served.
func checkServedRows(t *testing.T, dsn string, served map[string]float64) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT store, target_date, predicted_sales FROM forecast_results WHERE source = 'api-predict'`)
	var (
		store int
		d     time.Time
		v     float64
		bad   int
	)
	keys := map[string]int{}
	_, err = pgx.ForEachRow(rows, []any{&store, &d, &v}, func() error {
		k := fmt.Sprintf("%d|%s", store, topics.DateOf(d))
		keys[k]++
		if w, ok := served[k]; !ok || w != v {
			if bad < 5 {
				t.Errorf("forecast_results %s = %v, served %v (served: %v)", k, v, w, ok)
			}
			bad++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range keys {
		if n != 1 {
			t.Errorf("forecast_results holds the served forecast %s %d times", k, n)
		}
	}
	if len(keys) != len(served) {
		t.Errorf("forecast_results holds %d of the %d served forecasts", len(keys), len(served))
	}
}
