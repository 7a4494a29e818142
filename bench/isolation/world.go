package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/storecast/storecast/bench/benchkit"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

// World is what a benchmark must leave as it found it: the user's topics,
// consumer groups and tables, plus the sandboxes (topics and databases
// carrying a benchmark's name) that exist, to find the ones a benchmark
// left behind.
type World struct {
	At       string   `json:"at"`
	LoadAvg  string   `json:"load_average"`
	Services []string `json:"services"`
	// Topics: high watermark per partition of every user topic.
	Topics map[string][]int64 `json:"topics"`
	// Groups: committed offset per topic and partition of every user
	// consumer group (-1: none committed).
	Groups map[string]map[string][]int64 `json:"groups"`
	// Tables: row count and largest keys of the sink's tables.
	Tables map[string]map[string]string `json:"tables"`
	// SinkOffsets: next offset per "consumer topic/partition" in
	// sink_offsets, for the user's consumers.
	SinkOffsets map[string]int64 `json:"sink_offsets"`
	// SandboxTopics and SandboxDatabases: names with a benchmark's mark.
	SandboxTopics    []string `json:"sandbox_topics"`
	SandboxGroups    []string `json:"sandbox_groups"`
	SandboxDatabases []string `json:"sandbox_databases"`
}

// userTopics are the user's topics: every production topic name (the
// topics of topics.Names without a suffix). Benchmarks and tests use
// suffixed names.
func userTopics() []string {
	var out []string
	for _, s := range topics.DefaultNames().Specs() {
		out = append(out, s.Name)
	}
	return out
}

// userGroup reports whether a consumer group is the user's: a production
// group name, or any group with committed offsets on a user topic (the
// trainer's, a DLQ replay's, or one a benchmark should not have made).
func userGroup(name string, offsets map[string][]int64, user []string) bool {
	n := topics.DefaultNames()
	if name == string(n.FeaturesGroup) || name == string(n.ForecastGroup) || name == n.SinkGroup {
		return true
	}
	for t := range offsets {
		if slices.Contains(user, t) {
			return true
		}
	}
	return false
}

// sandboxName reports whether a topic, group or database name carries a
// benchmark's mark (benchkit suffixes "bench-<part>-<nanos>"; the sink
// bench's databases start with "bench_").
func sandboxName(name string) bool {
	return strings.Contains(name, "bench-") || strings.Contains(name, "bench_")
}

// tableQueries are the read-only statements that describe the user's
// tables: a row count and the largest key columns.
var tableQueries = map[string]string{
	"rossman_sales": `SELECT count(*)::text, coalesce(max(store)::text, ''), coalesce(max(date)::text, ''),
		coalesce(max(ingested_at)::text, '') FROM rossman_sales`,
	"forecast_results": `SELECT count(*)::text, coalesce(max(forecast_id), ''), coalesce(max(created_at)::text, ''),
		coalesce(max(ingested_at)::text, '') FROM forecast_results`,
}

var tableColumns = map[string][]string{
	"rossman_sales":    {"rows", "max_store", "max_date", "max_ingested_at"},
	"forecast_results": {"rows", "max_forecast_id", "max_created_at", "max_ingested_at"},
}

// snapshot reads the world: Kafka through kc, PostgreSQL through dsn (in a
// read-only session), the services from the stack's pid files in stateDir.
func snapshot(ctx context.Context, kc kafka.Config, dsn, stateDir string) (World, error) {
	w := World{
		At:          time.Now().UTC().Format(time.RFC3339),
		LoadAvg:     benchkit.LoadAverage(),
		Services:    benchkit.Services(stateDir),
		Topics:      map[string][]int64{},
		Groups:      map[string]map[string][]int64{},
		Tables:      map[string]map[string]string{},
		SinkOffsets: map[string]int64{},
	}
	if err := w.readKafka(kc); err != nil {
		return World{}, err
	}
	if err := w.readPostgres(ctx, dsn); err != nil {
		return World{}, err
	}
	return w, nil
}

