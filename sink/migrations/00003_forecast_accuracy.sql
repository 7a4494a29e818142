-- Live accuracy of served forecasts, from the actual sales the sink fills
-- into forecast_results. The sink's /metrics exports the same numbers over
-- the last 28 target days (storecast_forecast_accuracy_*).

-- +goose Up
CREATE INDEX IF NOT EXISTS forecast_results_known_target_date_idx
    ON forecast_results (target_date) WHERE actual_sales IS NOT NULL;

-- One row per model version, horizon week (days 1-7 are week 1, ..., 43-48
-- week 7) and target day, over open days with sales > 0 (percentage errors
-- need a non-zero actual; closed days sell 0). A forecast asked for several
-- times (same model version, store, target day and as-of day) counts once,
-- its latest answer. squared_pct_error_sum and forecasts let callers
-- aggregate days exactly: RMSPE = sqrt(sum(squared_pct_error_sum) / sum(forecasts)).
CREATE OR REPLACE VIEW forecast_accuracy AS
WITH latest AS (
    SELECT DISTINCT ON (model_version, store, target_date, as_of)
           model_version, target_date, horizon,
           (actual_sales - predicted_sales) / actual_sales AS pct_error
    FROM forecast_results
    WHERE actual_sales IS NOT NULL AND actual_sales > 0
    ORDER BY model_version, store, target_date, as_of, created_at DESC, forecast_id DESC
)
SELECT model_version,
       (horizon - 1) / 7 + 1                  AS horizon_week,
       target_date,
       count(*)                               AS forecasts,
       sum(pct_error * pct_error)             AS squared_pct_error_sum,
       sqrt(avg(pct_error * pct_error))       AS rmspe,
       avg(abs(pct_error))                    AS mape,
       -avg(pct_error)                        AS bias
FROM latest
GROUP BY model_version, horizon_week, target_date;

COMMENT ON VIEW forecast_accuracy IS 'Live accuracy of served forecasts by model version, horizon week and target day (open days with sales > 0; a repeated forecast counts once). bias is the mean of (predicted - actual) / actual: positive over-forecasts.';

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'storecast_sink') THEN
        GRANT SELECT ON forecast_accuracy TO storecast_sink;
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'storecast_reader') THEN
        GRANT SELECT ON forecast_accuracy TO storecast_reader;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP VIEW IF EXISTS forecast_accuracy;
DROP INDEX IF EXISTS forecast_results_known_target_date_idx;
