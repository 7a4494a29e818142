package sink

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// TestTwoInstancesOneKilled runs two `storecast sink` processes in one
// group (they share the 8 partitions of both topics), kills one with
// SIGKILL while sales and forecasts still stream in, and wants the
// survivor to take its partitions over and leave rossman_sales and
// forecast_results exact: every row once, every column as the events say
// (actual_sales included), nothing lost with the killed instance's batch.
func TestTwoInstancesOneKilled(t *testing.T) {
	if sinkBinary == "" {
		t.Skip("needs STORECAST_INTEGRATION=1 (TestMain builds the binary then)")
	}
	t.Parallel()
	e := newEnv(t)
	sales := trainSales(t)[300_000:500_000]
	forecasts := forecastsFor(sales)
	salesTopic, fcTopic := string(e.names.Sales), string(e.names.ForecastResults)
	produce(t, e.kafka, salesTopic, saleMessages(sales[:60_000]))
	produce(t, e.kafka, fcTopic, forecastMessages(forecasts[:len(forecasts)/4]))

	survivorAddr, victimAddr := freeAddr(t), freeAddr(t)
	survivor := startProcess(t, e, e.dsn, "--metrics-addr="+survivorAddr, "--batch-rows=2000")
	victim := startProcess(t, e, e.dsn, "--metrics-addr="+victimAddr, "--batch-rows=2000")
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		produce(t, e.kafka, salesTopic, saleMessages(sales[60_000:]))
		produce(t, e.kafka, fcTopic, forecastMessages(forecasts[len(forecasts)/4:]))
	}()
	// Both commit records (the group split the partitions) and a third of
	// all is committed before one is killed.
	all := int64(len(sales) + len(forecasts))
	deadline := time.Now().Add(3 * time.Minute)
	for sumSeries(victimAddr, "storecast_sink_records_total") == 0 || sumSeries(survivorAddr, "storecast_sink_records_total") == 0 || committed(t, e) < all/3 {
		if time.Now().After(deadline) {
			t.Fatalf("the two sinks did not both commit records and a third of all (survivor %v, victim %v, %d of %d)",
				sumSeries(survivorAddr, "storecast_sink_records_total"), sumSeries(victimAddr, "storecast_sink_records_total"), committed(t, e), all)
		}
		if survivor.exited() || victim.exited() {
			t.Fatal("a sink exited early")
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	victimRecords := sumSeries(victimAddr, "storecast_sink_records_total")
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	killedAt := committed(t, e)
	t.Logf("SIGKILLed one sink after it committed %v records; %d of %d committed in all", victimRecords, killedAt, all)
	<-streamed
	if killedAt >= all {
		t.Fatal("every record was committed before the kill: the test proves nothing")
	}

	waitCaughtUp(t, e, e.dsn, e.names.SinkGroup, 5*time.Minute, salesTopic, fcTopic)
	if survivor.exited() {
		t.Fatalf("the survivor exited\n%s", survivor.output())
	}
	t.Logf("the survivor committed %v records in all", sumSeries(survivorAddr, "storecast_sink_records_total"))
	want := testkit.LatestSales(sales)
	testkit.CheckSales(t, e.dsn, want)
	checkForecasts(t, e.dsn, forecasts, want)
	if code := survivor.terminate(t); code != 0 {
		t.Errorf("survivor's exit code after SIGTERM = %d, want 0", code)
	}
}

// committed is how many records of both topics the sinks committed to
// PostgreSQL.
func committed(t *testing.T, e *env) int64 {
	t.Helper()
	return total(storedOffsets(t, e.dsn, e.names.SinkGroup, string(e.names.Sales))) +
		total(storedOffsets(t, e.dsn, e.names.SinkGroup, string(e.names.ForecastResults)))
}

// forecastsFor returns one forecast for every tenth sale's store and day
// (its actual_sales is then known) and one for a day after the data (none
// known), with distinct ids; every third has an interval.
func forecastsFor(sales []topics.Sale) []topics.ForecastResult {
	created := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var out []topics.ForecastResult
	for i := 0; i < len(sales); i += 10 {
		s := sales[i]
		for _, d := range []topics.Date{s.Date, topics.DateFromYMD(2015, 8, 1) + topics.Date(i%40)} {
			n := len(out)
			f := topics.ForecastResult{V: 1, ID: fmt.Sprintf("scale-%d", n), RequestID: "req-" + strconv.Itoa(n/7), Store: s.Store,
				Date: d, AsOf: d - 3, Horizon: 3, PredictedSales: float64(n%9000) + 0.25, ModelName: "storecast-sales",
				ModelVersion: strconv.Itoa(1 + n%3), Source: "api-predict", CreatedAt: created.Add(time.Duration(n) * time.Microsecond)}
			if n%3 == 0 {
				lo, hi := f.PredictedSales-100, f.PredictedSales+100
				f.PredictedSalesLow, f.PredictedSalesHigh = &lo, &hi
			}
			out = append(out, f)
		}
	}
	return out
}

func forecastMessages(fs []topics.ForecastResult) []message {
	out := make([]message, len(fs))
	for i := range fs {
		out[i] = message{key: []byte(topics.StoreKey(fs[i].Store)), value: topics.AppendForecastResult(nil, &fs[i])}
	}
	return out
}

// checkForecasts compares forecast_results with fs: one row per forecast
// id, every column as the event says, and actual_sales the final sale of
// the store and day (NULL when there is none).
func checkForecasts(t *testing.T, dsn string, fs []topics.ForecastResult, sales map[testkit.SaleKey]topics.Sale) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	want := make(map[string]*topics.ForecastResult, len(fs))
	for i := range fs {
		want[fs[i].ID] = &fs[i]
	}
	rows, _ := conn.Query(ctx, `SELECT forecast_id, store, target_date, predicted_sales, model_name, model_version, as_of, horizon,
		source, coalesce(request_id, ''), created_at, predicted_sales_low, predicted_sales_high, actual_sales FROM forecast_results`)
	var (
		got        topics.ForecastResult
		date, asOf time.Time
		lo, hi     *float64
		actual     *int
	)
	n, bad := 0, 0
	report := func(format string, args ...any) {
		if bad < 5 {
			t.Errorf(format, args...)
		}
		bad++
	}
	_, err = pgx.ForEachRow(rows, []any{&got.ID, &got.Store, &date, &got.PredictedSales, &got.ModelName, &got.ModelVersion, &asOf,
		&got.Horizon, &got.Source, &got.RequestID, &got.CreatedAt, &lo, &hi, &actual}, func() error {
		n++
		w, ok := want[got.ID]
		if !ok {
			report("forecast_results holds %s, which no event has", got.ID)
			return nil
		}
		got.Date, got.AsOf = topics.DateOf(date), topics.DateOf(asOf)
		if got.Store != w.Store || got.Date != w.Date || got.AsOf != w.AsOf || got.Horizon != w.Horizon || got.PredictedSales != w.PredictedSales ||
			got.ModelName != w.ModelName || got.ModelVersion != w.ModelVersion || got.Source != w.Source || got.RequestID != w.RequestID ||
			!got.CreatedAt.Equal(w.CreatedAt) || !sameFloat(lo, w.PredictedSalesLow) || !sameFloat(hi, w.PredictedSalesHigh) {
			report("row %s = %+v (low %v high %v), want %+v", got.ID, got, lo, hi, *w)
		}
		s, known := sales[testkit.SaleKey{Store: w.Store, Date: w.Date}]
		if (actual != nil) != known || actual != nil && *actual != s.Sales {
			report("row %s: actual_sales %v, want %v (sale known: %v)", got.ID, deref(actual), s.Sales, known)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(fs) {
		t.Errorf("forecast_results has %d rows, want %d (one per forecast id)", n, len(fs))
	}
	if bad > 0 {
		t.Errorf("%d forecast rows differ from the events", bad)
	}
}

func sameFloat(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) < 1e-9
}

// sumSeries sums every series of a metric on addr's /metrics (0 when it
// does not answer).
func sumSeries(addr, name string) float64 {
	m, _ := testkit.Scrape("http://" + addr + "/metrics")
	return m[name]
}