func (w *World) readKafka(kc kafka.Config) error {
	client, err := sarama.NewClient(kc.Brokers, kc.Sarama())
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("kafka admin: %w", err)
	}
	user := userTopics()
	names, err := client.Topics()
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	for _, t := range names {
		switch {
		case slices.Contains(user, t):
			hw, err := highWatermarks(client, t)
			if err != nil {
				return err
			}
			w.Topics[t] = hw
		case sandboxName(t):
			w.SandboxTopics = append(w.SandboxTopics, t)
		}
	}
	slices.Sort(w.SandboxTopics)
	groups, err := admin.ListConsumerGroups()
	if err != nil {
		return fmt.Errorf("list consumer groups: %w", err)
	}
	for g := range groups {
		if sandboxName(g) {
			w.SandboxGroups = append(w.SandboxGroups, g)
			continue
		}
		resp, err := admin.ListConsumerGroupOffsets(g, nil)
		if err != nil {
			return fmt.Errorf("offsets of group %s: %w", g, err)
		}
		if resp.Err != sarama.ErrNoError {
			return fmt.Errorf("offsets of group %s: %w", g, resp.Err)
		}
		offsets := map[string][]int64{}
		for topic, parts := range resp.Blocks {
			o := make([]int64, len(parts))
			for p, b := range parts {
				if int(p) >= len(o) {
					o = append(o, make([]int64, int(p)+1-len(o))...)
				}
				o[p] = b.Offset
			}
			offsets[topic] = o
		}
		if userGroup(g, offsets, user) {
			w.Groups[g] = offsets
		}
	}
	slices.Sort(w.SandboxGroups)
	return nil
}

// highWatermarks returns the high watermark of each of topic's partitions.
func highWatermarks(client sarama.Client, topic string) ([]int64, error) {
	parts, err := client.Partitions(topic)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	out := make([]int64, len(parts))
	for _, p := range parts {
		o, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return nil, fmt.Errorf("high watermark of %s/%d: %w", topic, p, err)
		}
		if int(p) >= len(out) {
			out = append(out, make([]int64, int(p)+1-len(out))...)
		}
		out[p] = o
	}
	return out, nil
}

func (w *World) readPostgres(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("parse the PostgreSQL DSN: %w", err)
	}
	// The check only reads; the session refuses writes.
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect PostgreSQL: %w", err)
	}
	defer conn.Close(context.Background())
	for _, table := range slices.Sorted(maps.Keys(tableQueries)) {
		cols := tableColumns[table]
		vals := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := conn.QueryRow(ctx, tableQueries[table]).Scan(ptrs...); err != nil {
			return fmt.Errorf("describe %s: %w", table, err)
		}
		row := map[string]string{}
		for i, c := range cols {
			row[c] = vals[i]
		}
		w.Tables[table] = row
	}
	rows, err := conn.Query(ctx, `SELECT consumer, topic, partition, next_offset FROM sink_offsets`)
	if err != nil {
		return fmt.Errorf("read sink_offsets: %w", err)
	}
	for rows.Next() {
		var consumer, topic string
		var part int32
		var next int64
		if err := rows.Scan(&consumer, &topic, &part, &next); err != nil {
			return fmt.Errorf("read sink_offsets: %w", err)
		}
		if !sandboxName(consumer) {
			w.SinkOffsets[fmt.Sprintf("%s %s/%d", consumer, topic, part)] = next
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read sink_offsets: %w", err)
	}
	dbs, err := conn.Query(ctx, `SELECT datname FROM pg_database ORDER BY datname`)
	if err != nil {
		return fmt.Errorf("list databases: %w", err)
	}
	names, err := pgx.CollectRows(dbs, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list databases: %w", err)
	}
	for _, n := range names {
		if sandboxName(n) {
			w.SandboxDatabases = append(w.SandboxDatabases, n)
		}
	}
	return nil
}

