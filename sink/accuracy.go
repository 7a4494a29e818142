package sink

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/metrics"
)

// AccuracyWindowDays is how many target days, back from the latest one with
// a known sale, the accuracy metrics cover.
const AccuracyWindowDays = 28

// accuracyQuery aggregates the forecast_accuracy view (migration 00003)
// over the window, per model version and horizon week, exactly: RMSPE from
// the summed squared errors, MAPE and bias weighted by forecasts.
const accuracyQuery = `
WITH w AS (
    SELECT * FROM forecast_accuracy
    WHERE target_date > (SELECT max(target_date) FROM forecast_results WHERE actual_sales IS NOT NULL) - $1::int
)
SELECT model_version, horizon_week, sum(forecasts)::bigint,
       sqrt(sum(squared_pct_error_sum) / sum(forecasts)),
       sum(mape * forecasts) / sum(forecasts),
       sum(bias * forecasts) / sum(forecasts)
FROM w GROUP BY model_version, horizon_week ORDER BY 1, 2`

// Accuracy is one model version's live accuracy over one horizon week.
type Accuracy struct {
	ModelVersion string
	HorizonWeek  int
	Forecasts    int64
	RMSPE        float64
	MAPE         float64
	Bias         float64
}

// QueryAccuracy reads the live accuracy of the last windowDays target days
// from the forecast_accuracy view.
func QueryAccuracy(ctx context.Context, conn *pgx.Conn, windowDays int) ([]Accuracy, error) {
	rows, err := conn.Query(ctx, accuracyQuery, windowDays)
	if err != nil {
		return nil, fmt.Errorf("query accuracy: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Accuracy, error) {
		var a Accuracy
		err := r.Scan(&a.ModelVersion, &a.HorizonWeek, &a.Forecasts, &a.RMSPE, &a.MAPE, &a.Bias)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("read accuracy: %w", translate(err))
	}
	return out, nil
}

// accuracyCollector exports QueryAccuracy's rows at scrape time, read at
// most once per minInterval over a fresh connection (so a lost PostgreSQL
// only leaves the series out and counts an error).
//
// Metrics (labels model_version, horizon_week):
//
//	storecast_forecast_accuracy_rmspe      root mean squared percentage error
//	storecast_forecast_accuracy_mape       mean absolute percentage error
//	storecast_forecast_accuracy_bias       mean of (predicted - actual) / actual
//	storecast_forecast_accuracy_forecasts  forecasts with a known sale behind them
//	storecast_forecast_accuracy_errors_total  reads that failed
type accuracyCollector struct {
	dsn         string
	log         *slog.Logger
	minInterval time.Duration
	timeout     time.Duration

	rmspe, mape, bias, forecasts *prometheus.Desc
	errors                       prometheus.Counter

	mu     sync.Mutex
	last   time.Time
	cached []Accuracy
}

func newAccuracyCollector(dsn string, log *slog.Logger) *accuracyCollector {
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, "forecast_accuracy", n) }
	labels := []string{"model_version", "horizon_week"}
	window := fmt.Sprintf(" over the last %d target days with known sales (forecast_accuracy view).", AccuracyWindowDays)
	return &accuracyCollector{
		dsn: dsn, log: log, minInterval: 30 * time.Second, timeout: 10 * time.Second,
		rmspe:     prometheus.NewDesc(name("rmspe"), "Root mean squared percentage error of served forecasts"+window, labels, nil),
		mape:      prometheus.NewDesc(name("mape"), "Mean absolute percentage error of served forecasts"+window, labels, nil),
		bias:      prometheus.NewDesc(name("bias"), "Mean of (predicted - actual) / actual of served forecasts (positive: over-forecast)"+window, labels, nil),
		forecasts: prometheus.NewDesc(name("forecasts"), "Served forecasts whose actual sale is known"+window, labels, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: name("errors_total"),
			Help: "Reads of the forecast_accuracy view that failed (the accuracy series are left out)."}),
	}
}

var _ prometheus.Collector = (*accuracyCollector)(nil)

// Describe implements prometheus.Collector.
func (c *accuracyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.rmspe
	ch <- c.mape
	ch <- c.bias
	ch <- c.forecasts
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *accuracyCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cached == nil || time.Since(c.last) >= c.minInterval {
		acc, err := c.read()
		if err != nil {
			c.errors.Inc()
			c.log.Warn("forecast accuracy", "err", err)
			c.cached = nil
		} else {
			c.cached, c.last = acc, time.Now()
		}
	}
	for _, a := range c.cached {
		week := strconv.Itoa(a.HorizonWeek)
		for _, m := range []struct {
			d *prometheus.Desc
			v float64
		}{{c.rmspe, a.RMSPE}, {c.mape, a.MAPE}, {c.bias, a.Bias}, {c.forecasts, float64(a.Forecasts)}} {
			if !math.IsNaN(m.v) {
				ch <- prometheus.MustNewConstMetric(m.d, prometheus.GaugeValue, m.v, a.ModelVersion, week)
			}
		}
	}
	c.errors.Collect(ch)
}

func (c *accuracyCollector) read() ([]Accuracy, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	cfg, err := parseConnConfig(c.dsn)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("accuracy connect: %w", translate(err))
	}
	defer conn.Close(context.Background())
	acc, err := QueryAccuracy(ctx, conn, AccuracyWindowDays)
	if err != nil {
		return nil, err
	}
	if acc == nil {
		acc = []Accuracy{} // read fine, nothing to show: cache the emptiness
	}
	return acc, nil
}
