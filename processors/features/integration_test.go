package features

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	feat "github.com/storecast/storecast/features"
	"github.com/storecast/storecast/ingest"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// The integration tests replay the last replayDays days of the shared
// Rossmann data (every one of the 1,115 stores) through the processor on
// the real broker. They run with STORECAST_INTEGRATION=1 (or skip without
// a broker).
const replayDays = 120

var replayTo = topics.DateFromYMD(2015, 6, 19)

func loadRossmann(t *testing.T) ingest.Input {
	t.Helper()
	dir := testkit.DataDir(t)
	in, err := ingest.LoadKaggle(ingest.KaggleFiles{
		Store: filepath.Join(dir, "store.csv"), Train: filepath.Join(dir, "train.csv"),
		From: replayTo - replayDays + 1, To: replayTo,
	})
	if err != nil {
		t.Fatal(err)
	}
	stores := map[int]bool{}
	for _, s := range in.Sales {
		stores[s.Store] = true
	}
	if len(stores) != 1115 || len(in.Stores) != 1115 {
		t.Fatalf("%d stores with sales, %d in store.csv; want 1,115", len(stores), len(in.Stores))
	}
	return in
}

// produce sends the input (store info first, then the sales in order).
func produce(t *testing.T, cfg kafka.Config, n topics.Names, in ingest.Input) {
	t.Helper()
	ap, err := ingest.NewAsyncProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ingest.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	p := ingest.New(ap, ingest.Config{Names: n}, slog.New(slog.DiscardHandler), m)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sum, err := p.Run(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sales != int64(len(in.Sales)) {
		t.Fatalf("produced %d sales, want %d", sum.Sales, len(in.Sales))
	}
}

// latestByKey compacts records as Kafka's compaction would: last value per
// key, tombstones removing it.
func latestByKey(rs []testkit.Record) map[string]testkit.Record {
	out := map[string]testkit.Record{}
	for _, r := range rs {
		if r.Value == nil {
			delete(out, r.Key)
			continue
		}
		out[r.Key] = r
	}
	return out
}

// waitCommitted polls until the group's committed offsets on topic reach
// the high watermarks: every event processed and its output acknowledged
// (goka commits only after a callback's emits are done).
func waitCommitted(t *testing.T, cfg kafka.Config, group string, topic string, timeout time.Duration) {
	t.Helper()
	client, err := sarama.NewClient(cfg.Brokers, cfg.Sarama())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	for {
		behind := int64(0)
		res, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: parts})
		if err == nil {
			for _, p := range parts {
				hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
				if err != nil {
					t.Fatal(err)
				}
				committed := int64(-1)
				if b := res.GetBlock(topic, p); b != nil {
					committed = b.Offset
				}
				if committed < hwm {
					behind += hwm - max(committed, 0)
				}
			}
			if behind == 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s still %d events behind on %s after %s (err %v)", group, behind, topic, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// expectation is the pure recomputation of what the processor must leave
// behind: per store, the fold of its sales, and the examples the processor
// logic emits, computed with package features alone.
type expectation struct {
	states   map[int][]byte // encoded without the input offset
	examples map[string]topics.TrainingExample
}

func expect(t *testing.T, in ingest.Input) expectation {
	t.Helper()
	infos := map[int]*feat.Info{}
	for i := range in.Stores {
		info := feat.NewInfo(&in.Stores[i])
		infos[in.Stores[i].Store] = &info
	}
	states := map[int]*feat.State{}
	e := expectation{states: map[int][]byte{}, examples: map[string]topics.TrainingExample{}}
	for i := range in.Sales {
		s := &in.Sales[i]
		st := states[s.Store]
		if st == nil {
			st = new(feat.State)
			states[s.Store] = st
		}
		f, err := feat.FactOf(s)
		if err != nil {
			t.Fatal(err)
		}
		add := func(days []topics.Date) []topics.TrainingExample {
			var out []topics.TrainingExample
			for _, d := range days {
				ex, ok, err := st.Example(infos[s.Store], d)
				if err != nil || !ok {
					t.Fatalf("example %d %s: %v %v", s.Store, d, ok, err)
				}
				e.examples[topics.ExampleKey(s.Store, d)] = ex
				out = append(out, ex)
			}
			return out
		}
		completed := add(st.Completes(s.Store, s.Date, nil))
		ch := st.Apply(f)
		if ch.Advanced {
			st.Carry(s.Date, completed)
		}
		if ch.Outcome == feat.Duplicate {
			continue
		}
		add(st.AffectedDays(s.Store, s.Date, ch, nil))
	}
	for id, st := range states {
		e.states[id] = encodedWithoutOffset(t, st)
	}
	return e
}

// check compares the table topic and training_examples with the expectation.
func (e expectation) check(t *testing.T, cfg kafka.Config, n topics.Names) {
	t.Helper()
	table := latestByKey(testkit.ReadTopic(t, cfg, string(n.StoreTable())))
	if len(table) != len(e.states) {
		t.Errorf("table holds %d stores, want %d", len(table), len(e.states))
	}
	for id, want := range e.states {
		r, ok := table[topics.StoreKey(id)]
		if !ok {
			t.Errorf("table has no state for store %d", id)
			continue
		}
		var s feat.State
		if err := s.UnmarshalBinary(r.Value); err != nil {
			t.Fatalf("store %d: %v", id, err)
		}
		if got := encodedWithoutOffset(t, &s); !bytes.Equal(got, want) {
			t.Errorf("store %d: table state differs from the pure fold", id)
		}
	}
	exs := latestByKey(testkit.ReadTopic(t, cfg, string(n.TrainingExamples)))
	if len(exs) != len(e.examples) {
		t.Errorf("training_examples holds %d keys, want %d", len(exs), len(e.examples))
	}
	bad := 0
	for key, want := range e.examples {
		r, ok := exs[key]
		if !ok {
			t.Errorf("no training example %s", key)
			if bad++; bad > 10 {
				t.FailNow()
			}
			continue
		}
		var got topics.TrainingExample
		if err := json.Unmarshal(r.Value, &got); err != nil {
			t.Fatalf("example %s: %v", key, err)
		}
		if r.Partition != ingest.PartitionOf(topics.StoreKey(want.Store), topics.Partitions) {
			t.Errorf("example %s is on partition %d, not its store's", key, r.Partition)
		}
		if got.AsOf != want.AsOf || got.Horizon != want.Horizon || got.Label != want.Label || got.Schema != want.Schema || len(got.Features.Values) != len(want.Features.Values) {
			t.Errorf("example %s = %+v, want %+v", key, got, want)
			continue
		}
		for i, w := range want.Features.Values {
			if g := got.Features.Values[i]; math.Float64bits(g) != math.Float64bits(w) && !(math.IsNaN(g) && math.IsNaN(w)) {
				t.Errorf("example %s: %s = %v, want %v", key, want.Features.Names[i], g, w)
				if bad++; bad > 10 {
					t.FailNow()
				}
			}
		}
	}
}

func hwm(t *testing.T, cfg kafka.Config, topic string) int64 {
	t.Helper()
	client, err := sarama.NewClient(cfg.Brokers, cfg.Sarama())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, p := range parts {
		o, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		sum += o
	}
	return sum
}

// TestReplayRossmann replays the shared data through the processor (in
// process, LevelDB storage), checks the table and the training examples
// against the pure recomputation, then replays the same events again and
// wants nothing to change.
func TestReplayRossmann(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 133,800 events")
	}
	cfg := testkit.Kafka(t)
	in := loadRossmann(t)
	n := testkit.Names(t, cfg)
	want := expect(t, in)
	produce(t, cfg, n, in)

	stop := runProcessor(t, cfg, n)
	waitCommitted(t, cfg, string(n.FeaturesGroup), string(n.Sales), 10*time.Minute)
	want.check(t, cfg, n)
	tableWrites, examples := hwm(t, cfg, string(n.StoreTable())), hwm(t, cfg, string(n.TrainingExamples))
	t.Logf("%d sales: %d table writes, %d training examples", len(in.Sales), tableWrites, examples)

	// Replay: the same events again, while the processor runs.
	produce(t, cfg, n, ingest.Input{Sales: in.Sales})
	waitCommitted(t, cfg, string(n.FeaturesGroup), string(n.Sales), 10*time.Minute)
	stop()
	if w, e := hwm(t, cfg, string(n.StoreTable())), hwm(t, cfg, string(n.TrainingExamples)); w != tableWrites || e != examples {
		t.Errorf("the replay wrote %d table records and %d examples, want none", w-tableWrites, e-examples)
	}
	want.check(t, cfg, n)
	if dlq := hwm(t, cfg, string(n.SalesDLQ)); dlq != 0 {
		t.Errorf("%d dead letters for valid data", dlq)
	}
}

var buildOnce struct {
	sync.Once
	bin string
	err error
}

// storecastBinary builds cmd/storecast once per test binary.
func storecastBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "storecast-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.bin = filepath.Join(dir, "storecast")
		out, err := exec.Command("go", "build", "-o", buildOnce.bin, "github.com/storecast/storecast/cmd/storecast").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProcess runs `storecast process --only features` on the suffixed
// names with its tables under storage, until the test ends; it returns the
// command and the address of its /metrics.
func startProcess(t *testing.T, bin string, cfg kafka.Config, suffix, storage, name string) (*exec.Cmd, string) {
	t.Helper()
	metricsAddr := freeAddr(t)
	cmd := exec.Command(bin, "process", "--only", "features", "--names-suffix", suffix,
		"--storage-dir", storage, "--metrics-addr", metricsAddr, "--brokers", cfg.Brokers[0])
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		_ = logf.Close()
	})
	return cmd, metricsAddr
}

