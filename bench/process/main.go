// Command process is the features processor benchmark (`make
// bench-process`): it produces Kaggle's full train.csv (970,379 events) and
// store.csv into fresh topics, then replays them through the features
// processor (the production code and options, LevelDB storage) and
// measures:
//
//   - seconds / events_per_s: from starting the processor until every
//     event is processed and its outputs acknowledged (the group's
//     committed offsets reach the input's high watermarks); startup_seconds
//     is the part until the group joined and every partition runs (the
//     broker's group.initial.rebalance.delay.ms is in it);
//   - training_examples: records written to training_examples;
//   - recovery_seconds: a new processor on the same local storage, from
//     start until every partition runs (goka's ready state);
//   - view_recovery_seconds: a store table view with empty (memory)
//     storage, from start until recovered from the table topic.
//
// It writes bench/results/process.json and prints a summary. It is a
// measurement, not a test; the machine is shared, so numbers are noisy.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/bench/benchkit"
	"github.com/storecast/storecast/ingest"
	"github.com/storecast/storecast/internal/platform/kafka"
	featuresproc "github.com/storecast/storecast/processors/features"
	"github.com/storecast/storecast/topics"
	"github.com/storecast/storecast/views"
)

type result struct {
	Events              int64   `json:"events"`
	Seconds             float64 `json:"seconds"`
	EventsPerS          float64 `json:"events_per_s"`
	TrainingExamples    int64   `json:"training_examples"`
	RecoverySeconds     float64 `json:"recovery_seconds"`
	ViewRecoverySeconds float64 `json:"view_recovery_seconds"`
	TableWrites         int64   `json:"table_writes"`
	StartupSeconds      float64 `json:"startup_seconds"`
	AfterStartupPerS    float64 `json:"events_per_s_after_startup"`
	ProduceSeconds      float64 `json:"produce_seconds"`
	ProcessCPUSeconds   float64 `json:"processor_cpu_seconds"`
	BrokerCPUSeconds    float64 `json:"broker_cpu_seconds,omitempty"`
	Compression         string  `json:"compression"`
	LoadAverage         string  `json:"load_average_at_end"`
	Storage             string  `json:"storage"`
	Partitions          int32   `json:"partitions"`
	CPUs                int     `json:"cpus"`
	GoVersion           string  `json:"go_version"`
	At                  string  `json:"at"`
	Note                string  `json:"note"`
	TargetEventsPerS    float64 `json:"target_events_per_s"`
	TargetRecoveryS     float64 `json:"target_recovery_seconds"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-process:", err)
		os.Exit(1)
	}
}

func run() error {
	data := envOr("STORECAST_DATA_DIR", "../shared/data/rossmann")
	brokers := envOr("STORECAST_BROKERS", "127.0.0.1:9092")
	flag.StringVar(&data, "data", data, "folder with Kaggle's train.csv and store.csv")
	flag.StringVar(&brokers, "brokers", brokers, "Kafka brokers (STORECAST_BROKERS)")
	out := flag.String("out", "bench/results/process.json", "result file")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the processing phase here")
	keep := flag.Bool("keep", false, "keep the benchmark's topics (deleted by default)")
	compression := flag.String("compression", "none", "compression of the processor's output, as `storecast process --compression` (default none)")
	brokerPID := flag.String("broker-pid-file", ".state/run/kafka.pid", "the local broker's pid file, to measure its CPU time (optional)")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	kc := kafka.Config{Brokers: kafka.ParseBrokers(brokers), ClientID: "storecast-bench-process"}
	names := topics.DefaultNames().WithSuffix(fmt.Sprintf("bench-%d", time.Now().UnixNano()))
	if !*keep {
		// Deferred first: also removes the topics of a failed creation.
		defer deleteTopics(kc, names, log)
	}
	if err := createTopics(kc, names); err != nil {
		return err
	}
	if err := benchkit.WaitTopics(ctx, kc, names.Specs(), 10*time.Minute); err != nil {
		return err
	}
	storage, err := os.MkdirTemp("", "storecast-bench-process-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(storage)

	// Input: the whole file, produced before the processor starts.
	in, err := ingest.LoadKaggle(ingest.KaggleFiles{Store: filepath.Join(data, "store.csv"), Train: filepath.Join(data, "train.csv")})
	if err != nil {
		return err
	}
	log.Info("producing", "events", len(in.Sales), "topic", names.Sales)
	t0 := time.Now()
	if err := produce(ctx, kc, names, in); err != nil {
		return err
	}
	produceSecs := time.Since(t0).Seconds()
	total, err := benchkit.HighWatermarks(kc, string(names.Sales))
	if err != nil {
		return err
	}

	// Replay through the processor.
	cfg := featuresproc.Config{Names: names, Kafka: kc, StorageDir: storage, Compression: *compression}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
	}
	log.Info("replaying through the features processor", "events", total)
	t1 := time.Now()
	cpu0, broker0 := selfCPU(), pidCPU(*brokerPID)
	stopProc, ready, err := startProcessor(ctx, cfg)
	if err != nil {
		return err
	}
	var startup atomic.Int64
	go func() {
		<-ready // the group joined and every partition runs
		startup.Store(int64(time.Since(t1)))
	}()
	if err := waitCommitted(ctx, kc, string(names.FeaturesGroup), string(names.Sales), log); err != nil {
		return err
	}
	secs := time.Since(t1).Seconds()
	startupSecs := time.Duration(startup.Load()).Seconds()
	procCPU, brokerCPU := selfCPU()-cpu0, pidCPU(*brokerPID)-broker0
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err := stopProc(); err != nil {
		return err
	}
	examples, err := benchkit.HighWatermarks(kc, string(names.TrainingExamples))
	if err != nil {
		return err
	}
	writes, err := benchkit.HighWatermarks(kc, string(names.StoreTable()))
	if err != nil {
		return err
	}

	// Recovery: a new processor on the existing local storage.
	log.Info("measuring recovery on the existing local storage")
	t2 := time.Now()
	stopProc, ready, err = startProcessor(ctx, cfg)
	if err != nil {
		return err
	}
	select {
	case <-ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	recovery := time.Since(t2).Seconds()
	if err := stopProc(); err != nil {
		return err
	}

	// A cold view of the store table, from the table topic.
	log.Info("measuring a cold store-table view")
	viewSecs, err := viewRecovery(ctx, kc, names)
	if err != nil {
		return err
	}

	res := result{
		Events: total, Seconds: round(secs), EventsPerS: round(float64(total) / secs), TrainingExamples: examples,
		StartupSeconds: round(startupSecs), AfterStartupPerS: round(float64(total) / (secs - startupSecs)),
		RecoverySeconds: round(recovery), ViewRecoverySeconds: round(viewSecs), TableWrites: writes,
		ProduceSeconds: round(produceSecs), ProcessCPUSeconds: round(procCPU), BrokerCPUSeconds: round(brokerCPU),
		Compression: cmp.Or(*compression, "lz4 (platform default)"), LoadAverage: benchkit.LoadAverage(), Storage: "memory, checkpointed to LevelDB every 2s", Partitions: topics.Partitions,
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), At: time.Now().UTC().Format(time.RFC3339),
		Note: "input produced first; seconds runs from processor start until its committed offsets reach the input's high watermarks; " +
			"broker, processor and other engineers' builds share this machine's cores",
		TargetEventsPerS: 50000, TargetRecoveryS: 10,
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("bench-process: %d events in %.1fs = %.0f events/s (target 50,000); %d training examples; %d table writes; recovery %.2fs (target 10s); cold view %.2fs\n",
		total, secs, res.EventsPerS, examples, writes, recovery, viewSecs)
	fmt.Printf("CPU during the replay: processor %.1fs, broker %.1fs; load average %s\n", procCPU, brokerCPU, res.LoadAverage)
	fmt.Printf("wrote %s\n", *out)
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func round(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

func createTopics(kc kafka.Config, n topics.Names) error {
	admin, err := sarama.NewClusterAdmin(kc.Brokers, kc.Sarama())
	if err != nil {
		return fmt.Errorf("cluster admin: %w", err)
	}
	defer admin.Close()
	var specs []kafka.TopicSpec
	for _, s := range n.Specs() {
		specs = append(specs, kafka.TopicSpec{Name: s.Name, Partitions: s.Partitions, Configs: s.Configs})
	}
	if _, err := kafka.EnsureTopics(admin, specs); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	return nil
}

func deleteTopics(kc kafka.Config, n topics.Names, log *slog.Logger) {
	admin, err := sarama.NewClusterAdmin(kc.Brokers, kc.Sarama())
	if err != nil {
		log.Warn("delete topics", "err", err)
		return
	}
	defer admin.Close()
	for _, s := range n.Specs() {
		if err := admin.DeleteTopic(s.Name); err != nil {
			log.Warn("delete topic", "topic", s.Name, "err", err)
		}
	}
	if err := admin.DeleteConsumerGroup(string(n.FeaturesGroup)); err != nil {
		log.Warn("delete group", "group", n.FeaturesGroup, "err", err)
	}
}

func produce(ctx context.Context, kc kafka.Config, n topics.Names, in ingest.Input) error {
	ap, err := ingest.NewAsyncProducer(kc)
	if err != nil {
		return err
	}
	m, err := ingest.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		return err
	}
	p := ingest.New(ap, ingest.Config{Names: n}, slog.New(slog.DiscardHandler), m)
	sum, err := p.Run(ctx, in)
	if err != nil {
		return err
	}
	if sum.Sales != int64(len(in.Sales)) {
		return fmt.Errorf("produced %d of %d sales", sum.Sales, len(in.Sales))
	}
	return nil
}

// startProcessor runs a processor until the returned stop is called.
func startProcessor(ctx context.Context, cfg featuresproc.Config) (stop func() error, ready <-chan struct{}, err error) {
	p, err := featuresproc.New(cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}, p.Ready(), nil
}

// waitCommitted polls until the group's committed offsets on topic reach
// its high watermarks.
func waitCommitted(ctx context.Context, kc kafka.Config, group, topic string, log *slog.Logger) error {
	client, err := sarama.NewClient(kc.Brokers, kc.Sarama())
	if err != nil {
		return err
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return err
	}
	parts, err := client.Partitions(topic)
	if err != nil {
		return err
	}
	hwms := map[int32]int64{}
	for _, p := range parts {
		if hwms[p], err = client.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
			return err
		}
	}
	lastLog := time.Now()
	for {
		res, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: parts})
		if err == nil {
			var behind, total int64
			for _, p := range parts {
				committed := int64(0)
				if b := res.GetBlock(topic, p); b != nil && b.Offset > 0 {
					committed = b.Offset
				}
				behind += hwms[p] - min(committed, hwms[p])
				total += hwms[p]
			}
			if behind == 0 {
				return nil
			}
			if time.Since(lastLog) > 5*time.Second {
				log.Info("progress", "processed", total-behind, "of", total)
				lastLog = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func viewRecovery(ctx context.Context, kc kafka.Config, n topics.Names) (float64, error) {
	start := time.Now()
	v, err := views.NewStoreStates(views.Config{Names: n, Kafka: kc}, nil)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	for !v.Recovered() {
		select {
		case err := <-done:
			return 0, fmt.Errorf("view stopped: %w", err)
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	secs := time.Since(start).Seconds()
	ids, err := v.Stores()
	cancel()
	if runErr := <-done; err == nil {
		err = runErr
	}
	if err != nil {
		return 0, err
	}
	if len(ids) != 1115 {
		return 0, fmt.Errorf("the recovered view holds %d stores, want 1,115", len(ids))
	}
	return secs, nil
}

// selfCPU returns this process's user+system CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// pidCPU returns the user+system CPU seconds of the process whose pid is
// in pidFile, or 0 when unknown.
func pidCPU(pidFile string) float64 {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces): state is field 3;
	// utime and stime are fields 14 and 15, in clock ticks (100 a second).
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}
