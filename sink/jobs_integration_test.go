package sink

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestForecastJobsProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Job j1: 3 of 4 rows from two stores and two model versions; a row of
	// another job and one outside any job.
	if _, err := conn.Exec(ctx, `
INSERT INTO forecast_results (forecast_id, store, target_date, predicted_sales, model_name, model_version,
    as_of, horizon, source, created_at, job_id, job_rows)
VALUES ('a', 1, '2015-06-20', 1, 'm', '3', '2015-06-19', 1, 'processor', now(), 'j1', 4),
       ('b', 1, '2015-06-21', 1, 'm', '3', '2015-06-19', 2, 'processor', now(), 'j1', 4),
       ('c', 2, '2015-06-20', 1, 'm', '2', '2015-06-19', 1, 'processor', now(), 'j1', 4),
       ('d', 2, '2015-06-20', 1, 'm', '3', '2015-06-19', 1, 'processor', now(), 'j2', 1),
       ('e', 3, '2015-06-20', 1, 'm', '3', '2015-06-19', 1, 'api-predict', now(), NULL, NULL)`); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	jobs := NewForecastJobs(pool)
	tests := []struct {
		id   string
		want JobProgress
	}{
		{"j1", JobProgress{Rows: 3, Expected: 4, Stores: 2, ModelVersions: []string{"2", "3"}}},
		{"j2", JobProgress{Rows: 1, Expected: 1, Stores: 1, ModelVersions: []string{"3"}}},
		{"unknown", JobProgress{ModelVersions: []string{}}},
	}
	for _, tt := range tests {
		got, err := jobs.Progress(ctx, tt.id)
		if err != nil {
			t.Fatalf("Progress(%s): %v", tt.id, err)
		}
		if got.Rows != tt.want.Rows || got.Expected != tt.want.Expected || got.Stores != tt.want.Stores ||
			!slices.Equal(got.ModelVersions, tt.want.ModelVersions) {
			t.Errorf("Progress(%s) = %+v, want %+v", tt.id, got, tt.want)
		}
	}
}
