package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// writeLockClass is the first key of the transaction-level advisory locks a
// sink write holds, one per partition number in the batch (the second key):
// writers of the same partition number, which carries the same stores on
// both topics, are serialised, so a forecast and the sale of its day
// written concurrently (by two instances, around a rebalance) still meet.
// Locks are taken in ascending order, so writers cannot deadlock.
const writeLockClass = 0x53746f72 // "Stor"

// attemptTimeout bounds one write attempt, so a connection that hangs
// without an error is abandoned and retried.
const attemptTimeout = time.Minute

// writeStats counts the rows a batch inserted or changed.
type writeStats struct {
	sales, forecasts, actuals int64
}

// Store reads offsets and writes batches over one dedicated connection,
// which it opens on first use and reopens after it breaks. It is not safe
// for concurrent use.
type Store struct {
	cfg      *pgx.ConnConfig
	consumer string
	conn     *pgx.Conn
	buf      []byte
	// upsertOnly counts the batches that skip the direct COPY (see
	// applyRows) after one hit an existing row.
	upsertOnly int
}

// upsertStreak is how many batches go straight to the upsert after a
// direct COPY met an existing row (a replay over existing rows).
const upsertStreak = 16

// parseConnConfig parses a PostgreSQL URL or key/value DSN.
func parseConnConfig(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse postgres dsn: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	return cfg, nil
}

// NewStore returns a store for dsn that keeps the offsets of consumer (the
// sink's consumer group name). It does not connect yet.
func NewStore(dsn, consumer string) (*Store, error) {
	cfg, err := parseConnConfig(dsn)
	if err != nil {
		return nil, err
	}
	return &Store{cfg: cfg, consumer: consumer}, nil
}

// Close closes the connection, if open.
func (s *Store) Close(ctx context.Context) error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close(ctx)
	s.conn = nil
	return err
}

const createStages = `
CREATE TEMP TABLE IF NOT EXISTS sink_sales_stage (
    store int4, day_of_week int2, date date, sales int4, customers int4,
    open int2, promo int2, state_holiday text, school_holiday int2
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS sink_forecast_stage (
    forecast_id text, store int4, target_date date, predicted_sales float8, model_name text,
    model_version text, as_of date, horizon int4, source text, request_id text, created_at timestamptz,
    job_id text, job_rows int4, predicted_sales_low float8, predicted_sales_high float8
) ON COMMIT DELETE ROWS;`

func (s *Store) connect(ctx context.Context) (*pgx.Conn, error) {
	if s.conn != nil && !s.conn.IsClosed() {
		return s.conn, nil
	}
	s.conn = nil
	conn, err := pgx.ConnectConfig(ctx, s.cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", translate(err))
	}
	if _, err := conn.Exec(ctx, createStages); err != nil {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("create staging tables: %w", translate(err))
	}
	s.conn = conn
	return conn, nil
}

// done drops a connection that an error left unusable.
func (s *Store) done() {
	if s.conn != nil && s.conn.IsClosed() {
		s.conn = nil
	}
}

// lost marks err as ErrUnavailable when it closed the connection (pgx
// reports a connection lost mid-statement as a plain "conn closed").
func (s *Store) lost(err *error) {
	if *err != nil && s.conn != nil && s.conn.IsClosed() && !errors.Is(*err, ErrUnavailable) &&
		!errors.Is(*err, context.Canceled) && !errors.Is(*err, context.DeadlineExceeded) {
		*err = fmt.Errorf("%w: %w", ErrUnavailable, *err)
	}
}

// Ping checks that PostgreSQL answers.
func (s *Store) Ping(ctx context.Context) error {
	conn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer s.done()
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", translate(err))
	}
	return nil
}

