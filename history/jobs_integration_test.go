package history

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestForecastJobOnPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, admin := sinkDatabase(ctx, t)
	// Job j1: 3 of its 4 rows, from two stores and two model versions; a
	// row of another job and one outside any job.
	if _, err := admin.Exec(ctx, `
INSERT INTO forecast_results (forecast_id, store, target_date, predicted_sales, model_name, model_version,
    as_of, horizon, source, created_at, job_id, job_rows)
VALUES ('a', 1, '2015-06-20', 1, 'm', '3', '2015-06-19', 1, 'processor', now(), 'j1', 4),
       ('b', 1, '2015-06-21', 1, 'm', '3', '2015-06-19', 2, 'processor', now(), 'j1', 4),
       ('c', 2, '2015-06-20', 1, 'm', '2', '2015-06-19', 1, 'processor', now(), 'j1', 4),
       ('d', 2, '2015-06-20', 1, 'm', '3', '2015-06-19', 1, 'processor', now(), 'j2', 1),
       ('e', 3, '2015-06-20', 1, 'm', '3', '2015-06-19', 1, 'api-predict', now(), NULL, NULL)`); err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, Config{DSN: dsn, Role: "storecast_reader"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tests := []struct {
		id   string
		want JobProgress
	}{
		{"j1", JobProgress{Rows: 3, Expected: 4, Stores: 2, ModelVersions: []string{"2", "3"}}},
		{"j2", JobProgress{Rows: 1, Expected: 1, Stores: 1, ModelVersions: []string{"3"}}},
		{"unknown", JobProgress{ModelVersions: []string{}}},
	}
	for _, tt := range tests {
		got, err := r.ForecastJob(ctx, tt.id)
		if err != nil {
			t.Fatalf("ForecastJob(%s): %v", tt.id, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ForecastJob(%s) = %+v, want %+v", tt.id, got, tt.want)
		}
	}
}
