// Package testkit gives tests the real Kafka and PostgreSQL that the
// project's scripts start (`make up`, or deploy/local/stack.sh), each test
// its own topic names and its own database.
//
// Integration tests call Kafka(t) or Postgres(t). When STORECAST_INTEGRATION
// is "1" (as in `make test` and CI) a missing service fails the test;
// otherwise the test is skipped, so `go test ./...` works without a stack.
// Imported only by _test.go files.
package testkit

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

// Integration reports whether integration tests must run (STORECAST_INTEGRATION=1).
func Integration() bool { return os.Getenv("STORECAST_INTEGRATION") == "1" }

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// skipShort skips an integration test under -short unless
// STORECAST_INTEGRATION=1 asks for it.
func skipShort(t testing.TB, what string) {
	t.Helper()
	if testing.Short() && !Integration() {
		t.Skipf("-short: skipping a test that needs %s", what)
	}
}

func need(t testing.TB, what string, err error) {
	t.Helper()
	if Integration() {
		t.Fatalf("%s is required (STORECAST_INTEGRATION=1) but not reachable: %v; start it with `make up`", what, err)
	}
	t.Skipf("%s not reachable (%v); set STORECAST_INTEGRATION=1 and run `make up` to run this test", what, err)
}

// Kafka returns the client config of the test broker (STORECAST_BROKERS,
// default 127.0.0.1:9092).
func Kafka(t testing.TB) kafka.Config {
	t.Helper()
	skipShort(t, "Kafka")
	cfg := kafka.Config{Brokers: kafka.ParseBrokers(env("STORECAST_BROKERS", "127.0.0.1:9092")), ClientID: "storecast-test"}
	conn, err := net.DialTimeout("tcp", cfg.Brokers[0], 2*time.Second)
	if err != nil {
		need(t, "Kafka", err)
	}
	_ = conn.Close()
	return cfg
}

// UniqueSuffix returns a short random suffix for names.
func UniqueSuffix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := strings.NewReplacer("/", "-", " ", "-").Replace(strings.ToLower(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	return name + "-" + hex.EncodeToString(b)
}

// Names returns topic and group names unique to this test and creates
// their topics on the test broker.
func Names(t testing.TB, cfg kafka.Config) topics.Names {
	t.Helper()
	n := topics.DefaultNames().WithSuffix(UniqueSuffix(t))
	CreateTopics(t, cfg, n)
	return n
}

// CreateTopics creates every topic of n on the broker. They are deleted
// when the test ends, unless it failed (its topics are kept to inspect):
// a broker that outlives the run (the developer's stack) does not collect
// every test's topics.
func CreateTopics(t testing.TB, cfg kafka.Config, n topics.Names) {
	t.Helper()
	t.Cleanup(func() {
		if !t.Failed() {
			DeleteTopics(t, cfg, n)
		}
	})
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, cfg.Sarama())
	if err != nil {
		t.Fatalf("cluster admin: %v", err)
	}
	defer admin.Close()
	var specs []kafka.TopicSpec
	for _, s := range n.Specs() {
		specs = append(specs, kafka.TopicSpec{Name: s.Name, Partitions: s.Partitions, Configs: s.Configs})
	}
	if _, err := kafka.EnsureTopics(admin, specs); err != nil {
		t.Fatalf("create topics: %v", err)
	}
}

// DeleteTopics deletes every topic of n from the broker (best effort: a
// failure is logged), for tests that leave nothing behind on the shared one.
func DeleteTopics(t testing.TB, cfg kafka.Config, n topics.Names) {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, cfg.Sarama())
	if err != nil {
		t.Logf("delete topics: %v", err)
		return
	}
	defer admin.Close()
	for _, s := range n.Specs() {
		_ = admin.DeleteTopic(s.Name)
	}
}

// AdminDSN returns the DSN of a PostgreSQL role that may create databases
// (STORECAST_PG_ADMIN_DSN, written by the stack scripts to .state/env).
func AdminDSN(t testing.TB) string {
	t.Helper()
	skipShort(t, "PostgreSQL")
	dsn := os.Getenv("STORECAST_PG_ADMIN_DSN")
	if dsn == "" {
		need(t, "PostgreSQL", fmt.Errorf("STORECAST_PG_ADMIN_DSN is not set"))
	}
	return dsn
}

// Postgres creates a fresh, empty database for this test, drops it when the
// test ends, and returns its DSN (connecting as the admin role).
func Postgres(t testing.TB) string {
	t.Helper()
	admin := AdminDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		need(t, "PostgreSQL", err)
	}
	defer conn.Close(context.Background())
	name := "t_" + strings.NewReplacer("-", "_").Replace(UniqueSuffix(t))
	if len(name) > 60 {
		name = name[len(name)-60:]
		name = "t" + name[1:]
	}
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		// WITH (FORCE) needs pg_signal_backend when autovacuum works on the
		// database; then fall back to a plain drop, retried until the
		// autovacuum worker is gone.
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err == nil {
			return
		}
		for {
			_, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+ident)
			if err == nil {
				return
			}
			select {
			case <-ctx.Done():
				t.Logf("drop database %s: %v", name, err)
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("STORECAST_PG_ADMIN_DSN must be a postgres:// URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// DataDir returns ../shared/data/rossmann relative to the repository root
// (or STORECAST_DATA_DIR). Tests that need the real data fail under
// STORECAST_INTEGRATION=1 when it is missing and skip otherwise.
func DataDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("STORECAST_DATA_DIR")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = root + "/../shared/data/rossmann"
	}
	if _, err := os.Stat(dir + "/train.csv"); err != nil {
		need(t, "the shared Rossmann data", err)
	}
	return dir
}