// LoadOffsets returns the stored next offset of every partition of the
// given topics that has one.
func (s *Store) LoadOffsets(ctx context.Context, topicNames []string) (_ map[topicPartition]int64, err error) {
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer s.done()
	defer s.lost(&err)
	rows, err := conn.Query(ctx, `SELECT topic, partition, next_offset FROM sink_offsets WHERE consumer = $1 AND topic = ANY($2)`, s.consumer, topicNames)
	if err != nil {
		return nil, fmt.Errorf("load offsets: %w", translate(err))
	}
	out := make(map[topicPartition]int64)
	var tp topicPartition
	var next int64
	_, err = pgx.ForEachRow(rows, []any{&tp.topic, &tp.partition, &next}, func() error {
		out[tp] = next
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load offsets: %w", translate(err))
	}
	return out, nil
}

// Write writes b in one transaction: its rows, and for each of its
// partitions the next offset, provided the stored offset still equals
// expected's (-1 or absent: no stored offset). Otherwise it writes nothing
// and returns ErrFenced.
func (s *Store) Write(ctx context.Context, b *batch, expected map[topicPartition]int64) (_ writeStats, err error) {
	var st writeStats
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	conn, err := s.connect(ctx)
	if err != nil {
		return st, err
	}
	defer s.done()
	defer s.lost(&err)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return st, fmt.Errorf("begin: %w", translate(err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	if err := s.moveOffsets(ctx, tx, b, expected); err != nil {
		return st, err
	}
	if st, err = s.applyRows(ctx, tx, b.sales, b.forecasts, true); err != nil {
		return st, err
	}
	if err := tx.Commit(ctx); err != nil {
		return writeStats{}, fmt.Errorf("commit: %w", translate(err))
	}
	return st, nil
}

func (s *Store) moveOffsets(ctx context.Context, tx pgx.Tx, b *batch, expected map[topicPartition]int64) error {
	var q pgx.Batch
	parts := make([]int32, 0, len(b.next))
	tps := make([]topicPartition, 0, len(b.next))
	for tp := range b.next {
		tps = append(tps, tp)
		if !slices.Contains(parts, tp.partition) {
			parts = append(parts, tp.partition)
		}
	}
	slices.Sort(parts)
	for _, p := range parts {
		q.Queue(`SELECT pg_advisory_xact_lock($1, $2)`, int32(writeLockClass), p)
	}
	for _, tp := range tps {
		next := b.next[tp]
		if exp, ok := expected[tp]; ok && exp >= 0 {
			q.Queue(`UPDATE sink_offsets SET next_offset = $4, updated_at = now()
				WHERE consumer = $1 AND topic = $2 AND partition = $3 AND next_offset = $5`,
				s.consumer, tp.topic, tp.partition, next, exp)
		} else {
			q.Queue(`INSERT INTO sink_offsets (consumer, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
				ON CONFLICT DO NOTHING`, s.consumer, tp.topic, tp.partition, next)
		}
	}
	res := tx.SendBatch(ctx, &q)
	defer res.Close()
	for range parts {
		if _, err := res.Exec(); err != nil {
			return fmt.Errorf("lock: %w", translate(err))
		}
	}
	for _, tp := range tps {
		tag, err := res.Exec()
		if err != nil {
			return fmt.Errorf("move offset of %s/%d: %w", tp.topic, tp.partition, translate(err))
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("move offset of %s/%d from %d: %w", tp.topic, tp.partition, expected[tp], ErrFenced)
		}
	}
	if err := res.Close(); err != nil {
		return fmt.Errorf("move offsets: %w", translate(err))
	}
	return nil
}

const upsertSales = `
INSERT INTO rossman_sales AS r (store, day_of_week, date, sales, customers, open, promo, state_holiday, school_holiday, ingested_at)
SELECT store, day_of_week, date, sales, customers, open, promo, state_holiday, school_holiday, now()
FROM sink_sales_stage
ON CONFLICT (store, date) DO UPDATE SET
    day_of_week = EXCLUDED.day_of_week, sales = EXCLUDED.sales, customers = EXCLUDED.customers,
    open = EXCLUDED.open, promo = EXCLUDED.promo, state_holiday = EXCLUDED.state_holiday,
    school_holiday = EXCLUDED.school_holiday, ingested_at = EXCLUDED.ingested_at
WHERE (r.day_of_week, r.sales, r.customers, r.open, r.promo, r.state_holiday, r.school_holiday)
    IS DISTINCT FROM (EXCLUDED.day_of_week, EXCLUDED.sales, EXCLUDED.customers, EXCLUDED.open,
                      EXCLUDED.promo, EXCLUDED.state_holiday, EXCLUDED.school_holiday)`

const fillActuals = `
UPDATE forecast_results f SET actual_sales = s.sales
FROM sink_sales_stage s
WHERE f.store = s.store AND f.target_date = s.date AND f.actual_sales IS DISTINCT FROM s.sales`

var forecastStageColumns = []string{"forecast_id", "store", "target_date", "predicted_sales", "model_name",
	"model_version", "as_of", "horizon", "source", "request_id", "created_at", "job_id", "job_rows",
	"predicted_sales_low", "predicted_sales_high"}

const upsertForecasts = `
INSERT INTO forecast_results AS f (forecast_id, store, target_date, predicted_sales, model_name, model_version,
    as_of, horizon, source, request_id, created_at, job_id, job_rows, predicted_sales_low, predicted_sales_high,
    actual_sales, ingested_at)
SELECT st.forecast_id, st.store, st.target_date, st.predicted_sales, st.model_name, st.model_version,
    st.as_of, st.horizon, st.source, NULLIF(st.request_id, ''), st.created_at, NULLIF(st.job_id, ''),
    NULLIF(st.job_rows, 0), st.predicted_sales_low, st.predicted_sales_high, s.sales, now()
FROM sink_forecast_stage st
LEFT JOIN rossman_sales s ON s.store = st.store AND s.date = st.target_date
ON CONFLICT (forecast_id) DO UPDATE SET
    store = EXCLUDED.store, target_date = EXCLUDED.target_date, predicted_sales = EXCLUDED.predicted_sales,
    model_name = EXCLUDED.model_name, model_version = EXCLUDED.model_version, as_of = EXCLUDED.as_of,
    horizon = EXCLUDED.horizon, source = EXCLUDED.source, request_id = EXCLUDED.request_id,
    created_at = EXCLUDED.created_at, job_id = EXCLUDED.job_id, job_rows = EXCLUDED.job_rows,
    predicted_sales_low = EXCLUDED.predicted_sales_low, predicted_sales_high = EXCLUDED.predicted_sales_high,
    actual_sales = EXCLUDED.actual_sales, ingested_at = EXCLUDED.ingested_at
WHERE (f.store, f.target_date, f.predicted_sales, f.model_name, f.model_version, f.as_of, f.horizon,
       f.source, f.request_id, f.created_at, f.job_id, f.job_rows, f.predicted_sales_low,
       f.predicted_sales_high, f.actual_sales)
    IS DISTINCT FROM (EXCLUDED.store, EXCLUDED.target_date, EXCLUDED.predicted_sales, EXCLUDED.model_name,
       EXCLUDED.model_version, EXCLUDED.as_of, EXCLUDED.horizon, EXCLUDED.source, EXCLUDED.request_id,
       EXCLUDED.created_at, EXCLUDED.job_id, EXCLUDED.job_rows, EXCLUDED.predicted_sales_low,
       EXCLUDED.predicted_sales_high, EXCLUDED.actual_sales)`

// applyRows writes rows in tx. Sales go first so forecasts of the same
// days find them.
//
// Sales take one of two paths with the same outcome. Direct: COPY straight
// into rossman_sales under a savepoint, which is the fastest way in when
// none of the keys exists yet (a first load, or new days); a unique
// violation rolls back to the savepoint and the batch takes the other path,
// as do the next upsertStreak batches. Upsert: COPY into the staging table
// and INSERT ... ON CONFLICT DO UPDATE ... WHERE the row differs. When fill
// is set and forecasts exist, forecasts of the batch's days get their
// actual_sales.
func (s *Store) applyRows(ctx context.Context, tx pgx.Tx, sales []saleRow, forecasts []forecastRow, fill bool) (writeStats, error) {
	var st writeStats
	if len(sales) > 0 {
		s.buf = encodeSalesCopy(s.buf[:0], sales)
		staged := false
		direct := s.upsertOnly == 0
		if !direct {
			s.upsertOnly--
		}
		if direct {
			ok, err := s.copyDirect(ctx, tx)
			if err != nil {
				return st, err
			}
			if ok {
				st.sales = int64(len(sales))
			} else {
				s.upsertOnly = upsertStreak
				direct = false
			}
		}
		if !direct {
			if err := s.stageSales(ctx, tx); err != nil {
				return st, err
			}
			staged = true
			tag, err := tx.Exec(ctx, upsertSales)
			if err != nil {
				return st, fmt.Errorf("upsert sales: %w", translate(err))
			}
			st.sales = tag.RowsAffected()
		}
		if fill {
			var haveForecasts bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM forecast_results)`).Scan(&haveForecasts); err != nil {
				return st, fmt.Errorf("any forecasts: %w", translate(err))
			}
			if haveForecasts {
				if !staged {
					if err := s.stageSales(ctx, tx); err != nil {
						return st, err
					}
				}
				tag, err := tx.Exec(ctx, fillActuals)
				if err != nil {
					return st, fmt.Errorf("fill actual sales: %w", translate(err))
				}
				st.actuals = tag.RowsAffected()
			}
		}
	}
	if len(forecasts) > 0 {
		src := pgx.CopyFromSlice(len(forecasts), func(i int) ([]any, error) {
			f := &forecasts[i]
			return []any{f.ID, int32(f.Store), f.Date.Time(), f.PredictedSales, f.ModelName, f.ModelVersion,
				f.AsOf.Time(), int32(f.Horizon), f.Source, f.RequestID, f.CreatedAt, f.JobID, int32(f.JobRows),
				f.PredictedSalesLow, f.PredictedSalesHigh}, nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"sink_forecast_stage"}, forecastStageColumns, src); err != nil {
			return st, fmt.Errorf("copy forecasts: %w", translate(err))
		}
		tag, err := tx.Exec(ctx, upsertForecasts)
		if err != nil {
			return st, fmt.Errorf("upsert forecasts: %w", translate(err))
		}
		st.forecasts = tag.RowsAffected()
	}
	return st, nil
}

// copyDirect copies s.buf into rossman_sales under a savepoint. It reports
// false, with the savepoint rolled back, when a row already exists.
func (s *Store) copyDirect(ctx context.Context, tx pgx.Tx) (bool, error) {
	if _, err := tx.Exec(ctx, "SAVEPOINT sink_direct"); err != nil {
		return false, fmt.Errorf("savepoint: %w", translate(err))
	}
	_, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(s.buf), "COPY rossman_sales ("+salesStageColumns+") FROM STDIN BINARY")
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &pgErr) && pgErr.Code == "23505": // unique_violation
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT sink_direct"); err != nil {
			return false, fmt.Errorf("rollback to savepoint: %w", translate(err))
		}
		return false, nil
	default:
		return false, fmt.Errorf("copy sales: %w", translate(err))
	}
}

func (s *Store) stageSales(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(s.buf), "COPY sink_sales_stage ("+salesStageColumns+") FROM STDIN BINARY"); err != nil {
		return fmt.Errorf("stage sales: %w", translate(err))
	}
	return nil
}

// findPoison isolates the rows of b that PostgreSQL rejects (ErrInvalidData)
// by bisection over rolled-back trial transactions, and returns their
// indexes in b.sales and b.forecasts with the reasons. Any other error is
// returned as is.
func (s *Store) findPoison(ctx context.Context, b *batch) (badSales, badForecasts map[int]error, err error) {
	badSales, badForecasts = map[int]error{}, map[int]error{}
	trial := func(sales []saleRow, forecasts []forecastRow) (err error) {
		ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
		defer cancel()
		conn, err := s.connect(ctx)
		if err != nil {
			return err
		}
		defer s.done()
		defer s.lost(&err)
		tx, err := conn.Begin(ctx)
		if err != nil {
			return fmt.Errorf("begin: %w", translate(err))
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		_, err = s.applyRows(ctx, tx, sales, forecasts, false)
		return err
	}
	var bisect func(lo, hi int, forecasts bool) error
	bisect = func(lo, hi int, forecasts bool) error {
		var err error
		if forecasts {
			err = trial(nil, b.forecasts[lo:hi])
		} else {
			err = trial(b.sales[lo:hi], nil)
		}
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, ErrInvalidData):
			return err
		case hi-lo == 1 && forecasts:
			badForecasts[lo] = err
			return nil
		case hi-lo == 1:
			badSales[lo] = err
			return nil
		}
		mid := (lo + hi) / 2
		if err := bisect(lo, mid, forecasts); err != nil {
			return err
		}
		return bisect(mid, hi, forecasts)
	}
	if len(b.sales) > 0 {
		if err := bisect(0, len(b.sales), false); err != nil {
			return nil, nil, err
		}
	}
	if len(b.forecasts) > 0 {
		if err := bisect(0, len(b.forecasts), true); err != nil {
			return nil, nil, err
		}
	}
	return badSales, badForecasts, nil
}
