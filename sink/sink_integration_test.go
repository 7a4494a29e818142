package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storecast/storecast/internal/testkit"

	"github.com/storecast/storecast/topics"
)

// poisonSales are sale records the sink must dead-letter.
var poisonSales = []message{
	{key: []byte("1"), value: []byte(`{"v":1,"store":1,`)}, // truncated JSON
	{key: []byte("2"), value: []byte(`{"v":1,"store":2,"day_of_week":1,"date":"2015-06-19","sales":1,"customers":1,"open":1,"promo":0,"state_holiday":"0","school_holiday":0}`)}, // 2015-06-19 is a Friday
	{key: []byte("0"), value: []byte(`{"v":1,"store":0,"day_of_week":5,"date":"2015-06-19","sales":1,"customers":1,"open":1,"promo":0,"state_holiday":"z","school_holiday":0}`)},
}

// TestReplay replays a slice of train.csv with poison records in the
// middle, then replays it twice more: the same events appended to the
// topic, and the whole log again under a second consumer group. The sink
// runs as the least-privilege role storecast_sink.
func TestReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sales := trainSales(t)[:60_000]
	msgs := saleMessages(sales)
	produce(t, e.kafka, string(e.names.Sales), msgs[:30_000])
	produce(t, e.kafka, string(e.names.Sales), poisonSales)
	produce(t, e.kafka, string(e.names.Sales), msgs[30_000:])

	sinkDSN := asRole(t, e.dsn, "storecast_sink")
	r := start(t, e.config(sinkDSN))
	waitCaughtUp(t, e, e.dsn, e.names.SinkGroup, 2*time.Minute, string(e.names.Sales))
	want := testkit.LatestSales(sales)
	testkit.CheckSales(t, e.dsn, want)

	dls := deadLetters(t, e.kafka, string(e.names.SalesDLQ))
	if len(dls) != len(poisonSales) {
		t.Fatalf("%d dead letters, want %d", len(dls), len(poisonSales))
	}
	byPayload := map[string]topics.DeadLetter{}
	for _, dl := range dls {
		byPayload[dl.Payload] = dl
		if dl.Stage != "sink" || dl.Source != string(e.names.Sales) || dl.Reason == "" || dl.V != topics.DeadLetterVersion {
			t.Errorf("dead letter = %+v", dl)
		}
	}
	wantFields := [][]string{nil, {"day_of_week"}, {"store", "state_holiday"}}
	for i, p := range poisonSales {
		dl, ok := byPayload[string(p.value)]
		if !ok {
			t.Errorf("no dead letter for %s", p.value)
			continue
		}
		if fmt.Sprint(dl.Fields) != fmt.Sprint(wantFields[i]) || dl.Key != string(p.key) {
			t.Errorf("dead letter for %s: fields %q key %q, want %q %q", p.value, dl.Fields, dl.Key, wantFields[i], p.key)
		}
	}
	if got := metricValue(t, r.reg, "storecast_sink_dlq_total", nil); got != 3 {
		t.Errorf("dlq_total = %v, want 3", got)
	}
	if got := metricValue(t, r.reg, "storecast_sink_rows_written_total", map[string]string{"table": "rossman_sales"}); got != float64(len(want)) {
		t.Errorf("rows_written_total = %v, want %d", got, len(want))
	}
	for deadline := time.Now().Add(15 * time.Second); metricValue(t, r.reg, "storecast_sink_lag_records", nil) != 0; {
		if time.Now().After(deadline) {
			t.Errorf("lag = %v after catching up, want 0", metricValue(t, r.reg, "storecast_sink_lag_records", nil))
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	lastIngest := query[time.Time](t, e.dsn, `SELECT max(ingested_at) FROM rossman_sales`)

	// The same events again on the topic: nothing changes.
	produce(t, e.kafka, string(e.names.Sales), msgs)
	waitCaughtUp(t, e, e.dsn, e.names.SinkGroup, 2*time.Minute, string(e.names.Sales))
	testkit.CheckSales(t, e.dsn, want)
	if got := query[time.Time](t, e.dsn, `SELECT max(ingested_at) FROM rossman_sales`); !got.Equal(lastIngest) {
		t.Errorf("a replay touched rows: max(ingested_at) %v, was %v", got, lastIngest)
	}
	if got := metricValue(t, r.reg, "storecast_sink_rows_written_total", map[string]string{"table": "rossman_sales"}); got != float64(len(want)) {
		t.Errorf("rows_written_total after replay = %v, want still %d", got, len(want))
	}

	// The whole log again from offset 0 under another group.
	cfg2 := e.config(sinkDSN)
	cfg2.Names.SinkGroup += "-again"
	r2 := start(t, cfg2)
	waitCaughtUp(t, e, e.dsn, cfg2.Names.SinkGroup, 2*time.Minute, string(e.names.Sales))
	testkit.CheckSales(t, e.dsn, want)
	if got := query[time.Time](t, e.dsn, `SELECT max(ingested_at) FROM rossman_sales`); !got.Equal(lastIngest) {
		t.Errorf("a replay from offset 0 touched rows: max(ingested_at) %v, was %v", got, lastIngest)
	}
	if got := metricValue(t, r2.reg, "storecast_sink_rows_written_total", nil); got != 0 {
		t.Errorf("second group wrote %v rows, want 0", got)
	}
	if err := r.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if err := r2.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// TestActualSales checks that a forecast's actual_sales is filled in
// whichever of the forecast and the sale arrives first, and that poison
// forecasts go to the forecast dead-letter topic.
func TestActualSales(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := start(t, e.config(e.dsn))
	day := topics.DateFromYMD(2015, 6, 1) // a Monday
	sale := func(store, amount int, d topics.Date) topics.Sale {
		return topics.Sale{V: 1, Store: store, DayOfWeek: d.Weekday(), Date: d, Sales: amount, Customers: 10, Open: 1, StateHoliday: "0"}
	}
	forecast := func(id string, store int, d topics.Date) message {
		f := topics.ForecastResult{V: 1, ID: id, RequestID: "req", Store: store, Date: d, AsOf: d.AddDays(-2), Horizon: 2,
			PredictedSales: 1000.5, ModelName: "xgb", ModelVersion: "1", Source: "test", CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
		b, _ := json.Marshal(f)
		return message{key: []byte(topics.StoreKey(store)), value: b}
	}
	fcTopic, salesTopic := string(e.names.ForecastResults), string(e.names.Sales)

	// Forecast first, sale later (separate batches).
	produce(t, e.kafka, fcTopic, []message{forecast("f1", 1, day)})
	waitCaughtUp(t, e, e.dsn, e.names.SinkGroup, time.Minute, fcTopic)
	if got := query[*int](t, e.dsn, `SELECT actual_sales FROM forecast_results WHERE forecast_id = 'f1'`); got != nil {
		t.Errorf("actual_sales before the sale = %d, want NULL", *got)
	}
	produce(t, e.kafka, salesTopic, saleMessages([]topics.Sale{sale(1, 4321, day)}))
	waitCaughtUp(t, e, e.dsn, e.names.SinkGroup, time.Minute, salesTopic, fcTopic)

	// Sale first, forecast later.
	produce(t, e.kafka, salesTopic, saleMessages([]topics.Sale{sale(2, 777, day)}))
	waitCaughtUp(t, e, e.dsn, e.names.SinkGroup, time.Minute, salesTopic, fcTopic)
	// f3 belongs to a forecast job (job_id and job_rows columns) and has a
	// prediction interval (predicted_sales_low/high columns).
	f3 := forecast("f3", 3, day)
	var job topics.ForecastResult
	_ = json.Unmarshal(f3.value, &job)
	job.JobID, job.JobRows = "job-1", 42
	lo, hi := 900.5, 1300.25
	job.PredictedSalesLow, job.PredictedSalesHigh = &lo, &hi
	f3.value, _ = json.Marshal(job)
	produce(t, e.kafka, fcTopic, []message{forecast("f2", 2, day), f3, {key: []byte("4"), value: []byte(`{"v":1,"forecast_id":""}`)}})
	waitCaughtUp(t, e, e.dsn, e.names.SinkGroup, time.Minute, salesTopic, fcTopic)

	// A corrected sale updates the actual.
	produce(t, e.kafka, salesTopic, saleMessages([]topics.Sale{sale(1, 4400, day)}))
	waitCaughtUp(t, e, e.dsn, e.names.SinkGroup, time.Minute, salesTopic, fcTopic)

	for id, want := range map[string]*int{"f1": ptr(4400), "f2": ptr(777), "f3": nil} {
		got := query[*int](t, e.dsn, `SELECT actual_sales FROM forecast_results WHERE forecast_id = $1`, id)
		if (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Errorf("%s: actual_sales = %v, want %v", id, deref(got), deref(want))
		}
	}
	if n := query[int64](t, e.dsn, `SELECT count(*) FROM forecast_results`); n != 3 {
		t.Errorf("forecast_results has %d rows, want 3", n)
	}
	if got := query[string](t, e.dsn, `SELECT model_name || '/' || model_version || '/' || horizon || '/' || request_id FROM forecast_results WHERE forecast_id = 'f2'`); got != "xgb/1/2/req" {
		t.Errorf("f2 columns = %q", got)
	}
	if got := query[string](t, e.dsn, `SELECT coalesce(job_id, '-') || '/' || coalesce(job_rows, 0) FROM forecast_results WHERE forecast_id = 'f3'`); got != "job-1/42" {
		t.Errorf("f3 job columns = %q, want job-1/42", got)
	}
	if got := query[string](t, e.dsn, `SELECT predicted_sales_low || '..' || predicted_sales_high FROM forecast_results WHERE forecast_id = 'f3'`); got != "900.5..1300.25" {
		t.Errorf("f3 interval = %q, want 900.5..1300.25", got)
	}
	if got := query[int64](t, e.dsn, `SELECT count(*) FROM forecast_results WHERE predicted_sales_low IS NOT NULL OR predicted_sales_high IS NOT NULL`); got != 1 {
		t.Errorf("%d rows with an interval, want only f3", got)
	}
	if got := query[int64](t, e.dsn, `SELECT count(*) FROM forecast_results WHERE job_id IS NOT NULL OR job_rows IS NOT NULL`); got != 1 {
		t.Errorf("%d rows with a job, want only f3", got)
	}
	dls := deadLetters(t, e.kafka, string(e.names.ForecastDLQ))
	if len(dls) != 1 || dls[0].Source != fcTopic || !strings.Contains(dls[0].Reason, "forecast id") {
		t.Errorf("forecast dead letters = %+v, want the record without an id", dls)
	}
	if got := metricValue(t, r.reg, "storecast_sink_dlq_total", map[string]string{"topic": fcTopic}); got != 1 {
		t.Errorf("dlq_total{forecasts} = %v, want 1", got)
	}
}

func ptr(v int) *int { return &v }

func deref(p *int) any {
	if p == nil {
		return "NULL"
	}
	return *p
}

// TestKill9 kills the sink (a subprocess) with SIGKILL three times while
// it replays the whole train.csv followed by corrections of some rows; the
// table ends exactly as the events say.
func TestKill9(t *testing.T) {
	if sinkBinary == "" {
		t.Skip("needs STORECAST_INTEGRATION=1 (TestMain builds the binary then)")
	}
	began := time.Now()
	e := newEnv(t)
	sales := trainSales(t)
	t.Logf("%s: read train.csv", time.Since(began).Round(time.Millisecond))
	var corrections []topics.Sale
	for i := 0; i < len(sales); i += 97 {
		if s := sales[i]; s.Open == 1 {
			s.Sales += 3
			corrections = append(corrections, s)
		}
	}
	// storecast produce (not race-instrumented) is ~20 times faster here
	// than producing from this test binary.
	dir := testkit.DataDir(t)
	produceFile(t, e, filepath.Join(dir, "train.csv"), filepath.Join(dir, "store.csv"))
	produceFile(t, e, writeTrainCSV(t, corrections), filepath.Join(dir, "store.csv"))
	n := int64(len(sales) + len(corrections))
	t.Logf("%s: produced %d sales and %d corrections", time.Since(began).Round(time.Millisecond), len(sales), len(corrections))

	for kill := 1; kill <= 3; kill++ {
		p := startProcess(t, e, e.dsn, "--metrics-addr=")
		threshold := n * int64(kill) / 4
		deadline := time.Now().Add(3 * time.Minute)
		for total(storedOffsets(t, e.dsn, e.names.SinkGroup, string(e.names.Sales))) < threshold {
			if time.Now().After(deadline) {
				t.Fatalf("sink did not reach %d records", threshold)
			}
			if p.exited() {
				t.Fatalf("sink exited early: %s", p.output())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.done
		t.Logf("%s: kill %d at %d of %d records", time.Since(began).Round(time.Millisecond), kill, total(storedOffsets(t, e.dsn, e.names.SinkGroup, string(e.names.Sales))), n)
	}
	p := startProcess(t, e, e.dsn, "--metrics-addr=")
	waitCaughtUp(t, e, e.dsn, e.names.SinkGroup, 5*time.Minute, string(e.names.Sales))
	if code := p.terminate(t); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0\n%s", code, p.output())
	}
	t.Logf("%s: caught up", time.Since(began).Round(time.Millisecond))
	testkit.CheckSales(t, e.dsn, testkit.LatestSales(sales, corrections))
	t.Logf("%s: checked", time.Since(began).Round(time.Millisecond))
}

// TestFlushOnSIGTERM holds every record in one batch (huge size and wait),
// sends SIGTERM, and expects the batch written and exit code 0.
func TestFlushOnSIGTERM(t *testing.T) {
	if sinkBinary == "" {
		t.Skip("needs STORECAST_INTEGRATION=1 (TestMain builds the binary then)")
	}
	t.Parallel()
	e := newEnv(t)
	sales := trainSales(t)[:5000]
	produce(t, e.kafka, string(e.names.Sales), saleMessages(sales))
	addr := freeAddr(t)
	p := startProcess(t, e, e.dsn, "--metrics-addr="+addr, "--batch-rows=1000000", "--batch-wait=1h")
	deadline := time.Now().Add(time.Minute)
	for scrape(addr, "storecast_sink_pending_records") != "5000" {
		if time.Now().After(deadline) || p.exited() {
			t.Fatalf("sink did not consume the 5000 records into its batch\n%s", p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := query[int64](t, e.dsn, `SELECT count(*) FROM rossman_sales`); n != 0 {
		t.Fatalf("%d rows written before SIGTERM; the test needs them held in the batch", n)
	}
	if code := p.terminate(t); code != 0 {
		t.Fatalf("exit code = %d, want 0\n%s", code, p.output())
	}
	testkit.CheckSales(t, e.dsn, testkit.LatestSales(sales))
	if got, want := storedOffsets(t, e.dsn, e.names.SinkGroup, string(e.names.Sales)), endOffsets(t, e.kafka, string(e.names.Sales)); total(got) != total(want) {
		t.Errorf("stored offsets %v, want %v", got, want)
	}
}

// TestPostgresOutage cuts the sink off PostgreSQL for 20 s mid-replay with
// a TCP proxy between them (the shared cluster keeps running for others):
// readiness goes false, no offset moves, and after the outage the table is
// complete and exact.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, err := url.Parse(e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	px := newProxy(t, u.Host)
	u.Host = px.addr()
	all := trainSales(t)
	before, during := all[:100_000], all[100_000:200_000]
	produce(t, e.kafka, string(e.names.Sales), saleMessages(before))
	r := start(t, e.config(u.String()))
	ready := httptest.NewServer(r.Handler(r.reg))
	t.Cleanup(ready.Close)

	deadline := time.Now().Add(time.Minute)
	for total(storedOffsets(t, e.dsn, e.names.SinkGroup, string(e.names.Sales))) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("sink wrote nothing")
		}
		time.Sleep(20 * time.Millisecond)
	}

	cutAt := time.Now()
	px.cut()
	produce(t, e.kafka, string(e.names.Sales), saleMessages(during))
	for r.Ready() {
		if time.Since(cutAt) > 15*time.Second {
			t.Fatal("sink still ready 15 s into the outage")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := get(t, ready.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage = %d, want 503", code)
	}
	if code := get(t, ready.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz during the outage = %d, want 200", code)
	}
	frozen := storedOffsets(t, e.dsn, e.names.SinkGroup, string(e.names.Sales))
	time.Sleep(time.Until(cutAt.Add(20 * time.Second))) // the outage itself
	if got := storedOffsets(t, e.dsn, e.names.SinkGroup, string(e.names.Sales)); total(got) != total(frozen) {
		t.Errorf("offsets moved during the outage: %v, then %v", frozen, got)
	}
	if total(frozen) >= int64(len(before)+len(during)) {
		t.Errorf("the replay was complete before the outage (%d records): the test proves nothing", total(frozen))
	}
	if got := metricValue(t, r.reg, "storecast_sink_retries_total", nil); got < 2 {
		t.Errorf("retries_total = %v, want several", got)
	}
	if got := metricValue(t, r.reg, "storecast_sink_lag_records", nil); got < float64(len(during)) {
		t.Errorf("lag at the end of the outage = %v, want at least the %d records produced during it", got, len(during))
	}
	px.restore()

	waitCaughtUp(t, e, e.dsn, e.names.SinkGroup, 2*time.Minute, string(e.names.Sales))
	testkit.CheckSales(t, e.dsn, testkit.LatestSales(before, during))
	deadline = time.Now().Add(30 * time.Second)
	for !r.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("sink not ready after the outage")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := get(t, ready.URL+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after the outage = %d, want 200", code)
	}
}

// TestTwoInstances runs two sinks in one group over the same replay and
// stops one midway (a rebalance moves its partitions): the table is exact.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sales := trainSales(t)[200_000:300_000]
	produce(t, e.kafka, string(e.names.Sales), saleMessages(sales[:50_000]))
	cfg := e.config(e.dsn)
	cfg.BatchRows = 2000
	a := start(t, cfg)
	b := start(t, cfg)
	deadline := time.Now().Add(time.Minute)
	for total(storedOffsets(t, e.dsn, e.names.SinkGroup, string(e.names.Sales))) < 10_000 {
		if time.Now().After(deadline) {
			t.Fatal("no progress")
		}
		time.Sleep(20 * time.Millisecond)
	}
	produce(t, e.kafka, string(e.names.Sales), saleMessages(sales[50_000:]))
	if err := a.stop(); err != nil {
		t.Errorf("stop a: %v", err)
	}
	waitCaughtUp(t, e, e.dsn, e.names.SinkGroup, 2*time.Minute, string(e.names.Sales))
	testkit.CheckSales(t, e.dsn, testkit.LatestSales(sales))
	_ = b
}

// TestStoreFencing writes with a stale expected offset: nothing is
// written and the error is ErrFenced.
func TestStoreFencing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st, err := NewStore(e.dsn, "fence-test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	defer st.Close(ctx)
	tp := topicPartition{salesTopic, 0}
	b1 := newBatch(salesTopic, forecastTopic, 4)
	b1.add(saleMsg(0, 0, 1, 100, "2015-06-19"), 1)
	if _, err := st.Write(ctx, b1, map[topicPartition]int64{tp: -1}); err != nil {
		t.Fatalf("first write: %v", err)
	}
	b2 := newBatch(salesTopic, forecastTopic, 4)
	b2.add(saleMsg(0, 1, 1, 999, "2015-06-19"), 2)
	for _, exp := range []int64{-1, 0, 5} {
		_, err := st.Write(ctx, b2, map[topicPartition]int64{tp: exp})
		if !errors.Is(err, ErrFenced) {
			t.Errorf("write expecting %d: err = %v, want ErrFenced", exp, err)
		}
	}
	if got := query[int](t, e.dsn, `SELECT sales FROM rossman_sales WHERE store = 1`); got != 100 {
		t.Errorf("sales = %d after fenced writes, want 100", got)
	}
	if _, err := st.Write(ctx, b2, map[topicPartition]int64{tp: 1}); err != nil {
		t.Fatalf("write with the right offset: %v", err)
	}
	if got := query[int](t, e.dsn, `SELECT sales FROM rossman_sales WHERE store = 1`); got != 999 {
		t.Errorf("sales = %d, want 999", got)
	}
	off, err := st.LoadOffsets(ctx, []string{salesTopic})
	if err != nil || off[tp] != 2 {
		t.Errorf("offsets = %v, %v; want %s/0 at 2", off, err, salesTopic)
	}
}

// TestFindPoison isolates rows PostgreSQL rejects (a CHECK violation that
// validation would have caught) so the rest of the batch can be written.
func TestFindPoison(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st, err := NewStore(e.dsn, "poison-test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	defer st.Close(ctx)
	b := newBatch(salesTopic, forecastTopic, 64)
	for i := range 50 {
		b.add(saleMsg(0, int64(i), 1+i, 100, "2015-06-19"), 0)
	}
	b.sales[17].sales = -1 // bypasses validation
	b.sales[40].customers = -5
	_, err = st.Write(ctx, b, nil)
	if !errors.Is(err, ErrInvalidData) {
		t.Fatalf("write: err = %v, want ErrInvalidData", err)
	}
	badSales, badForecasts, err := st.findPoison(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(badSales) != 2 || badSales[17] == nil || badSales[40] == nil || len(badForecasts) != 0 {
		t.Fatalf("poison = %v, %v; want sales 17 and 40", badSales, badForecasts)
	}
	clean := b.without(badSales, badForecasts)
	if _, err := st.Write(ctx, clean, nil); err != nil {
		t.Fatalf("write without poison: %v", err)
	}
	if n := query[int64](t, e.dsn, `SELECT count(*) FROM rossman_sales`); n != 48 {
		t.Errorf("%d rows, want 48", n)
	}
	if len(clean.poison) != 2 || clean.poison[0].msg.Offset != 17 {
		t.Errorf("poison to dead-letter = %+v", clean.poison)
	}
}

// TestMigrations checks that migrations are idempotent, that
// storecast_sink may run Migrate once nothing is pending, and what each
// role may do.
func TestMigrations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	want := latestMigration(t)
	v, err := Migrate(ctx, e.dsn, log)
	if err != nil || v != want {
		t.Fatalf("second migrate = %d, %v; want version %d", v, err, want)
	}
	sinkDSN := asRole(t, e.dsn, "storecast_sink")
	readerDSN := asRole(t, e.dsn, "storecast_reader")
	if v, err := Migrate(ctx, sinkDSN, log); err != nil || v != want {
		t.Errorf("migrate as storecast_sink = %d, %v; want %d with nothing pending", v, err, want)
	}
	run := func(dsn, sql string) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	tests := []struct {
		dsn, who, sql string
		allowed       bool
	}{
		{sinkDSN, "sink", `INSERT INTO sink_offsets (consumer, topic, partition, next_offset) VALUES ('c', 't', 0, 1)`, true},
		{sinkDSN, "sink", `UPDATE rossman_sales SET sales = 1 WHERE false`, true},
		{sinkDSN, "sink", `CREATE TEMP TABLE x (a int)`, true},
		{sinkDSN, "sink", `DELETE FROM rossman_sales`, false},
		{sinkDSN, "sink", `DROP TABLE rossman_sales`, false},
		{sinkDSN, "sink", `TRUNCATE forecast_results`, false},
		{readerDSN, "reader", `SELECT count(*) FROM rossman_sales JOIN forecast_results USING (store)`, true},
		{readerDSN, "reader", `INSERT INTO sink_offsets (consumer, topic, partition, next_offset) VALUES ('c', 't', 1, 1)`, false},
		{readerDSN, "reader", `UPDATE forecast_results SET actual_sales = 1`, false},
		{readerDSN, "reader", `SELECT * FROM forecast_accuracy`, true},
		{sinkDSN, "sink", `SELECT * FROM forecast_accuracy`, true},
	}
	for _, tt := range tests {
		err := run(tt.dsn, tt.sql)
		if allowed := err == nil; allowed != tt.allowed {
			t.Errorf("%s: %s: err = %v, want allowed = %v", tt.who, tt.sql, err, tt.allowed)
		}
	}
}

// produceFile runs `storecast produce` for a Kaggle train.csv into e's topics.
func produceFile(t *testing.T, e *env, train, store string) {
	t.Helper()
	cmd := exec.Command(sinkBinary, "produce", "--train", train, "--store", store, "--metrics-addr=", "--no-create-topics")
	cmd.Env = append(os.Environ(), "STORECAST_BROKERS="+strings.Join(e.kafka.Brokers, ","), "STORECAST_NAMES_SUFFIX="+e.suffix)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("storecast produce: %v\n%s", err, out)
	}
}

// writeTrainCSV writes sales in Kaggle's train.csv format to a temporary file.
func writeTrainCSV(t *testing.T, sales []topics.Sale) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(`"Store","DayOfWeek","Date","Sales","Customers","Open","Promo","StateHoliday","SchoolHoliday"` + "\n")
	for _, s := range sales {
		fmt.Fprintf(&b, "%d,%d,%s,%d,%d,%d,%d,%q,%q\n", s.Store, s.DayOfWeek, s.Date, s.Sales, s.Customers, s.Open, s.Promo, s.StateHoliday, fmt.Sprint(s.SchoolHoliday))
	}
	path := filepath.Join(t.TempDir(), "train.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// process is a storecast sink subprocess.
type process struct {
	cmd  *exec.Cmd
	out  string
	done chan struct{}
}

func startProcess(t *testing.T, e *env, dsn string, args ...string) *process {
	t.Helper()
	out := filepath.Join(t.TempDir(), "sink.log")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sinkBinary, append([]string{"sink"}, args...)...)
	cmd.Env = append(os.Environ(),
		"STORECAST_BROKERS="+strings.Join(e.kafka.Brokers, ","),
		"STORECAST_PG_DSN="+dsn,
		"STORECAST_NAMES_SUFFIX="+e.suffix,
		"STORECAST_LOG_LEVEL=info",
	)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("sink output:\n%s", p.output())
		}
	})
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) output() string {
	b, _ := os.ReadFile(p.out)
	return string(b)
}

// terminate sends SIGTERM and returns the exit code.
func (p *process) terminate(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Fatal("sink did not exit within a minute of SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode()
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

// scrape returns the value of an unlabelled series on addr's /metrics, or "".
func scrape(addr, name string) string {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

func get(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// proxy forwards TCP connections to target until cut, which closes every
// open connection and refuses new ones until restore.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) serve(c net.Conn) {
	if !p.track(c) {
		c.Close()
		return
	}
	u, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(u) {
		c.Close()
		if u != nil {
			u.Close()
		}
		return
	}
	go func() { _, _ = io.Copy(u, c); u.Close() }()
	_, _ = io.Copy(c, u)
	c.Close()
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}
