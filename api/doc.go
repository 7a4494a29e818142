// Package api serves Storecast's forecast and training APIs over HTTP
// (chi). api/openapi.yaml is the source of truth: the server interfaces,
// routing and models of the two listeners are generated from it
// (forecastgen: operations tagged forecast and ops; traingen: training and
// ops; `go generate ./api/...` with the oapi-codegen tool pinned in go.mod),
// and the contract test checks that every route is served and every
// response validates against it.
//
// # Forecast API (127.0.0.1:4242)
//
// POST /predict (the original request shape), POST /v1/forecasts (many
// stores over a range of days), GET /model/info, and the store views under
// /v1/stores (api/stores). The Engine computes forecasts in-process: store
// state and info from the views (StoreReader), feature vectors from the
// features package (the code that built the training examples), and the
// model from a model.Registry fed by the models topic (ModelFeed), which
// swaps a verified new model in atomically and keeps the previous one when
// a new one is refused. Every response names the model version that
// answered.
//
// A forecast is made as of the latest day of the store table with the facts
// of the days before it, for target days 1..48 days later (MaxHorizon).
// Predictions are cached by model, decoded store state, days and inputs, so
// a repeated forecast costs a map lookup until the state or the model
// changes.
//
// Every served forecast is appended to a bounded in-memory queue that a
// goroutine produces to forecast_results (KafkaForecastLog): the Kafka
// round trip is never on the response path, and when the queue is full a
// request waits (bounded) and then fails with 503, so no served forecast
// is dropped.
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
// still recovering 503; anything else is a 500 whose detail never carries
// the error text or a stack trace (the log does).
//
// # Metrics
//
//	storecast_api_requests_total{server,route,method,status}            requests
//	storecast_api_request_duration_seconds{server,route,method,status}  latency histogram
//	storecast_api_predictions_total{model_version}                      forecasts served
//	storecast_api_predicted_sales                                       histogram of predicted values
//	storecast_api_prediction_cache_hits_total                           forecasts answered from the cache
//	storecast_api_forecast_log_queue_depth                              forecasts waiting for Kafka
//	storecast_api_forecast_log_enqueue_wait_seconds                     waits for room in a full queue
//	storecast_api_forecast_log_blocked_total                            appends that found the queue full
//	storecast_api_forecast_log_refused_total                            forecasts refused (503) on a full queue
//	storecast_api_forecast_log_produced_total                           forecasts Kafka acknowledged
//	storecast_api_forecast_log_errors_total                             forecasts Kafka refused after retries
//	storecast_api_model_events_total{outcome}                           model events loaded, refused, ignored
//	storecast_api_train_requests_total{outcome}                         train requests emitted or failed
package api
