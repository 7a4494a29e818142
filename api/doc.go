// Package api serves Storecast's forecast and training APIs over HTTP
// (chi). api/openapi.yaml is the source of truth: the server interfaces,
// routing and models of the two listeners are generated from it
// (forecastgen: operations tagged forecast and ops; traingen: training and
// ops; `go generate ./api/...` with the oapi-codegen tool pinned in go.mod),
// and the contract test checks that every route is served and every
// response validates against it.
//
// api is HTTP only: handlers, problem responses, decoding, middleware. It
// computes nothing and talks to no broker itself: forecasts come from the
// forecasting core (forecasting.Engine), the store views from views, and
// the Kafka side through the interfaces it declares (ForecastLog,
// TrainEmitter, TrainResults), which publish and views implement.
//
// # Forecast API (127.0.0.1:4242)
//
// POST /predict (the original request shape), POST /v1/forecasts (many
// stores over a range of days), GET /model/info, and the store views under
// /v1/stores (api/stores). Every response names the model version that
// answered. A forecast is made as of the latest day of the store table
// with the facts of the days before it, for target days 1..48 days later
// (features.MaxHorizon); see the forecasting package for the recipe.
//
// Every served forecast is appended to the ForecastLog before the
// response is written; when its queue stays full (publish.ErrQueueFull)
// the request fails with 503, so no forecast is served unlogged.
//
// # Training API (127.0.0.1:4243)
//
// POST /train emits a topics.TrainRequest on train_requests and answers 202
// with its id; GET /train/{id}[?wait=30s] reports the latest
// topics.TrainResult from a tail of the compacted train_results topic.
// Mutating endpoints need `Authorization: Bearer <STORECAST_API_TOKEN>`;
// without a configured token they answer 503, never open.
//
// # Errors
//
// problemFor maps errors to RFC 9457 problems (application/problem+json)
// in one place with errors.Is/As: malformed JSON and invalid fields are 400
// naming the field, unknown stores and requests 404, no model or views
// still recovering 503, a client over the rate limit 429 (RateLimit:
// per client IP and listener, /health, /ready and /metrics never limited);
// anything else is a 500 whose detail never carries
// the error text or a stack trace (the log does).
//
// # Metrics
//
//	storecast_api_requests_total{server,route,method,status}            requests
//	storecast_api_request_duration_seconds{server,route,method,status}  latency histogram
//	storecast_api_train_requests_total{outcome}                         train requests emitted or failed
//	storecast_api_rate_limited_total{server}                            requests refused by the rate limit (429)
//
// The forecasts served (storecast_forecast_*), the forecast log
// (storecast_forecast_log_*) and the model feed (storecast_model_*) export
// their own series from their packages.
package api
