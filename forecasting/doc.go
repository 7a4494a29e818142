// Package forecasting is the one recipe from a store's state, its info, the
// known inputs of the target days and a model to forecast rows. The forecast
// API (api) and the forecast processor (processors/forecast) both use it, so
// a forecast is the same number whichever path computed it.
//
// # The recipe
//
// For every row (store, target day, known inputs) as of a day A:
//
//   - the target day must be 1..features.MaxHorizon days after A (CheckDate);
//   - the model is the store's own one, else the all-stores one (Models);
//     none is model.ErrNoModel;
//   - a closed day (open 0) forecasts 0;
//   - otherwise the features are the store's state summed as of A
//     (features.Stats, cached per state and as-of day) with the known
//     inputs of the target day (StateFeatures: the code that built the
//     training examples), the model predicts, and the prediction is clamped
//     at 0 and rounded to cents.
//
// Engine runs the recipe for the API: stores from a StoreReader (the views),
// the as-of day from the latest day of the store table, batches split
// across workers, and a bounded prediction cache keyed by model, store
// state, days and inputs. ForecastState runs it for one store whose state
// and info the caller already holds (the processor's table joins).
//
// RegistryModels serves the models of a model.Registry as Models.
//
// # Metrics
//
//	storecast_forecast_predictions_total{model_version}  forecasts computed
//	storecast_forecast_predicted_sales                   histogram of predicted values
//	storecast_forecast_prediction_cache_hits_total       forecasts answered from the cache
//
// ModelMetrics (labels model_name, model_version of the served all-stores
// model; read at scrape time):
//
//	storecast_model_info                                 1 for the served model
//	storecast_model_trained_through_timestamp_seconds    its last training day
//	storecast_model_loaded_timestamp_seconds             when this process loaded it
//	storecast_model_validation_rmspe                     its validation RMSPE
//	storecast_model_as_of_timestamp_seconds              the as-of day forecasts use (no labels)
//
// This package may import topics, features, model and the standard library.
package forecasting
