// Package model loads verified model artifacts into leaves and predicts
// with them, so one Go binary serves the trainer's XGBoost models without
// Python.
//
// # Artifacts
//
// The trainer exports each XGBoost booster to LightGBM's v3 text format
// (XGBoost's `x < t` written as `x <= t'`, t' the float32 just below t;
// NaN takes XGBoost's default direction; the base score folded into the
// first tree). Load checks an artifact's SHA-256, format, target
// transform and feature schema, then parses and checks the text itself
// (header fields, tree count, array lengths, tree shape, finite numbers)
// before leaves sees a byte; leaves is given a canonical rendering of
// what was checked, and a panic inside leaves becomes an error.
//
// # Prediction
//
// Predict rounds each feature to float32 first, as XGBoost does, so every
// split goes the way it went in training, and undoes the target transform
// (expm1 for log1p models). The golden tests in this package compare
// leaves with XGBoost's own predictions on trainer-generated files in
// testdata/golden (regenerate with `storecast-trainer golden`) and on a
// production-shaped model (real features, 500 trees, real Rossmann rows) in
// testdata/golden-production (`storecast-trainer golden --production
// CACHE_DIR`). ReadGolden and Golden.Check replay any golden set; the
// trainer runs them (`storecast golden DIR`) on every model it exports.
//
// A model is loaded as parts of PartTrees trees, each a leaves ensemble;
// a row's margin is the sum of the parts'. Forecasts and PredictMargins
// take a batch of rows through one part after the other, so a part's
// nodes stay in the CPU's caches for the batch: a served ensemble of
// thousands of deep trees is far larger than the caches, and a row walked
// through all of it alone finds few of its nodes there.
//
// # Serving
//
// Registry holds the current model per registered name and swaps it
// atomically when a valid new one is offered; a refused model leaves the
// previous one in service, is logged, counted (Stats) and reported to an
// Observer for metrics.
package model
