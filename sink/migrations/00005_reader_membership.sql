-- The dashboard's history (storecast serve, package history) reads with the
-- stack's DSN and switches each session to the read-only role
-- storecast_reader (SET ROLE, STORECAST_PG_READ_ROLE); that needs the
-- migrating role to be a member. Skipped with a notice when the role is
-- missing or the migrating role may not grant it (then an operator does,
-- or gives storecast_reader a login of its own).

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'storecast_reader')
       AND NOT pg_has_role(current_user, 'storecast_reader', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT storecast_reader TO %I', current_user);
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'storecast_reader not granted to %: the migrating role may not grant it', current_user;
        END;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- Role memberships are cluster-wide; they are not revoked.
SELECT 1;
