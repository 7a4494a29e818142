package sink

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// MigrationsTable is the table in which goose records applied migrations.
const MigrationsTable = "sink_schema_migrations"

// migrationLockID is the advisory lock that serialises concurrent migrators
// of one database (goose's default id is shared with other goose users).
const migrationLockID = 0x53746f7265 // "Store"

// Migrate applies the embedded migrations that dsn's database lacks and
// returns the schema version it ends at. Concurrent callers are serialised
// by an advisory lock. It needs a role that may create tables; with no
// pending migration it only reads MigrationsTable, so the storecast_sink
// role may call it too.
func Migrate(ctx context.Context, dsn string, log *slog.Logger) (int64, error) {
	db, err := openDB(dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	p, err := newProvider(db)
	if err != nil {
		return 0, err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: check pending: %w", translate(err))
	}
	if pending {
		results, err := p.Up(ctx)
		if err != nil {
			return 0, fmt.Errorf("migrate: up: %w", translate(err))
		}
		for _, r := range results {
			log.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
		}
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: version: %w", translate(err))
	}
	return v, nil
}

func openDB(dsn string) (*sql.DB, error) {
	cfg, err := parseConnConfig(dsn)
	if err != nil {
		return nil, err
	}
	return stdlib.OpenDB(*cfg), nil
}

func newProvider(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migrations lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithTableName(MigrationsTable),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		// Migrations are numbered by whoever adds one; a database that
		// already has a later one applies an earlier, newly merged one
		// instead of refusing to start (each migration stands alone).
		goose.WithAllowOutofOrder(true),
	)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}
