package sink

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// JobProgress is what forecast_results holds of one forecast job.
type JobProgress struct {
	// Rows is the number of rows with the job id.
	Rows int64
	// Expected is the job's total (job_rows); 0 while no row has arrived.
	Expected int64
	// Stores is the number of stores with at least one row.
	Stores int64
	// ModelVersions are the distinct model versions of the rows, sorted.
	ModelVersions []string
}

// ForecastJobs reads the progress of forecast jobs from forecast_results.
// It needs SELECT on forecast_results (storecast_reader has it).
type ForecastJobs struct {
	pool *pgxpool.Pool
}

// NewForecastJobs reads through pool.
func NewForecastJobs(pool *pgxpool.Pool) *ForecastJobs { return &ForecastJobs{pool: pool} }

const jobProgress = `
SELECT count(*), coalesce(max(job_rows), 0), count(DISTINCT store),
       coalesce(array_agg(DISTINCT model_version ORDER BY model_version), '{}')
FROM forecast_results WHERE job_id = $1`

// Progress reports job id's rows so far; an id without rows (not started,
// or unknown) reports zeros.
func (j *ForecastJobs) Progress(ctx context.Context, id string) (JobProgress, error) {
	var p JobProgress
	if err := j.pool.QueryRow(ctx, jobProgress, id).Scan(&p.Rows, &p.Expected, &p.Stores, &p.ModelVersions); err != nil {
		return JobProgress{}, fmt.Errorf("forecast job %s: %w", id, translate(err))
	}
	return p, nil
}