// databaseOf is the database name of a postgres:// DSN (for the report).
func databaseOf(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

// Difference is one thing of the user's world that a benchmark run
// changed, or one sandbox it left behind.
type Difference struct {
	What   string `json:"what"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// compare lists what differs between two snapshots of the user's world:
// topics, partitions, high watermarks, groups and their offsets, table
// descriptions and sink offsets, each appearing, vanishing or changed.
func compare(before, after World) []Difference {
	var out []Difference
	diff := func(what string, b, a any, hasB, hasA bool) {
		bs, as := "absent", "absent"
		if hasB {
			bs = fmt.Sprint(b)
		}
		if hasA {
			as = fmt.Sprint(a)
		}
		if bs != as {
			out = append(out, Difference{What: what, Before: bs, After: as})
		}
	}
	for _, t := range union(before.Topics, after.Topics) {
		b, hb := before.Topics[t]
		a, ha := after.Topics[t]
		diff("topic "+t+" high watermarks", b, a, hb, ha)
	}
	for _, g := range union(before.Groups, after.Groups) {
		b, hb := before.Groups[g]
		a, ha := after.Groups[g]
		if !hb || !ha {
			diff("consumer group "+g, "present", "present", hb, ha)
			continue
		}
		for _, t := range union(b, a) {
			bo, hbo := b[t]
			ao, hao := a[t]
			diff("consumer group "+g+" offsets on "+t, bo, ao, hbo, hao)
		}
	}
	for _, t := range union(before.Tables, after.Tables) {
		b, hb := before.Tables[t]
		a, ha := after.Tables[t]
		for _, c := range union(b, a) {
			bv, hbv := b[c]
			av, hav := a[c]
			diff("table "+t+" "+c, bv, av, hb && hbv, ha && hav)
		}
	}
	for _, k := range union(before.SinkOffsets, after.SinkOffsets) {
		b, hb := before.SinkOffsets[k]
		a, ha := after.SinkOffsets[k]
		diff("sink_offsets "+k, b, a, hb, ha)
	}
	return out
}

// stampRE finds the time a benchmark put in its sandbox's names: unix
// nanoseconds (benchkit, bench-process, bench-produce) or seconds
// (bench-sink).
var stampRE = regexp.MustCompile(`\d{10,}`)

// sandboxTime returns the creation time in a sandbox name, if it has one.
func sandboxTime(name string) (time.Time, bool) {
	for _, m := range stampRE.FindAllString(name, -1) {
		n, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			continue
		}
		switch len(m) {
		case 19:
			return time.Unix(0, n), true
		case 10:
			return time.Unix(n, 0), true
		}
	}
	return time.Time{}, false
}

// leftovers splits the sandboxes that exist after a run but not before it
// into those the run's benchmarks made (a creation time between the two
// reads: left behind) and others (no time or another time in the name:
// someone else's, reported only).
func leftovers(before, after World) (ours, others []Difference) {
	from, _ := time.Parse(time.RFC3339, before.At)
	to, _ := time.Parse(time.RFC3339, after.At)
	add := func(kind string, b, a []string) {
		for _, n := range a {
			if slices.Contains(b, n) {
				continue
			}
			d := Difference{What: kind + " " + n, Before: "absent", After: "present"}
			if t, ok := sandboxTime(n); ok && !t.Before(from.Add(-time.Second)) && !t.After(to.Add(time.Second)) {
				ours = append(ours, d)
			} else {
				others = append(others, d)
			}
		}
	}
	add("sandbox topic", before.SandboxTopics, after.SandboxTopics)
	add("sandbox consumer group", before.SandboxGroups, after.SandboxGroups)
	add("sandbox database", before.SandboxDatabases, after.SandboxDatabases)
	return ours, others
}

func union[V any](a, b map[string]V) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

var errNotAtRest = errors.New("the user's world is not at rest")
