-- Tables of the PostgreSQL sink. Never dropped by Storecast: the down
-- direction is intentionally empty.

-- +goose Up
CREATE TABLE IF NOT EXISTS rossman_sales (
    store          integer     NOT NULL,
    day_of_week    smallint    NOT NULL,
    date           date        NOT NULL,
    sales          integer     NOT NULL,
    customers      integer     NOT NULL,
    open           smallint    NOT NULL,
    promo          smallint    NOT NULL,
    state_holiday  text        NOT NULL,
    school_holiday smallint    NOT NULL,
    ingested_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store, date),
    CHECK (sales >= 0 AND customers >= 0)
);
COMMENT ON TABLE rossman_sales IS 'One row per store and day from sale_rossman_store (Kaggle train.csv columns); written only by storecast sink.';
COMMENT ON COLUMN rossman_sales.ingested_at IS 'When the sink last inserted or changed the row.';
CREATE INDEX IF NOT EXISTS rossman_sales_date_idx ON rossman_sales (date);

CREATE TABLE IF NOT EXISTS forecast_results (
    forecast_id     text             PRIMARY KEY,
    store           integer          NOT NULL,
    target_date     date             NOT NULL,
    predicted_sales double precision NOT NULL,
    model_name      text             NOT NULL,
    model_version   text             NOT NULL,
    as_of           date             NOT NULL,
    horizon         integer          NOT NULL,
    source          text             NOT NULL,
    request_id      text,
    created_at      timestamptz      NOT NULL,
    actual_sales    integer,
    ingested_at     timestamptz      NOT NULL DEFAULT now()
);
COMMENT ON TABLE forecast_results IS 'Every served forecast from forecast_results; actual_sales is filled in when the day''s sale is known.';
COMMENT ON COLUMN forecast_results.actual_sales IS 'Sales of (store, target_date) from rossman_sales, NULL until that sale arrives.';
CREATE INDEX IF NOT EXISTS forecast_results_store_target_date_idx ON forecast_results (store, target_date);
CREATE INDEX IF NOT EXISTS forecast_results_created_at_idx ON forecast_results (created_at);

CREATE TABLE IF NOT EXISTS sink_offsets (
    consumer    text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    next_offset bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);
COMMENT ON TABLE sink_offsets IS 'Next Kafka offset to consume per sink consumer group and partition, written in the same transaction as the rows.';

-- +goose Down
-- Storecast never drops these tables.
SELECT 1;