// TestTwoInstancesOneKilled runs two `storecast process` instances in one
// group (they share the 8 partitions), kills one with SIGKILL in the middle
// of the replay, and wants the survivor to take its partitions over and
// finish with the same table and examples as the pure recomputation (which
// a single instance produces: TestReplayRossmann).
func TestTwoInstancesOneKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 133,800 events")
	}
	cfg := testkit.Kafka(t)
	in := loadRossmann(t)
	suffix := testkit.UniqueSuffix(t)
	n := topics.DefaultNames().WithSuffix(suffix)
	testkit.CreateTopics(t, cfg, n)
	want := expect(t, in)
	bin := storecastBinary(t)

	// Both instances hold partitions before the input is produced, so both
	// fold sales (started on a produced log, the first one can finish the
	// replay before the second has joined). The victim is killed once a
	// third of the table's updates are written, and the rest of the input
	// is produced only then: the kill always lands mid-replay, however
	// fast the two fold.
	survivor, survivorMetrics := startProcess(t, bin, cfg, suffix, t.TempDir(), "survivor")
	victim, victimMetrics := startProcess(t, bin, cfg, suffix, t.TempDir(), "victim")
	waitMembers(t, cfg, string(n.FeaturesGroup), string(n.Sales), 2, 5*time.Minute)
	first, rest := in, in
	first.Sales, rest.Sales = in.Sales[:len(in.Sales)*2/5], in.Sales[len(in.Sales)*2/5:]
	produce(t, cfg, n, first)
	deadline := time.Now().Add(5 * time.Minute)
	for eventsFolded(victimMetrics) == 0 || eventsFolded(survivorMetrics) == 0 || hwm(t, cfg, string(n.StoreTable())) < int64(len(in.Sales))/3 {
		if time.Now().After(deadline) {
			t.Fatalf("the two instances did not both fold sales (survivor %v, victim %v)", eventsFolded(survivorMetrics), eventsFolded(victimMetrics))
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	t.Logf("before the kill: survivor folded %v, victim %v", eventsFolded(survivorMetrics), eventsFolded(victimMetrics))
	if err := victim.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_, _ = victim.Process.Wait()
	produce(t, cfg, n, rest)
	waitCommitted(t, cfg, string(n.FeaturesGroup), string(n.Sales), 10*time.Minute)
	t.Logf("after the rebalance the survivor folded %v", eventsFolded(survivorMetrics))
	if err := survivor.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := survivor.Wait(); err != nil {
		t.Errorf("survivor: %v", err)
	}
	want.check(t, cfg, n)
}

// waitMembers waits until group is stable with n members that each hold
// partitions of topic.
func waitMembers(t *testing.T, cfg kafka.Config, group, topic string, n int, timeout time.Duration) {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, cfg.Sarama())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	deadline := time.Now().Add(timeout)
	for {
		holding, state := 0, "unknown"
		if gs, err := admin.DescribeConsumerGroups([]string{group}); err == nil && len(gs) == 1 {
			state = gs[0].State
			for _, m := range gs[0].Members {
				if a, err := m.GetMemberAssignment(); err == nil && a != nil && len(a.Topics[topic]) > 0 {
					holding++
				}
			}
		}
		if state == "Stable" && holding == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s: %d members hold partitions of %s (state %s), want %d", group, holding, topic, state, n)
		}
		time.Sleep(100 * time.Millisecond) // polling with a deadline
	}
}

