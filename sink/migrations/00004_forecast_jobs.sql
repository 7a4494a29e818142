-- Forecast jobs (POST /v1/forecast-jobs): the job a forecast belongs to and
-- the job's total number of forecasts, both NULL outside a job. Adding
-- nullable columns rewrites nothing.

-- +goose Up
ALTER TABLE forecast_results ADD COLUMN IF NOT EXISTS job_id text;
ALTER TABLE forecast_results ADD COLUMN IF NOT EXISTS job_rows integer;
COMMENT ON COLUMN forecast_results.job_id IS 'Forecast job (POST /v1/forecast-jobs) of the row; NULL outside a job.';
COMMENT ON COLUMN forecast_results.job_rows IS 'Forecasts of the whole job (stores x days): the job is complete when that many rows carry its job_id.';
CREATE INDEX IF NOT EXISTS forecast_results_job_id_idx ON forecast_results (job_id) WHERE job_id IS NOT NULL;

-- +goose Down
-- Storecast never drops these columns.
SELECT 1;
