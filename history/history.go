// Package history is the dashboard's read model of what the sink wrote to
// PostgreSQL: a store's daily sales (rossman_sales) and the forecasts
// served for it (forecast_results). It only reads: every session runs with
// default_transaction_read_only, and as a read-only role (storecast_reader,
// created by the sink's migrations) when one is configured.
package history

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storecast/storecast/topics"
)

// Forecast is the latest forecast served for one target day.
type Forecast struct {
	Date           string  `json:"date"`
	PredictedSales float64 `json:"predicted_sales"`
	ModelName      string  `json:"model_name"`
	ModelVersion   string  `json:"model_version"`
	AsOf           string  `json:"as_of"`
	Horizon        int     `json:"horizon"`
	ActualSales    *int    `json:"actual_sales"`
}

// StoreSales is a store's history: its days as the sale events they came
// from.
type StoreSales struct {
	StoreID   int           `json:"store_id"`
	Days      []topics.Sale `json:"days"`
	Forecasts []Forecast    `json:"forecasts"`
}

// Range bounds a query by day, inclusive; a zero bound is open.
type Range struct {
	From, To time.Time
}

// Config configures a Reader.
type Config struct {
	// DSN is the PostgreSQL connection string.
	DSN string
	// Role, when set, is the role every session switches to (SET ROLE);
	// the DSN's user must be a member of it.
	Role string
	// MaxConns bounds the pool (default 4).
	MaxConns int32
}

// Reader reads the sink's tables. It is safe for concurrent use.
type Reader struct {
	pool *pgxpool.Pool
}

// Open returns a Reader; it connects lazily, so a PostgreSQL that is down
// now only fails the requests made while it is down.
func Open(ctx context.Context, cfg Config) (*Reader, error) {
	if cfg.DSN == "" {
		return nil, errors.New("history: a DSN is required")
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("history: parse DSN: %w", err)
	}
	pc.MaxConns = cfg.MaxConns
	if pc.MaxConns <= 0 {
		pc.MaxConns = 4
	}
	pc.MinConns = 0
	pc.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if cfg.Role != "" {
			if _, err := c.Exec(ctx, "SET ROLE "+pgx.Identifier{cfg.Role}.Sanitize()); err != nil {
				return fmt.Errorf("history: set role %s: %w", cfg.Role, err)
			}
		}
		if _, err := c.Exec(ctx, "SET default_transaction_read_only = on"); err != nil {
			return fmt.Errorf("history: read-only session: %w", err)
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("history: pool: %w", err)
	}
	return &Reader{pool: pool}, nil
}

// Close closes the pool.
func (r *Reader) Close() { r.pool.Close() }

// Ping checks that PostgreSQL answers (a readiness probe).
func (r *Reader) Ping(ctx context.Context) error {
	if err := r.pool.Ping(ctx); err != nil {
		return fmt.Errorf("history: ping: %w", err)
	}
	return nil
}

const (
	salesSQL = `SELECT date, day_of_week, sales, customers, open, promo, state_holiday, school_holiday
		FROM rossman_sales
		WHERE store = $1 AND ($2::date IS NULL OR date >= $2) AND ($3::date IS NULL OR date <= $3)
		ORDER BY date`
	forecastsSQL = `SELECT DISTINCT ON (target_date) target_date, predicted_sales, model_name, model_version, as_of, horizon, actual_sales
		FROM forecast_results
		WHERE store = $1 AND ($2::date IS NULL OR target_date >= $2) AND ($3::date IS NULL OR target_date <= $3)
		ORDER BY target_date, created_at DESC`
)

