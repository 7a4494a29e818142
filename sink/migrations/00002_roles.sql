-- Least-privilege roles. Roles are cluster-wide, so they are created only
-- when missing, tolerating a concurrent creator, and skipped with a notice
-- when the migrating role may not create roles (then a superuser creates
-- them; see the sink README). Both are NOLOGIN: operators grant LOGIN and a
-- password outside the repository, e.g.
--   ALTER ROLE storecast_sink LOGIN PASSWORD '...';

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['storecast_sink', 'storecast_reader'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION
                WHEN duplicate_object OR unique_violation THEN
                    NULL; -- created concurrently by another migration
                WHEN insufficient_privilege THEN
                    RAISE NOTICE 'role % not created: the migrating role may not create roles', r;
            END;
        END IF;
    END LOOP;

    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'storecast_sink') THEN
        EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO storecast_sink', current_database());
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO storecast_sink', current_schema());
        GRANT SELECT, INSERT, UPDATE ON rossman_sales, forecast_results, sink_offsets TO storecast_sink;
        GRANT SELECT ON sink_schema_migrations TO storecast_sink;
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'storecast_reader') THEN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO storecast_reader', current_database());
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO storecast_reader', current_schema());
        GRANT SELECT ON rossman_sales, forecast_results, sink_offsets TO storecast_reader;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- Roles are shared by every database of the cluster; they are not dropped.
SELECT 1;
