package sink

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/testkit"
)

// accuracyRow is one forecast_results row for the accuracy tests.
type accuracyRow struct {
	id, version string
	store       int
	target      string // YYYY-MM-DD
	asOf        string
	horizon     int
	predicted   float64
	actual      *int
	created     time.Time
}

func intp(v int) *int { return &v }

// TestForecastAccuracyView fills forecast_results with forecasts of two
// model versions over three horizon weeks, with a repeated forecast, a
// closed day, a zero-sale day and forecasts whose sale is unknown, and
// checks the view and the metrics against RMSPE, MAPE and bias computed
// here over exactly the rows that should count.
func TestForecastAccuracyView(t *testing.T) {
	t.Parallel()
	dsn := testkit.Postgres(t)
	ctx := context.Background()
	if _, err := Migrate(ctx, dsn, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2015, 6, 20, 8, 0, 0, 0, time.UTC)
	rows := []accuracyRow{
		{"a1", "3", 1, "2015-06-20", "2015-06-19", 1, 5000, intp(4000), t0},
		{"a2", "3", 2, "2015-06-20", "2015-06-19", 1, 7000, intp(8000), t0},
		{"a3", "3", 1, "2015-06-22", "2015-06-19", 3, 4500, intp(5000), t0},
		// Asked again later: only the latest answer counts.
		{"a3b", "3", 1, "2015-06-22", "2015-06-19", 3, 4800, intp(5000), t0.Add(time.Hour)},
		{"a4", "3", 1, "2015-06-29", "2015-06-19", 10, 6000, intp(5500), t0},
		{"a5", "3", 2, "2015-07-05", "2015-06-19", 16, 9000, intp(10000), t0},
		// Closed (sales 0) and not yet known: never counted.
		{"a6", "3", 1, "2015-06-21", "2015-06-19", 2, 0, intp(0), t0},
		{"a7", "3", 1, "2015-07-20", "2015-06-19", 31, 5000, nil, t0},
		{"b1", "4", 1, "2015-06-20", "2015-06-19", 1, 4200, intp(4000), t0},
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, r := range rows {
		if _, err := conn.Exec(ctx, `INSERT INTO forecast_results (forecast_id, store, target_date, predicted_sales,
			model_name, model_version, as_of, horizon, source, created_at, actual_sales)
			VALUES ($1, $2, $3, $4, 'storecast-sales', $5, $6, $7, 'test', $8, $9)`,
			r.id, r.store, r.target, r.predicted, r.version, r.asOf, r.horizon, r.created, r.actual); err != nil {
			t.Fatal(err)
		}
	}

	// What must count, per (version, week): the pct errors (actual - predicted) / actual.
	counted := map[[2]string][]float64{}
	for _, id := range []string{"a1", "a2", "a3b", "a4", "a5", "b1"} {
		for _, r := range rows {
			if r.id == id {
				k := [2]string{r.version, fmt.Sprint((r.horizon-1)/7 + 1)}
				counted[k] = append(counted[k], (float64(*r.actual)-r.predicted)/float64(*r.actual))
			}
		}
	}
	type stats struct{ n, rmspe, mape, bias float64 }
	want := map[[2]string]stats{}
	for k, errs := range counted {
		var s stats
		for _, e := range errs {
			s.n++
			s.rmspe += e * e
			s.mape += math.Abs(e)
			s.bias -= e
		}
		want[k] = stats{s.n, math.Sqrt(s.rmspe / s.n), s.mape / s.n, s.bias / s.n}
	}

	// The view, aggregated over days as the metrics do.
	got, err := QueryAccuracy(ctx, conn, AccuracyWindowDays)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d (version, week) rows %+v, want %d", len(got), got, len(want))
	}
	const eps = 1e-12
	for _, a := range got {
		w, ok := want[[2]string{a.ModelVersion, fmt.Sprint(a.HorizonWeek)}]
		if !ok {
			t.Errorf("unexpected row %+v", a)
			continue
		}
		if float64(a.Forecasts) != w.n || math.Abs(a.RMSPE-w.rmspe) > eps || math.Abs(a.MAPE-w.mape) > eps || math.Abs(a.Bias-w.bias) > eps {
			t.Errorf("version %s week %d: got %+v, want %+v", a.ModelVersion, a.HorizonWeek, a, w)
		}
	}
	// One view row per day: model 3, week 1 has two days.
	if n := query[int64](t, dsn, `SELECT count(*) FROM forecast_accuracy WHERE model_version = '3' AND horizon_week = 1`); n != 2 {
		t.Errorf("model 3 week 1: %d day rows, want 2", n)
	}
	if r := query[float64](t, dsn, `SELECT rmspe FROM forecast_accuracy WHERE model_version = '3' AND target_date = '2015-06-22'`); math.Abs(r-0.04) > eps {
		t.Errorf("rmspe of 2015-06-22 = %v, want 0.04 (the latest of the repeated forecast)", r)
	}

	// The same numbers on /metrics.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(newAccuracyCollector(dsn, slog.New(slog.NewTextHandler(io.Discard, nil))))
	for k, w := range want {
		l := map[string]string{"model_version": k[0], "horizon_week": k[1]}
		if v := metricValue(t, reg, "storecast_forecast_accuracy_rmspe", l); math.Abs(v-w.rmspe) > eps {
			t.Errorf("rmspe%v = %v, want %v", l, v, w.rmspe)
		}
		if v := metricValue(t, reg, "storecast_forecast_accuracy_forecasts", l); v != w.n {
			t.Errorf("forecasts%v = %v, want %v", l, v, w.n)
		}
		if v := metricValue(t, reg, "storecast_forecast_accuracy_bias", l); math.Abs(v-w.bias) > eps {
			t.Errorf("bias%v = %v, want %v", l, v, w.bias)
		}
	}
	if v := metricValue(t, reg, "storecast_forecast_accuracy_errors_total", nil); v != 0 {
		t.Errorf("errors_total = %v, want 0", v)
	}
}

// TestAccuracyCollectorWithoutPostgres leaves the series out and counts an
// error when PostgreSQL does not answer.
func TestAccuracyCollectorWithoutPostgres(t *testing.T) {
	t.Parallel()
	c := newAccuracyCollector("postgres://nobody@127.0.0.1:1/none?connect_timeout=1", slog.New(slog.NewTextHandler(io.Discard, nil)))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "storecast_forecast_accuracy_errors_total" {
			t.Errorf("series %s without PostgreSQL", mf.GetName())
		} else if v := mf.GetMetric()[0].GetCounter().GetValue(); v != 1 {
			t.Errorf("errors_total = %v, want 1", v)
		}
	}
}
