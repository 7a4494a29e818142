-- Prediction intervals of served forecasts (models with intervals carry
-- predicted_sales_low/high on forecast_results events), NULL for forecasts
-- of models without them. Adding nullable columns rewrites nothing.

-- +goose Up
ALTER TABLE forecast_results ADD COLUMN IF NOT EXISTS predicted_sales_low double precision;
ALTER TABLE forecast_results ADD COLUMN IF NOT EXISTS predicted_sales_high double precision;
COMMENT ON COLUMN forecast_results.predicted_sales_low IS 'Low end of the model''s prediction interval (the model''s level, 80% today); NULL when the model has no intervals.';
COMMENT ON COLUMN forecast_results.predicted_sales_high IS 'High end of the model''s prediction interval; NULL when the model has no intervals.';

-- +goose Down
-- Storecast never drops these columns.
SELECT 1;
