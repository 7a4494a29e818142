package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/ingest"
	"github.com/storecast/storecast/ingest/kaggle"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// sinkBinary is the storecast binary built by TestMain for subprocess tests
// (empty unless STORECAST_INTEGRATION=1).
var sinkBinary string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if testkit.Integration() {
			dir, err := os.MkdirTemp("", "storecast-sink-test-")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			sinkBinary = filepath.Join(dir, "storecast")
			cmd := exec.Command("go", "build", "-o", sinkBinary, "github.com/storecast/storecast/cmd/storecast")
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "build storecast:", err)
				return 1
			}
		}
		return m.Run()
	}())
}

// env is one test's Kafka topics and PostgreSQL database.
type env struct {
	kafka  kafka.Config
	suffix string
	names  topics.Names
	dsn    string
}

// newEnv gives the test its own topics (deleted afterwards) and database,
// with the sink's migrations applied.
func newEnv(t *testing.T) *env {
	t.Helper()
	kc := testkit.Kafka(t)
	dsn := testkit.Postgres(t)
	t.Cleanup(func() { dropDatabase(t, dsn) })
	return newEnvOn(t, kc, dsn)
}

// newEnvOn gives the test its own topics (deleted afterwards) on kc and
// applies the sink's migrations to dsn's database.
func newEnvOn(t *testing.T, kc kafka.Config, dsn string) *env {
	t.Helper()
	e := &env{kafka: kc, suffix: testkit.UniqueSuffix(t), dsn: dsn}
	e.names = topics.DefaultNames().WithSuffix(e.suffix)
	testkit.CreateTopics(t, kc, e.names)
	t.Cleanup(func() {
		testkit.DeleteTopics(t, kc, e.names)
		if admin, err := sarama.NewClusterAdmin(kc.Brokers, kc.Sarama()); err == nil {
			_ = admin.DeleteConsumerGroup(e.names.SinkGroup)
			_ = admin.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := Migrate(ctx, dsn, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return e
}

// dropDatabase drops dsn's database before testkit's cleanup does: its
// DROP DATABASE ... WITH (FORCE) fails while an autovacuum worker (which
// the admin role may not terminate) analyses the tables a big test loaded,
// whereas a plain DROP DATABASE stops autovacuum itself. Retried while
// other sessions are still closing.
func dropDatabase(t *testing.T, dsn string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		return
	}
	name := strings.TrimPrefix(u.Path, "/")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testkit.AdminDSN(t))
	if err != nil {
		t.Logf("drop database %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize())
		if err == nil || time.Now().After(deadline) {
			if err != nil {
				t.Logf("drop database %s: %v", name, err)
			}
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// asRole returns dsn connecting as the admin but acting as role (the
// admin is made a member), so the sink runs with role's privileges only.
func asRole(t *testing.T, dsn, role string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "GRANT "+role+" TO CURRENT_USER"); err != nil {
		t.Fatalf("grant %s: %v", role, err)
	}
	sep := "?"
	if slices.Contains([]byte(dsn), '?') {
		sep = "&"
	}
	return dsn + sep + "options=-c%20role%3D" + role
}

// config returns a sink config for e.
func (e *env) config(dsn string) Config {
	return Config{Kafka: e.kafka, Names: e.names, PGDSN: dsn, BatchRows: 5000, BatchWait: 50 * time.Millisecond,
		RetryMin: 50 * time.Millisecond, RetryMax: time.Second, FlushTimeout: 10 * time.Second}
}

// running is an in-process sink.
type running struct {
	*Sink
	reg  *prometheus.Registry
	stop func() error
}

// start runs a sink in-process until the test ends or stop is called.
func start(t *testing.T, cfg Config) *running {
	t.Helper()
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := New(cfg, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-errc:
			case <-time.After(time.Minute):
				runErr = fmt.Errorf("sink did not stop within a minute")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("sink run: %v", err)
		}
	})
	return &running{Sink: s, reg: reg, stop: stop}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

var (
	trainOnce sync.Once
	train     []topics.Sale
	trainErr  error
)

// trainSales returns the valid rows of the shared train.csv, in file order.
func trainSales(t *testing.T) []topics.Sale {
	t.Helper()
	dir := testkit.DataDir(t)
	trainOnce.Do(func() {
		var res *kaggle.SalesResult
		res, trainErr = kaggle.ReadSalesFile(filepath.Join(dir, "train.csv"), kaggle.SalesOptions{})
		if trainErr == nil {
			train = res.Sales
		}
	})
	if trainErr != nil {
		t.Fatal(trainErr)
	}
	return train
}

// message is one record to produce.
type message struct {
	key, value []byte
}

func saleMessages(sales []topics.Sale) []message {
	out := make([]message, len(sales))
	for i := range sales {
		out[i] = message{key: []byte(topics.StoreKey(sales[i].Store)), value: topics.AppendSale(nil, &sales[i])}
	}
	return out
}

// produce sends msgs to topic in order (per key) and waits until the
// broker has acknowledged all of them.
func produce(t *testing.T, kc kafka.Config, topic string, msgs []message) {
	t.Helper()
	ap, err := ingest.NewAsyncProducer(kc)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		var firstErr error
		for n := 0; n < len(msgs); n++ {
			select {
			case <-ap.Successes():
			case err := <-ap.Errors():
				if firstErr == nil {
					firstErr = err
				}
			}
		}
		done <- firstErr
	}()
	for _, m := range msgs {
		ap.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.ByteEncoder(m.key), Value: sarama.ByteEncoder(m.value)}
	}
	if err := <-done; err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
	if err := ap.Close(); err != nil {
		t.Fatalf("close producer: %v", err)
	}
}

// endOffsets returns the high watermark of every partition of topic.
func endOffsets(t *testing.T, kc kafka.Config, topic string) map[int32]int64 {
	t.Helper()
	client, err := sarama.NewClient(kc.Brokers, kc.Sarama())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, p := range parts {
		if out[p], err = client.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// storedOffsets reads the sink's offsets of topic from PostgreSQL.
func storedOffsets(t *testing.T, dsn, consumer, topic string) map[int32]int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT partition, next_offset FROM sink_offsets WHERE consumer = $1 AND topic = $2`, consumer, topic)
	out := map[int32]int64{}
	var p int32
	var next int64
	if _, err := pgx.ForEachRow(rows, []any{&p, &next}, func() error { out[p] = next; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func total(m map[int32]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

// waitCaughtUp polls until the sink's stored offsets of every topic equal
// the topics' end offsets.
func waitCaughtUp(t *testing.T, e *env, dsn, consumer string, within time.Duration, topicNames ...string) {
	t.Helper()
	want := map[string]map[int32]int64{}
	for _, topic := range topicNames {
		want[topic] = endOffsets(t, e.kafka, topic)
		for p, off := range want[topic] {
			if off == 0 {
				delete(want[topic], p)
			}
		}
	}
	deadline := time.Now().Add(within)
	for {
		done := true
		var got map[int32]int64
		for _, topic := range topicNames {
			got = storedOffsets(t, dsn, consumer, topic)
			if !maps.Equal(got, want[topic]) {
				done = false
				break
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink did not catch up within %s: stored %v, want %v", within, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// query returns one value.
func query[T any](t *testing.T, dsn, sql string, args ...any) T {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v T
	if err := conn.QueryRow(ctx, sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func deadLetters(t *testing.T, kc kafka.Config, topic string) []topics.DeadLetter {
	t.Helper()
	var out []topics.DeadLetter
	for _, m := range testkit.ReadTopic(t, kc, topic) {
		var dl topics.DeadLetter
		if err := json.Unmarshal(m.Value, &dl); err != nil {
			t.Fatalf("dead letter %q: %v", m.Value, err)
		}
		out = append(out, dl)
	}
	return out
}

// metricValue returns the value of a counter or gauge series (summed over
// label sets matching labels).
func metricValue(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metric
				}
			}
			switch {
			case m.Counter != nil:
				v += m.GetCounter().GetValue()
			case m.Gauge != nil:
				v += m.GetGauge().GetValue()
			case m.Histogram != nil:
				v += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return v
}

// latestMigration is the version of the newest embedded migration.
func latestMigration(t *testing.T) int64 {
	t.Helper()
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	var latest int64
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			t.Fatalf("migration %s: %v", e.Name(), err)
		}
		latest = max(latest, v)
	}
	return latest
}