// eventsFolded sums storecast_features_events_total on a process's
// /metrics (0 when it does not answer).
func eventsFolded(addr string) float64 {
	m, _ := testkit.Scrape("http://" + addr + "/metrics")
	return m["storecast_features_events_total"]
}

// TestKillDashNineMidReplay runs `storecast process` as a subprocess,
// kills it with SIGKILL in the middle of the replay, restarts it on the
// same local storage and wants the same final table and examples as the
// pure recomputation.
func TestKillDashNineMidReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 133,800 events")
	}
	cfg := testkit.Kafka(t)
	in := loadRossmann(t)
	suffix := testkit.UniqueSuffix(t)
	n := topics.DefaultNames().WithSuffix(suffix)
	testkit.CreateTopics(t, cfg, n)
	want := expect(t, in)
	bin := storecastBinary(t)
	storage := t.TempDir()
	// Two thirds of the input first, the rest after the restart: the kill,
	// at a third of the table's updates, lands mid-replay however fast the
	// processor folds.
	head, rest := in, in
	head.Sales, rest.Sales = in.Sales[:len(in.Sales)*2/3], in.Sales[len(in.Sales)*2/3:]
	produce(t, cfg, n, head)

	var metricsAddr string
	start := func(name string) *exec.Cmd {
		var cmd *exec.Cmd
		cmd, metricsAddr = startProcess(t, bin, cfg, suffix, storage, name)
		return cmd
	}
	first := start("first")
	// Kill it once it has written a third of the table's updates.
	deadline := time.Now().Add(5 * time.Minute)
	for hwm(t, cfg, string(n.StoreTable())) < int64(len(in.Sales))/3 {
		if time.Now().After(deadline) {
			t.Fatal("the processor made no progress")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_, _ = first.Process.Wait()
	killedAt := hwm(t, cfg, string(n.StoreTable()))
	t.Logf("killed after %d table writes of %d sales produced so far", killedAt, len(head.Sales))

	second := start("second")
	produce(t, cfg, n, rest)
	waitCommitted(t, cfg, string(n.FeaturesGroup), string(n.Sales), 10*time.Minute)
	if resp, err := http.Get("http://" + metricsAddr + "/metrics"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "storecast_features_events_total") {
				t.Logf("second run: %s", line)
			}
		}
	}
	if err := second.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Errorf("second run: %v", err)
	}
	want.check(t, cfg, n)
}
