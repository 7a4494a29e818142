package history

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/sink"
)

// sinkDatabase is a database of the test's own with the sink's tables,
// and a connection to it as a member of storecast_reader.
func sinkDatabase(ctx context.Context, t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	dsn := testkit.Postgres(t)
	if _, err := sink.Migrate(ctx, dsn, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close(context.Background()) })
	// The sink's migrations create storecast_reader (00002) and make the
	// migrating role a member (00005), so sessions may SET ROLE to it.
	var member bool
	if err := admin.QueryRow(ctx, "SELECT pg_has_role(current_user, 'storecast_reader', 'MEMBER')").Scan(&member); err != nil || !member {
		t.Fatalf("the migrating role is not a member of storecast_reader (%v)", err)
	}
	return dsn, admin
}

// TestStoreSalesOnPostgres reads a store's sales and forecasts from the
// sink's tables in a database of its own, as the read-only role.
func TestStoreSalesOnPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, admin := sinkDatabase(ctx, t)
	_, err := admin.Exec(ctx, `INSERT INTO rossman_sales (store, day_of_week, date, sales, customers, open, promo, state_holiday, school_holiday) VALUES
		(1, 3, '2015-06-17', 5000, 500, 1, 1, '0', 0),
		(1, 4, '2015-06-18', 5200, 510, 1, 0, '0', 1),
		(1, 5, '2015-06-19', 0, 0, 0, 0, 'a', 0),
		(2, 5, '2015-06-19', 9000, 800, 1, 0, '0', 0)`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.Exec(ctx, `INSERT INTO forecast_results (forecast_id, store, target_date, predicted_sales, model_name, model_version, as_of, horizon, source, created_at, actual_sales) VALUES
		('a', 1, '2015-06-18', 5100, 'm', '1', '2015-06-10', 8, 'api-predict', '2015-06-10T10:00:00Z', 5200),
		('b', 1, '2015-06-18', 5150, 'm', '2', '2015-06-11', 7, 'api-predict', '2015-06-11T10:00:00Z', 5200),
		('c', 1, '2015-06-25', 6000, 'm', '2', '2015-06-19', 6, 'api-forecasts', '2015-06-19T10:00:00Z', NULL)`)
	if err != nil {
		t.Fatal(err)
	}

	r, err := Open(ctx, Config{DSN: dsn, Role: "storecast_reader"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name              string
		rg                Range
		days, forecasts   int
		firstDay, lastDay string
	}{
		{"everything", Range{}, 3, 2, "2015-06-17", "2015-06-19"},
		{"from a day", Range{From: day("2015-06-18")}, 2, 2, "2015-06-18", "2015-06-19"},
		{"to a day", Range{To: day("2015-06-17")}, 1, 0, "2015-06-17", "2015-06-17"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.StoreSales(ctx, 1, tc.rg)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Days) != tc.days || len(got.Forecasts) != tc.forecasts {
				t.Fatalf("%d days and %d forecasts, want %d and %d", len(got.Days), len(got.Forecasts), tc.days, tc.forecasts)
			}
			if got.Days[0].Date.String() != tc.firstDay || got.Days[len(got.Days)-1].Date.String() != tc.lastDay {
				t.Fatalf("days %s..%s, want %s..%s", got.Days[0].Date, got.Days[len(got.Days)-1].Date, tc.firstDay, tc.lastDay)
			}
		})
	}
	got, err := r.StoreSales(ctx, 1, Range{})
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Days[1]; d.Sales != 5200 || d.Customers != 510 || d.DayOfWeek != 4 || d.Store != 1 || d.Open != 1 || d.Promo != 0 || d.SchoolHoliday != 1 || d.StateHoliday != "0" {
		t.Fatalf("day 2015-06-18: %+v", d)
	}
	f := got.Forecasts[0]
	if f.Date != "2015-06-18" || f.ModelVersion != "2" || f.PredictedSales != 5150 || f.ActualSales == nil || *f.ActualSales != 5200 || f.AsOf != "2015-06-11" {
		t.Fatalf("the latest forecast of 2015-06-18: %+v", f)
	}
	if got.Forecasts[1].ActualSales != nil {
		t.Fatalf("a forecast without actual: %+v", got.Forecasts[1])
	}
	empty, err := r.StoreSales(ctx, 99, Range{})
	if err != nil || len(empty.Days) != 0 || empty.Days == nil {
		t.Fatalf("unknown store: %+v, %v (want empty lists)", empty, err)
	}

	// Accuracy from the forecasts with actuals: version 1 missed 5200 by
	// 100 (8 days ahead, week 2), version 2 by 50 (7 days ahead, week 1).
	acc, err := r.RecentAccuracy(ctx, 28)
	if err != nil {
		t.Fatal(err)
	}
	if len(acc) != 2 || acc[0].ModelVersion != "1" || acc[0].HorizonWeek != 2 || acc[1].ModelVersion != "2" || acc[1].HorizonWeek != 1 {
		t.Fatalf("accuracy rows %+v", acc)
	}
	if want := 50.0 / 5200; math.Abs(acc[1].RMSPE-want) > 1e-12 || acc[1].Forecasts != 1 || acc[1].LastDay != "2015-06-18" {
		t.Fatalf("version 2: %+v, want RMSPE %v", acc[1], want)
	}

	// The sessions cannot write.
	_, err = r.pool.Exec(ctx, "DELETE FROM rossman_sales")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || (pgErr.Code != "25006" && pgErr.Code != "42501") {
		t.Fatalf("DELETE as the reader: %v, want read-only (25006) or permission denied (42501)", err)
	}
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}