// Contract returns the shared fixture testdata/contract/name, which the
// Python trainer's tests read too (testdata/contract/README.md): a field
// or constant renamed on one side fails the other side's tests.
func Contract(t testing.TB, name string) []byte {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "testdata", "contract", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(dir + "/go.mod"); err == nil {
			return dir, nil
		}
		parent := dir[:max(strings.LastIndex(dir, "/"), 0)]
		if parent == dir || parent == "" {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Record is one record read back from a topic.
type Record struct {
	Partition int32
	Offset    int64
	Key       string
	Value     []byte // nil for a tombstone
}

// ReadTopic returns every record of topic, partition by partition, from
// the oldest offset up to the high watermarks at call time
// (kafka.ReadToHighWatermark). A consumer error, or a read that does not
// finish within five minutes, fails the test.
func ReadTopic(t testing.TB, cfg kafka.Config, topic string) []Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out []Record
	err := kafka.ReadToHighWatermark(ctx, cfg, topic, func(p int32, off int64, key, value []byte) error {
		out = append(out, Record{Partition: p, Offset: off, Key: string(key), Value: value})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Produce writes one record with an idempotent producer and fails the test
// when the broker does not acknowledge it.
func Produce(t testing.TB, cfg kafka.Config, topic, key string, value []byte) {
	t.Helper()
	p, err := sarama.NewSyncProducer(cfg.Brokers, cfg.IdempotentProducer(true))
	if err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
	defer p.Close()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(value)}); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// Metric returns the value of the counter or gauge name in g whose labels
// include labels (name, value pairs); 0 when there is no such series.
func Metric(t testing.TB, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !slices.ContainsFunc(m.GetLabel(), func(lp *dto.LabelPair) bool {
					return lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
				}) {
					continue series
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// Scrape reads a Prometheus text page (url, e.g. http://addr/metrics) into
// series → value: a series with labels under its full name, and the bare
// metric name summing every series of it.
func Scrape(url string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		series := line[:i]
		out[series] = v
		if j := strings.IndexByte(series, '{'); j >= 0 {
			out[series[:j]] += v
		}
	}
	return out, sc.Err()
}

// SaleKey identifies a row of rossman_sales.
type SaleKey struct {
	Store int
	Date  topics.Date
}

// LatestSales is what rossman_sales must hold after the batches of sales
// were produced in this order: the last event per store and date.
func LatestSales(batches ...[]topics.Sale) map[SaleKey]topics.Sale {
	out := map[SaleKey]topics.Sale{}
	for _, sales := range batches {
		for _, s := range sales {
			out[SaleKey{s.Store, s.Date}] = s
		}
	}
	return out
}

// CheckSales compares rossman_sales with want: row count, per-store sums,
// and every column of every row.
func CheckSales(t testing.TB, dsn string, want map[SaleKey]topics.Sale) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	var count int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM rossman_sales`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != len(want) {
		t.Errorf("rossman_sales has %d rows, want %d (distinct store and date events)", count, len(want))
	}

	wantSums := map[int]int64{}
	for _, s := range want {
		wantSums[s.Store] += int64(s.Sales)
	}
	gotSums := map[int]int64{}
	rows, _ := conn.Query(ctx, `SELECT store, sum(sales) FROM rossman_sales GROUP BY store`)
	var store int
	var sum int64
	if _, err := pgx.ForEachRow(rows, []any{&store, &sum}, func() error { gotSums[store] = sum; return nil }); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(gotSums, wantSums) {
		bad := 0
		for s, w := range wantSums {
			if gotSums[s] != w && bad < 5 {
				t.Errorf("store %d: sum of sales %d, want %d", s, gotSums[s], w)
				bad++
			}
		}
		t.Errorf("per-store sums differ (%d stores in table, %d expected)", len(gotSums), len(wantSums))
	}

	rows, _ = conn.Query(ctx, `SELECT store, day_of_week, date, sales, customers, open, promo, state_holiday, school_holiday FROM rossman_sales`)
	var r topics.Sale
	var d time.Time
	mismatches := 0
	_, err = pgx.ForEachRow(rows, []any{&r.Store, &r.DayOfWeek, &d, &r.Sales, &r.Customers, &r.Open, &r.Promo, &r.StateHoliday, &r.SchoolHoliday}, func() error {
		r.V, r.Date = topics.SaleVersion, topics.DateOf(d)
		if w, ok := want[SaleKey{r.Store, r.Date}]; !ok || w != r {
			if mismatches < 5 {
				t.Errorf("row %+v, want %+v (present: %v)", r, w, ok)
			}
			mismatches++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if mismatches > 0 {
		t.Errorf("%d rows differ from the events", mismatches)
	}
}