// StoreSales returns the store's daily sales and the latest forecast per
// target day within rg, both ordered by day.
func (r *Reader) StoreSales(ctx context.Context, store int, rg Range) (StoreSales, error) {
	out := StoreSales{StoreID: store, Days: []topics.Sale{}, Forecasts: []Forecast{}}
	from, to := bound(rg.From), bound(rg.To)
	rows, err := r.pool.Query(ctx, salesSQL, store, from, to)
	if err != nil {
		return out, fmt.Errorf("history: sales of store %d: %w", store, err)
	}
	for rows.Next() {
		d := topics.Sale{V: topics.SaleVersion, Store: store}
		var day time.Time
		var dow, open, promo, school int16
		if err := rows.Scan(&day, &dow, &d.Sales, &d.Customers, &open, &promo, &d.StateHoliday, &school); err != nil {
			rows.Close()
			return out, fmt.Errorf("history: sales of store %d: %w", store, err)
		}
		d.Date, d.DayOfWeek, d.Open, d.Promo, d.SchoolHoliday = topics.DateOf(day), int(dow), int(open), int(promo), int(school)
		out.Days = append(out.Days, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("history: sales of store %d: %w", store, err)
	}
	frows, err := r.pool.Query(ctx, forecastsSQL, store, from, to)
	if err != nil {
		return out, fmt.Errorf("history: forecasts of store %d: %w", store, err)
	}
	defer frows.Close()
	for frows.Next() {
		var f Forecast
		var day, asOf time.Time
		var actual *int32
		if err := frows.Scan(&day, &f.PredictedSales, &f.ModelName, &f.ModelVersion, &asOf, &f.Horizon, &actual); err != nil {
			return out, fmt.Errorf("history: forecasts of store %d: %w", store, err)
		}
		f.Date, f.AsOf = day.Format(time.DateOnly), asOf.Format(time.DateOnly)
		if actual != nil {
			a := int(*actual)
			f.ActualSales = &a
		}
		out.Forecasts = append(out.Forecasts, f)
	}
	if err := frows.Err(); err != nil {
		return out, fmt.Errorf("history: forecasts of store %d: %w", store, err)
	}
	return out, nil
}

func bound(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Accuracy is the live accuracy of one model version at one horizon week,
// over the target days with actual sales (the sink's forecast_accuracy view).
type Accuracy struct {
	ModelVersion string  `json:"model_version"`
	HorizonWeek  int     `json:"horizon_week"`
	Forecasts    int64   `json:"forecasts"`
	RMSPE        float64 `json:"rmspe"`
	MAPE         float64 `json:"mape"`
	Bias         float64 `json:"bias"`
	FirstDay     string  `json:"first_day"`
	LastDay      string  `json:"last_day"`
}

// accuracySQL aggregates the view's days exactly (RMSPE from the sums of
// squared percentage errors) over the last $1 days that have actuals.
const accuracySQL = `WITH recent AS (
		SELECT * FROM forecast_accuracy
		WHERE target_date > (SELECT max(target_date) FROM forecast_accuracy) - $1::int)
	SELECT model_version, horizon_week, sum(forecasts)::bigint,
		sqrt(sum(squared_pct_error_sum) / sum(forecasts)),
		sum(mape * forecasts) / sum(forecasts), sum(bias * forecasts) / sum(forecasts),
		min(target_date), max(target_date)
	FROM recent GROUP BY model_version, horizon_week ORDER BY model_version, horizon_week`

// RecentAccuracy returns the accuracy of served forecasts per model
// version and horizon week over the last days target days with actuals.
func (r *Reader) RecentAccuracy(ctx context.Context, days int) ([]Accuracy, error) {
	rows, err := r.pool.Query(ctx, accuracySQL, days)
	if err != nil {
		return nil, fmt.Errorf("history: accuracy: %w", err)
	}
	defer rows.Close()
	out := []Accuracy{}
	for rows.Next() {
		var a Accuracy
		var first, last time.Time
		if err := rows.Scan(&a.ModelVersion, &a.HorizonWeek, &a.Forecasts, &a.RMSPE, &a.MAPE, &a.Bias, &first, &last); err != nil {
			return nil, fmt.Errorf("history: accuracy: %w", err)
		}
		a.FirstDay, a.LastDay = first.Format(time.DateOnly), last.Format(time.DateOnly)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: accuracy: %w", err)
	}
	return out, nil
}
