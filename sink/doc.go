// Package sink materialises Kafka topics into PostgreSQL exactly once: sale
// events from names.Sales become rows of rossman_sales (one per store and
// day), forecast results from names.ForecastResults become rows of
// forecast_results, and a forecast's actual_sales is filled in as soon as
// both the forecast and that day's sale have arrived, in either order.
//
// # Exactly once
//
// The sink reads with its own consumer group (names.SinkGroup), used only to
// share partitions between instances. The truth about what has been consumed
// is the sink_offsets table: every batch is written in one transaction that
// also moves the batch's partitions' next offsets, and each update is
// conditional on the offset the writer last saw (a fence), so a stale
// instance that lost a partition in a rebalance cannot overwrite newer rows.
// On start and on every rebalance (sarama's ConsumerGroupHandler.Setup,
// which runs before any claim picks its start offset) the sink seeks each
// claimed partition to the offset stored in PostgreSQL, or to the oldest
// offset when none is stored. Offsets are also committed to Kafka, only so
// that lag tools see them.
//
// Records are batched by size (Config.BatchRows) and time
// (Config.BatchWait) in Config.Writers lanes, each with its own connection:
// partition p goes to lane p % Writers, so every partition stays in order
// and a store's sales and forecasts (copartitioned) share a lane. A batch's
// sales are written by COPY straight into rossman_sales under a savepoint
// when none of its keys exists yet (a first load, new days); otherwise, or
// when that COPY meets an existing key, by COPY into a session-local
// staging table and one INSERT ... ON CONFLICT DO UPDATE ... WHERE the row
// differs. Both give the same rows, and replaying a topic changes nothing.
// Within a batch the last record by offset wins for a duplicated key (store
// and date, or forecast id). Writers of one partition number hold a
// transaction-level advisory lock, so instances overlapping during a
// rebalance cannot miss each other's forecast or sale of the same day.
//
// # Faults
//
// PostgreSQL unreachable: the batch is retried with capped exponential
// backoff, no offset moves and Ready reports false. A poison record (one that
// does not decode or fails validation, or a row PostgreSQL rejects) goes to
// the dead-letter topic of its source with the reason (names.SalesDLQ for
// sales, names.ForecastDLQ for forecasts); its offset still advances in the
// batch's transaction. Dead letters are at-least-once: a crash between the
// dead-letter send and the commit sends them again on replay. When the
// context is cancelled (SIGTERM) the current batch is flushed before Run
// returns.
//
// # Metrics
//
// Every metric is registered on the injected prometheus.Registerer:
//
//	storecast_sink_rows_written_total{table}      rows inserted or changed
//	storecast_sink_records_total{topic}           records committed (valid and poison)
//	storecast_sink_batch_rows                     histogram of records per batch
//	storecast_sink_batch_duration_seconds         histogram of batch write latency
//	storecast_sink_lag_records{topic,partition}   high watermark minus committed offset
//	storecast_sink_retries_total                  failed write attempts that were retried
//	storecast_sink_dlq_total{topic}               records sent to a dead-letter topic
//	storecast_sink_pending_records                records consumed but not yet committed
//	storecast_sink_ready                          1 when Ready is true
//
// Live accuracy, read from the forecast_accuracy view at scrape time (at
// most every 30 s) over the last AccuracyWindowDays target days with known
// sales, by model_version and horizon_week:
//
//	storecast_forecast_accuracy_rmspe             root mean squared percentage error
//	storecast_forecast_accuracy_mape              mean absolute percentage error
//	storecast_forecast_accuracy_bias              mean (predicted - actual) / actual
//	storecast_forecast_accuracy_forecasts         forecasts with a known sale
//	storecast_forecast_accuracy_errors_total      failed reads of the view
//
// # Schema
//
// Migrate applies the versioned migrations embedded in the binary (goose,
// recorded in the table sink_schema_migrations). They create the tables, their
// indexes, the forecast_accuracy view (RMSPE, MAPE and bias of served
// forecasts by model version, horizon week and target day, over open days
// with sales > 0) and two NOLOGIN roles, storecast_sink (writes the tables) and
// storecast_reader (reads them), when the migrating role may create roles.
// Operators give the roles LOGIN and a password outside the repository.
// Nothing in this package ever drops a table.
package sink
