// Package publish holds Storecast's Kafka producers of events the serving
// side originates: ForecastLog (every forecast the API served, to
// forecast_results, off the response path), TrainRequests (train
// requests to train_requests) and ForecastRequests (a forecast job's
// requests to forecast_requests), both acknowledged before the API answers
// 202.
//
// # Forecast log
//
// Every served forecast is held in memory until Kafka acknowledges it on
// forecast_results: Append adds it to the hold (the Kafka round trip is
// never on the response path) and Run produces it. When Kafka fails a
// forecast (a broker outage), Run hands nothing newer to the producer until
// everything in flight has come back, then produces the failed ones again,
// oldest first, after a backoff (100ms doubling to RetryMax), so forecasts
// reach the topic in the order they were served. The hold is bounded
// (Hold): when it is full Append waits (MaxWait) and then fails with
// ErrQueueFull, which the API answers with 503 forecast-log-full, so no
// served forecast is dropped silently; with BestEffort it drops them,
// counted. On shutdown Run keeps producing for FlushTimeout and counts
// and logs what is left. A batch in flight when a broker dies may be
// written twice; the sink's key (forecast_id) keeps PostgreSQL exact.
//
// # Metrics
//
//	storecast_forecast_log_queue_depth            forecasts held (queued, in flight, to retry)
//	storecast_forecast_log_enqueue_wait_seconds   waits for room in a full hold
//	storecast_forecast_log_blocked_total          appends that found the hold full
//	storecast_forecast_log_refused_total          forecasts refused (503) on a full hold
//	storecast_forecast_log_produced_total         forecasts Kafka acknowledged
//	storecast_forecast_log_errors_total           produce attempts Kafka failed
//	storecast_forecast_log_retried_total          forecasts produced again after a failure
//	storecast_forecast_log_dropped_total{reason}  best_effort, refused_by_kafka, shutdown
//
// This package may import topics and internal/platform.
package publish
