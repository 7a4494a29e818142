package history

import (
	"context"
	"fmt"
)

// JobProgress is what forecast_results holds of one forecast job
// (POST /v1/forecast-jobs).
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

const jobSQL = `
SELECT count(*), coalesce(max(job_rows), 0), count(DISTINCT store),
       coalesce(array_agg(DISTINCT model_version ORDER BY model_version), '{}')
FROM forecast_results WHERE job_id = $1`

// ForecastJob reports forecast job id's rows so far; an id without rows
// (not answered yet, or unknown) reports zeros.
func (r *Reader) ForecastJob(ctx context.Context, id string) (JobProgress, error) {
	var p JobProgress
	if err := r.pool.QueryRow(ctx, jobSQL, id).Scan(&p.Rows, &p.Expected, &p.Stores, &p.ModelVersions); err != nil {
		return JobProgress{}, fmt.Errorf("history: forecast job %s: %w", id, err)
	}
	return p, nil
}
