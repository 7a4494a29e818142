// Command sink measures the PostgreSQL sink: it produces the whole Kaggle
// train.csv into fresh topics (not timed), then times a sink started
// against an empty database from its start until every record is
// committed, and writes {rows, seconds, rows_per_s, ...} as JSON.
//
// It needs the local stack (`make services`): STORECAST_BROKERS and
// STORECAST_PG_ADMIN_DSN (a role that may create databases). `make
// bench-sink` runs it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/bench/benchkit"
	"github.com/storecast/storecast/ingest"
	"github.com/storecast/storecast/ingest/kaggle"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/sink"
	"github.com/storecast/storecast/topics"
)

// result is what the benchmark writes.
type result struct {
	Rows      int64   `json:"rows"`
	Seconds   float64 `json:"seconds"`
	RowsPerS  float64 `json:"rows_per_s"`
	Records   int64   `json:"records"`
	BatchRows int     `json:"batch_rows"`
	Writers   int     `json:"writers"`
	BatchWait string  `json:"batch_wait"`
	Target    float64 `json:"target_rows_per_s"`
	// RawCopyRowsPerS is a plain COPY of the same rows into an empty
	// rossman_sales measured right after, under the same machine load:
	// the ceiling the sink is compared with.
	RawCopyRowsPerS float64 `json:"raw_copy_rows_per_s"`
	CPUs            int     `json:"cpus"`
	GoVersion       string  `json:"go_version"`
	At              string  `json:"at"`
	Note            string  `json:"note"`
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log); err != nil {
		log.Error("bench-sink failed", "err", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	data := flag.String("data", defaultDataDir(), "folder with Kaggle's train.csv")
	out := flag.String("out", "bench/results/sink.json", "where to write the result")
	batchRows := flag.Int("batch-rows", sink.DefaultBatchRows, "sink batch size")
	writers := flag.Int("writers", sink.DefaultWriters, "sink writer connections")
	batchWait := flag.Duration("batch-wait", sink.DefaultBatchWait, "sink batch wait")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the timed part here")
	verbose := flag.Bool("v", false, "log every batch the sink commits")
	flag.Parse()
	sinkLog := log.With("component", "sink")
	if *verbose {
		sinkLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	kc := kafka.Config{Brokers: kafka.ParseBrokers(envOr("STORECAST_BROKERS", "127.0.0.1:9092")), ClientID: "storecast-bench-sink"}
	admin := os.Getenv("STORECAST_PG_ADMIN_DSN")
	if admin == "" {
		return errors.New("STORECAST_PG_ADMIN_DSN is not set (run `make services`, or source .state/env)")
	}
	suffix := fmt.Sprintf("bench-sink-%d", time.Now().Unix())
	names := topics.DefaultNames().WithSuffix(suffix)

	// Input (not timed).
	res, err := kaggle.ReadSalesFile(filepath.Join(*data, "train.csv"), kaggle.SalesOptions{})
	if err != nil {
		return err
	}
	distinct := map[[2]int]struct{}{}
	for _, s := range res.Sales {
		distinct[[2]int{s.Store, int(s.Date)}] = struct{}{}
	}
	// Deferred first: also removes the topics of a failed creation.
	defer cleanupTopics(kc, names, log)
	if err := createTopics(kc, names); err != nil {
		return err
	}
	if err := benchkit.WaitTopics(ctx, kc, names.Specs(), 10*time.Minute); err != nil {
		return err
	}
	t0 := time.Now()
	if err := produce(kc, string(names.Sales), res.Sales); err != nil {
		return err
	}
	log.Info("produced", "records", len(res.Sales), "took", time.Since(t0).Round(time.Millisecond))
	end, err := endOffsets(kc, string(names.Sales))
	if err != nil {
		return err
	}

	// An empty database with the schema (not timed).
	dsn, drop, err := createDatabase(ctx, admin, "bench_sink_"+strings.ReplaceAll(suffix, "-", "_"))
	if err != nil {
		return err
	}
	defer drop()
	if _, err := sink.Migrate(ctx, dsn, log); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())

	// The timed part: sink start to every record committed.
	cfg := sink.Config{Kafka: kc, Names: names, PGDSN: dsn, Writers: *writers, BatchRows: *batchRows, BatchWait: *batchWait}
	s, err := sink.New(cfg, sinkLog, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	sctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	start := time.Now()
	go func() { errc <- s.Run(sctx) }()
	var want int64
	for _, v := range end {
		want += v
	}
	for {
		var got int64
		err := conn.QueryRow(ctx, `SELECT coalesce(sum(next_offset), 0) FROM sink_offsets WHERE consumer = $1 AND topic = $2`,
			names.SinkGroup, string(names.Sales)).Scan(&got)
		if err != nil {
			cancel()
			return fmt.Errorf("poll offsets: %w", err)
		}
		if got >= want {
			break
		}
		select {
		case err := <-errc:
			cancel()
			return fmt.Errorf("sink stopped early: %w", err)
		case <-ctx.Done():
			cancel()
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	took := time.Since(start)
	cancel()
	if err := <-errc; err != nil {
		return err
	}

	var rows int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM rossman_sales`).Scan(&rows); err != nil {
		return fmt.Errorf("count: %w", err)
	}
	if rows != int64(len(distinct)) {
		return fmt.Errorf("rossman_sales has %d rows, want %d", rows, len(distinct))
	}
	rawRate, err := rawCopy(ctx, admin, "bench_sink_raw_"+strings.ReplaceAll(suffix, "-", "_"), res.Sales, log)
	if err != nil {
		return err
	}
	r := result{
		RawCopyRowsPerS: round(rawRate, 0),
		Rows:            rows, Seconds: round(took.Seconds(), 3), RowsPerS: round(float64(rows)/took.Seconds(), 0),
		Records: want, BatchRows: *batchRows, Writers: *writers, BatchWait: batchWait.String(), Target: 150_000,
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), At: time.Now().UTC().Format(time.RFC3339),
		Note: "sink start (Kafka connect, group join, offset load) to the last offset committed in PostgreSQL; in-process, one instance, empty database; topic produced beforehand",
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("bench-sink: %d rows in %.2f s = %.0f rows/s (target 150000; raw COPY now: %.0f rows/s) -> %s\n",
		r.Rows, r.Seconds, r.RowsPerS, r.RawCopyRowsPerS, *out)
	return nil
}

// rawCopy times one COPY of sales into an empty, migrated database.
func rawCopy(ctx context.Context, admin, name string, sales []topics.Sale, log *slog.Logger) (float64, error) {
	dsn, drop, err := createDatabase(ctx, admin, name)
	if err != nil {
		return 0, err
	}
	defer drop()
	if _, err := sink.Migrate(ctx, dsn, slog.New(slog.DiscardHandler)); err != nil {
		return 0, err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	rows := make([][]any, len(sales))
	for i := range sales {
		s := &sales[i]
		rows[i] = []any{int32(s.Store), int16(s.DayOfWeek), s.Date.Time(), int32(s.Sales), int32(s.Customers),
			int16(s.Open), int16(s.Promo), s.StateHoliday, int16(s.SchoolHoliday)}
	}
	cols := []string{"store", "day_of_week", "date", "sales", "customers", "open", "promo", "state_holiday", "school_holiday"}
	start := time.Now()
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"rossman_sales"}, cols, pgx.CopyFromRows(rows))
	if err != nil {
		return 0, fmt.Errorf("raw copy: %w", err)
	}
	took := time.Since(start)
	log.Info("raw copy", "rows", n, "took", took.Round(time.Millisecond))
	return float64(n) / took.Seconds(), nil
}

func round(v float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func defaultDataDir() string {
	if d := os.Getenv("STORECAST_DATA_DIR"); d != "" {
		return d
	}
	return "../shared/data/rossmann"
}

func produce(kc kafka.Config, topic string, sales []topics.Sale) error {
	ap, err := ingest.NewAsyncProducer(kc)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		var first error
		for range sales {
			select {
			case <-ap.Successes():
			case err := <-ap.Errors():
				if first == nil {
					first = err
				}
			}
		}
		done <- first
	}()
	for i := range sales {
		ap.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(topics.StoreKey(sales[i].Store)),
			Value: sarama.ByteEncoder(topics.AppendSale(nil, &sales[i]))}
	}
	err = <-done
	if cerr := ap.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	return nil
}

func endOffsets(kc kafka.Config, topic string) (map[int32]int64, error) {
	client, err := sarama.NewClient(kc.Brokers, kc.Sarama())
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		return nil, fmt.Errorf("partitions: %w", err)
	}
	out := map[int32]int64{}
	for _, p := range parts {
		if out[p], err = client.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
			return nil, fmt.Errorf("end offset: %w", err)
		}
	}
	return out, nil
}

func createDatabase(ctx context.Context, admin, name string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("connect admin: %w", err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	}
	u, err := url.Parse(admin)
	if err != nil {
		drop()
		return "", nil, fmt.Errorf("STORECAST_PG_ADMIN_DSN must be a URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

func createTopics(kc kafka.Config, names topics.Names) error {
	admin, err := sarama.NewClusterAdmin(kc.Brokers, kc.Sarama())
	if err != nil {
		return fmt.Errorf("cluster admin: %w", err)
	}
	defer admin.Close()
	var specs []kafka.TopicSpec
	for _, s := range names.Specs() {
		specs = append(specs, kafka.TopicSpec{Name: s.Name, Partitions: s.Partitions, Configs: s.Configs})
	}
	if _, err := kafka.EnsureTopics(admin, specs); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	return nil
}

func cleanupTopics(kc kafka.Config, names topics.Names, log *slog.Logger) {
	admin, err := sarama.NewClusterAdmin(kc.Brokers, kc.Sarama())
	if err != nil {
		log.Warn("delete bench topics", "err", err)
		return
	}
	defer admin.Close()
	for _, s := range names.Specs() {
		_ = admin.DeleteTopic(s.Name)
	}
	_ = admin.DeleteConsumerGroup(names.SinkGroup)
}
