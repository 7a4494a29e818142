// Package publish holds Storecast's Kafka producers of events the serving
// side originates: ForecastLog (every forecast the API served, to
// forecast_results, off the response path) and TrainRequests (train
// requests to train_requests, acknowledged before the API answers 202).
//
// # Forecast log
//
// Every served forecast is appended to a bounded in-memory queue that Run
// produces to forecast_results: the Kafka round trip is never on the
// response path, and when the queue is full Append waits (bounded) and
// then fails with ErrQueueFull, which the API answers with 503, so no
// served forecast is dropped before it is queued.
//
// # Metrics
//
//	storecast_forecast_log_queue_depth            forecasts waiting for Kafka
//	storecast_forecast_log_enqueue_wait_seconds   waits for room in a full queue
//	storecast_forecast_log_blocked_total          appends that found the queue full
//	storecast_forecast_log_refused_total          forecasts refused on a full queue
//	storecast_forecast_log_produced_total         forecasts Kafka acknowledged
//	storecast_forecast_log_errors_total           forecasts Kafka refused after retries
//
// This package may import topics and internal/platform.
package publish
