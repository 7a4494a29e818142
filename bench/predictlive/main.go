// Command predictlive measures POST /predict while the whole pipeline runs
// (`make bench-predict-live`): it writes bench/results/predict_live.json
// and prints a summary. It is a measurement, not a test.
//
// Everything runs in a sandbox of its own (bench/benchkit): suffixed
// topics and groups on the stack's broker, its own PostgreSQL database,
// all removed at the end; it only reads the user's models topic when
// -champion-models-topic names it. Steps:
//
//  1. replay the shared Rossmann history up to -history-end into the
//     sandbox (storecast produce);
//  2. start storecast process (features, forecast) and storecast sink on
//     the sandbox, and wait until the features group has caught up;
//  3. train a large model (-trees rounds at -depth) on the sandbox's
//     training examples with the trainer's code (train_large.py) and
//     publish it inline to the sandbox's models topic (created with a
//     64 MB max.message.bytes);
//  4. stream the rest of the history (the days after -history-end) at
//     -stream-rate sales/s while it measures, so the store table, the
//     as-of day and the prediction cache's keys move as in production;
//  5. start storecast serve on the sandbox (prediction cache on) and
//     measure: a closed loop (rps) and an open loop at -rate requests/s
//     (p50/p99/p999), requests drawn from every store × horizons 3..48
//     after the current as-of day × promo × state and school holidays;
//     then the champion (copied from -champion-models-topic), then both
//     again with a server whose cache is off;
//  6. record the cache hit rate, ingestion rate, errors of every server,
//     the services that ran and, with the large model, the serving CPU
//     profile's top entries.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/bench/benchkit"
	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

// figures is one measurement (one model, cache on or off).
type figures struct {
	ModelVersion     string           `json:"model_version"`
	RPS              float64          `json:"rps"`
	P50ms            float64          `json:"p50_ms"`
	P99ms            float64          `json:"p99_ms"`
	P999ms           float64          `json:"p999_ms"`
	OpenLoopDone     float64          `json:"open_loop_rps_done"`
	Errors           int64            `json:"errors"`
	Statuses         map[string]int64 `json:"statuses"`
	CacheHitRate     float64          `json:"cache_hit_rate"`
	IngestEventsPerS float64          `json:"ingest_events_per_s"`
	FeaturesLagEnd   float64          `json:"features_lag_at_end"`
	ReadyProbes      int64            `json:"ready_probes"`
	ReadyNon200      int64            `json:"ready_non_200"`
	PastDate400      int64            `json:"past_date_400"`
}

type result struct {
	// The large model with the prediction cache on (the keys).
	RPS              float64  `json:"rps"`
	P50ms            float64  `json:"p50_ms"`
	P99ms            float64  `json:"p99_ms"`
	P999ms           float64  `json:"p999_ms"`
	Errors           int64    `json:"errors"`
	CacheHitRate     float64  `json:"cache_hit_rate"`
	Trees            int      `json:"trees"`
	MaxDepth         int      `json:"max_depth"`
	Services         []string `json:"services"`
	IngestEventsPerS float64  `json:"ingest_events_per_s"`

	OpenLoopRPS  float64            `json:"open_loop_rps"`
	Large        map[string]figures `json:"large_model"` // "cache_on", "cache_off"
	Champion     map[string]figures `json:"champion"`
	ChampionTree struct {
		Trees    int `json:"trees"`
		MaxDepth int `json:"max_depth"`
	} `json:"champion_shape"`
	ServerErrors map[string]int64 `json:"server_errors"`
	// ChampionSkipped says why there are no champion figures.
	ChampionSkipped string     `json:"champion_skipped,omitempty"`
	TrainRows       int        `json:"train_rows"`
	TrainSeconds    float64    `json:"train_seconds"`
	ProfileTop      []string   `json:"profile_top,omitempty"`
	LoadAverage     []string   `json:"load_average"` // /proc/loadavg at the start and at the end
	Scheduling      scheduling `json:"scheduling"`
	Targets         string     `json:"targets"`
	CPUs            int        `json:"cpus"`
	At              string     `json:"at"`
	Note            string     `json:"note"`
}

// scheduling is how the CPU was split between storecast serve and the
// pipeline the bench runs beside it.
type scheduling struct {
	ServeNice          int `json:"serve_nice"`
	PipelineNice       int `json:"pipeline_nice"`
	ServeGOMAXPROCS    int `json:"serve_gomaxprocs"`
	PipelineGOMAXPROCS int `json:"pipeline_gomaxprocs"`
}

type config struct {
	bin, python, data, out, stateDir    string
	brokers, championTopic              string
	historyStart, historyEnd, streamEnd string
	streamRate, rate                    float64
	conns, trees, depth, trainRows      int
	pipelineNice, pipelineProcs         int
	modelCache                          string
	trainOnly                           bool
	warmup, duration, readyFor, train   time.Duration
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-predict-live:", err)
		os.Exit(1)
	}
}

func run() error {
	var c config
	flag.StringVar(&c.bin, "bin", "bin/storecast", "the storecast binary")
	flag.StringVar(&c.python, "python", "trainer/.venv/bin/python", "the trainer's Python (runs train_large.py)")
	flag.StringVar(&c.data, "data", envOr("STORECAST_DATA_DIR", "../shared/data/rossmann"), "folder of train.csv and store.csv")
	flag.StringVar(&c.out, "out", "bench/results/predict_live.json", "result file")
	flag.StringVar(&c.stateDir, "state-dir", envOr("STORECAST_STATE_DIR", ".state"), "the stack's state folder (which services run)")
	flag.StringVar(&c.brokers, "brokers", envOr("STORECAST_BROKERS", "127.0.0.1:9092"), "Kafka bootstrap brokers")
	flag.StringVar(&c.championTopic, "champion-models-topic", "", "models topic to copy the served champion from (read only; empty: no champion figures)")
	flag.StringVar(&c.historyStart, "history-start", "", "first day replayed (empty: the data's first)")
	flag.StringVar(&c.historyEnd, "history-end", "2014-12-31", "last day replayed before measuring")
	flag.StringVar(&c.streamEnd, "stream-end", "2015-06-19", "last day streamed while measuring")
	flag.Float64Var(&c.streamRate, "stream-rate", 1300, "sales streamed per second while measuring (one day of every store per second is 1,115)")
	flag.Float64Var(&c.rate, "rate", 5000, "open-loop request rate (the target)")
	flag.IntVar(&c.conns, "c", 64, "connections")
	flag.IntVar(&c.trees, "trees", 500, "boosting rounds of the large model")
	flag.IntVar(&c.depth, "depth", 10, "max depth of the large model's trees")
	flag.IntVar(&c.trainRows, "train-rows", 30_000, "the large model trains on the latest this many examples (bounds the time; serving cost depends on trees and depth)")
	flag.StringVar(&c.modelCache, "model-cache", filepath.Join(envOr("STORECAST_STATE_DIR", ".state"), "bench-predict-live"),
		"folder keeping trained large models (by trees, depth, rows and feature schema) for the next run; empty: always train")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured load before each measurement")
	flag.DurationVar(&c.duration, "d", 10*time.Second, "each measurement's duration")
	flag.DurationVar(&c.readyFor, "ready-timeout", 5*time.Minute, "how long to wait for each server")
	flag.DurationVar(&c.train, "train-timeout", 40*time.Minute, "how long the large model's training may take")
	flag.IntVar(&c.pipelineNice, "pipeline-nice", 10, "niceness added to the bench's own for its process, sink and producers (nice -n), so storecast serve wins the CPU; 0: same priority")
	flag.IntVar(&c.pipelineProcs, "pipeline-gomaxprocs", 1, "GOMAXPROCS of the bench's process, sink and producers (storecast serve keeps every core); 0: the Go default")
	flag.BoolVar(&c.trainOnly, "train-only", false, "stop after training the large model into -model-cache (a later run reuses it)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	b := &bench{c: c, log: log, kc: kafka.Config{Brokers: kafka.ParseBrokers(c.brokers), ClientID: "storecast-bench-predict-live"}}
	b.sandbox = benchkit.New(b.kc, "predict-live", log)
	defer b.sandbox.Close()
	defer b.stopAll()
	res, err := b.run(ctx)
	if errors.Is(err, errTrainOnly) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
		return err
	}
	out, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(c.out, append(out, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s\n%s\n", c.out, out)
	return nil
}

// errTrainOnly ends a -train-only run after the training.
var errTrainOnly = errors.New("train only")

type bench struct {
	c       config
	log     *slog.Logger
	kc      kafka.Config
	sandbox *benchkit.Sandbox
	tmp     string
	procs   []*service
	stream  *service
	asOf    atomic.Int64 // latest as-of day any answer carried (topics.Date)
	seq     atomic.Uint64
}

// pipelineCommand runs bin with args at niceness nice above the bench's own
// (through nice(1), so every thread of the Go runtime has it) and with
// GOMAXPROCS procs (0: the Go default).
func pipelineCommand(bin string, nice, procs int, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	if nice != 0 {
		cmd = exec.Command("nice", append([]string{"-n", strconv.Itoa(nice), bin}, args...)...)
	}
	if procs > 0 {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(procs))
	}
	return cmd
}

// service is a subprocess of the benchmark with its log file.
type service struct {
	name, log string
	cmd       *exec.Cmd
	done      chan struct{}
	err       error
}

func (b *bench) start(name string, args ...string) (*service, error) {
	logPath := filepath.Join(b.tmp, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := pipelineCommand(b.c.bin, b.c.pipelineNice, b.c.pipelineProcs, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &service{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { s.err = cmd.Wait(); _ = f.Close(); close(s.done) }()
	b.procs = append(b.procs, s)
	fmt.Printf("started %s (log %s)\n", name, logPath)
	return s, nil
}

func (s *service) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func (b *bench) stopAll() {
	for i := len(b.procs) - 1; i >= 0; i-- {
		b.procs[i].stop()
	}
}

// logErrors counts the ERROR lines of a service's log.
func (s *service) logErrors() int64 {
	data, err := os.ReadFile(s.log)
	if err != nil {
		return -1
	}
	return int64(bytes.Count(data, []byte("level=ERROR")))
}

func (b *bench) run(ctx context.Context) (*result, error) {
	var err error
	if b.tmp, err = os.MkdirTemp("", "bench-predict-live-*"); err != nil {
		return nil, err
	}
	names := b.sandbox.Names
	suffix := b.sandbox.Suffix
	if err := b.sandbox.CreateTopics(ctx); err != nil {
		return nil, err
	}
	if err := b.bigModels(string(names.Models)); err != nil {
		return nil, err
	}
	admin := os.Getenv("STORECAST_PG_ADMIN_DSN")
	if admin == "" {
		return nil, errors.New("STORECAST_PG_ADMIN_DSN is not set (run `make services`, or source .state/env)")
	}
	dsn, err := b.sandbox.Database(ctx, admin)
	if err != nil {
		return nil, err
	}
	train, store := filepath.Join(b.c.data, "train.csv"), filepath.Join(b.c.data, "store.csv")

	// 1-2. History, processors, sink.
	t0 := time.Now()
	histArgs := []string{"produce", "--train", train, "--store", store, "--end", b.c.historyEnd,
		"--names-suffix", suffix, "--no-create-topics", "--metrics-addr", ""}
	if b.c.historyStart != "" {
		histArgs = append(histArgs, "--start", b.c.historyStart)
	}
	hist, err := b.start("produce-history", histArgs...)
	if err != nil {
		return nil, err
	}
	<-hist.done
	if hist.err != nil {
		return nil, fmt.Errorf("replay history: %w (log %s)", hist.err, hist.log)
	}
	fmt.Printf("replayed the history through %s in %s\n", b.c.historyEnd, time.Since(t0).Round(time.Second))
	procAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	proc, err := b.start("process", "process", "--only", "features,forecast", "--names-suffix", suffix,
		"--storage-dir", filepath.Join(b.tmp, "goka"), "--metrics-addr", procAddr)
	if err != nil {
		return nil, err
	}
	sinkAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	sink, err := b.start("sink", "sink", "run", "--pg-dsn", dsn, "--names-suffix", suffix, "--metrics-addr", sinkAddr)
	if err != nil {
		return nil, err
	}
	procBase := "http://" + procAddr
	if err := b.waitCaughtUp(ctx, procBase, string(names.FeaturesGroup), 30*time.Minute); err != nil {
		return nil, err
	}
	fmt.Printf("features caught up at %s\n", time.Since(t0).Round(time.Second))

	// 3. The large model.
	res := &result{OpenLoopRPS: b.c.rate, Large: map[string]figures{}, Champion: map[string]figures{}, ServerErrors: map[string]int64{},
		LoadAverage: []string{benchkit.LoadAverage()}}
	large, err := b.trainLarge(ctx, string(names.TrainingExamples), res)
	if err != nil {
		return nil, err
	}
	if res.Trees, res.MaxDepth, err = benchkit.ModelShape(large.Artifact); err != nil {
		return nil, err
	}
	if b.c.trainOnly {
		fmt.Printf("the large model (%d trees, max depth %d) is in %s\n", res.Trees, res.MaxDepth, b.c.modelCache)
		return nil, errTrainOnly
	}
	large.Name = "storecast-sales-" + suffix
	var champion *topics.ModelEvent
	if b.c.championTopic != "" {
		if champion, err = benchkit.LatestModel(ctx, b.kc, b.c.championTopic, "storecast-sales"); err != nil {
			return nil, err
		}
		if champion != nil && champion.FeatureSchema != large.FeatureSchema {
			// A champion of another feature recipe is refused by this
			// build's serve: no champion figures, and the record says why.
			res.ChampionSkipped = fmt.Sprintf("the champion %s has feature schema %q, this build serves %q",
				champion.Version, champion.FeatureSchema, large.FeatureSchema)
			fmt.Println("bench-predict-live: skipping the champion:", res.ChampionSkipped)
			champion = nil
		}
		if champion != nil {
			champion.Name = "storecast-sales-" + suffix
			champion.Version = "champion-" + champion.Version
			if res.ChampionTree.Trees, res.ChampionTree.MaxDepth, err = benchkit.ModelShape(champion.Artifact); err != nil {
				return nil, err
			}
		}
	}

	// 4. Stream the rest while measuring.
	streamFrom, err := time.Parse("2006-01-02", b.c.historyEnd)
	if err != nil {
		return nil, fmt.Errorf("-history-end: %w", err)
	}
	if err := b.publish(ctx, string(names.Models), large); err != nil {
		return nil, err
	}
	if b.stream, err = b.start("produce-stream", "produce", "--train", train, "--store", store,
		"--start", streamFrom.AddDate(0, 0, 1).Format("2006-01-02"), "--end", b.c.streamEnd,
		"--rate", strconv.FormatFloat(b.c.streamRate, 'f', 0, 64),
		"--names-suffix", suffix, "--no-create-topics", "--metrics-addr", ""); err != nil {
		return nil, err
	}

	// 5. Cache on: large model, then the champion; cache off: the champion
	// (the last model on the topic), then the large model again.
	for _, cache := range []string{"cache_on", "cache_off"} {
		extra := []string{"--names-suffix", suffix}
		debug, err := freeAddr()
		if err != nil {
			return nil, err
		}
		extra = append(extra, "--debug-addr", debug)
		if cache == "cache_off" {
			extra = append(extra, "--cache-size", "0")
		}
		addr, stopServe, err := benchkit.StartServe(ctx, b.c.bin, "bench-predict-live", string(names.ForecastResults), extra...)
		if err != nil {
			return nil, err
		}
		base := "http://" + addr
		order := []*topics.ModelEvent{large, champion}
		if cache == "cache_off" {
			order = []*topics.ModelEvent{champion, large}
			large.Version += "-again"
		}
		for i, m := range order {
			if m == nil {
				continue
			}
			if i > 0 || cache == "cache_off" && m == large {
				if err := b.publish(ctx, string(names.Models), m); err != nil {
					stopServe()
					return nil, err
				}
			}
			if err := b.waitModel(ctx, base, m.Version); err != nil {
				stopServe()
				return nil, err
			}
			profile := m == large && cache == "cache_on"
			f, top, err := b.measure(ctx, base, "http://"+debug, procBase, string(names.Sales), profile)
			if err != nil {
				stopServe()
				return nil, err
			}
			f.ModelVersion = m.Version
			if m == large {
				res.Large[cache] = *f
			} else {
				res.Champion[cache] = *f
			}
			if profile {
				res.ProfileTop = top
			}
		}
		drops, _ := benchkit.Scrape(ctx, base, "storecast_forecast_log_dropped_total", "storecast_forecast_log_refused_total")
		res.ServerErrors["serve_"+cache+"_forecast_log_dropped_or_refused"] = int64(drops["storecast_forecast_log_dropped_total"] + drops["storecast_forecast_log_refused_total"])
		stopServe()
	}

	// 6. The record.
	on := res.Large["cache_on"]
	res.RPS, res.P50ms, res.P99ms, res.P999ms = on.RPS, on.P50ms, on.P99ms, on.P999ms
	res.CacheHitRate, res.IngestEventsPerS = on.CacheHitRate, on.IngestEventsPerS
	for _, fs := range []map[string]figures{res.Large, res.Champion} {
		for _, f := range fs {
			res.Errors += f.Errors
		}
	}
	for _, s := range []*service{proc, sink, b.stream} {
		select {
		case <-s.done:
			if s != b.stream || s.err != nil {
				res.ServerErrors[s.name+"_exited"] = 1
				res.Errors++
			}
		default:
		}
		res.ServerErrors[s.name+"_log_errors"] = s.logErrors()
	}
	res.Services = benchkit.Services(b.c.stateDir, "bench: kafka (shared broker, sandbox topics)", "bench: postgresql (own database)",
		"bench: storecast process (features, forecast)", "bench: storecast sink", "bench: storecast serve",
		fmt.Sprintf("bench: storecast produce (%.0f sales/s)", b.c.streamRate))
	res.Targets = fmt.Sprintf("at %.0f requests/s open loop: p99_ms <= 10 and errors = 0, with ingest_events_per_s >= 1115 and the features group keeping up", b.c.rate)
	res.CPUs, res.At = runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339)
	res.LoadAverage = append(res.LoadAverage, benchkit.LoadAverage())
	res.Scheduling = scheduling{ServeNice: niceness(), PipelineNice: niceness() + b.c.pipelineNice,
		ServeGOMAXPROCS: runtime.NumCPU(), PipelineGOMAXPROCS: b.c.pipelineProcs}
	if res.Scheduling.PipelineGOMAXPROCS == 0 {
		res.Scheduling.PipelineGOMAXPROCS = runtime.NumCPU()
	}
	res.Note = "The whole pipeline on this machine's cores, with other engineers' work running. Top-level keys: the large model " +
		"(trees x max_depth, trained by train_large.py on the sandbox's examples), prediction cache on; large_model/champion hold " +
		"each model with the cache on and off. rps: closed loop at the connection count; p50/p99/p999: open loop at open_loop_rps, " +
		"timed from each request's scheduled start. Requests: uniform over 1,115 stores x horizons 3..48 after the as-of day the " +
		"server last answered (the as-of day moves one day per second with the stream; 1..2 would turn 400 when it moves between " +
		"two answers) x promo x state holiday x school holiday. cache_hit_rate: cache hits / predictions over both loops. " +
		"ingest_events_per_s: sales appended to the sandbox's sales topic per second during the loops; features_lag_at_end: the " +
		"features group's lag right after. past_date_400: requests answered 400 naming date because the as-of day jumped past " +
		"the drawn day while they were on their way (correct answers, not errors). ready_probes/ready_non_200: GET /ready every 30 ms during the loops. errors: non-200 answers of every measurement plus any bench service that died; " +
		"server_errors: per service. profile_top: the serve CPU profile during the large model's open loop (go tool pprof -top). " +
		"scheduling: niceness and GOMAXPROCS of storecast serve and of the pipeline beside it (process, sink, producers; " +
		"-pipeline-nice, -pipeline-gomaxprocs), so serve wins the CPU; Kafka and PostgreSQL are the shared stack's."
	return res, nil
}

// bigModels lets the sandbox's models topic take large inline artifacts.
func (b *bench) bigModels(topic string) error {
	admin, err := sarama.NewClusterAdmin(b.kc.Brokers, b.kc.Sarama())
	if err != nil {
		return fmt.Errorf("cluster admin: %w", err)
	}
	defer admin.Close()
	v := strconv.Itoa(64 << 20)
	if err := admin.AlterConfig(sarama.TopicResource, topic, map[string]*string{"max.message.bytes": &v}, false); err != nil {
		return fmt.Errorf("models topic max.message.bytes: %w", err)
	}
	return nil
}

// waitCaughtUp polls the processor's lag metric for group until it is 0
// on two polls in a row.
func (b *bench) waitCaughtUp(ctx context.Context, procBase, group string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	zero := 0
	for time.Now().Before(deadline) {
		lag, err := b.groupLag(ctx, procBase, group)
		if err == nil && lag == 0 {
			if zero++; zero >= 2 {
				return nil
			}
		} else {
			zero = 0
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("the features group did not catch up within %s", timeout)
}

// groupLag sums storecast_kafka_consumer_group_lag of group on the
// processor's /metrics (an error until the group reports).
func (b *bench) groupLag(ctx context.Context, procBase, group string) (float64, error) {
	lag, found, err := benchkit.ScrapeLabeled(ctx, procBase, "storecast_kafka_consumer_group_lag", "group", group)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("no lag reported for %s yet", group)
	}
	return lag, nil
}

// trainLarge runs train_large.py (or reuses its output from the model
// cache) and returns the model event it yields.
func (b *bench) trainLarge(ctx context.Context, examples string, res *result) (*topics.ModelEvent, error) {
	out := filepath.Join(b.tmp, "large-model.txt")
	var summary []byte
	key := fmt.Sprintf("large-%dx%d-rows%d-%s", b.c.trees, b.c.depth, b.c.trainRows, features.SchemaVersion)
	cachedText, cachedSum := filepath.Join(b.c.modelCache, key+".txt"), filepath.Join(b.c.modelCache, key+".json")
	t0 := time.Now()
	if b.c.modelCache != "" {
		text, err1 := os.ReadFile(cachedText)
		sum, err2 := os.ReadFile(cachedSum)
		if err1 == nil && err2 == nil {
			if err := os.WriteFile(out, text, 0o600); err != nil {
				return nil, err
			}
			summary = sum
			fmt.Printf("reusing the large model %s\n", cachedText)
		}
	}
	if summary == nil {
		ctx, cancel := context.WithTimeout(ctx, b.c.train)
		defer cancel()
		cmd := exec.CommandContext(ctx, b.c.python, "bench/predictlive/train_large.py", "--brokers", b.c.brokers, "--topic", examples,
			"--rounds", strconv.Itoa(b.c.trees), "--depth", strconv.Itoa(b.c.depth), "--max-rows", strconv.Itoa(b.c.trainRows), "--out", out)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("train the large model: %w", err)
		}
		stdout = bytes.TrimSpace(stdout)
		summary = stdout[bytes.LastIndexByte(stdout, '\n')+1:]
		res.TrainSeconds = time.Since(t0).Seconds()
	}
	var sum struct {
		FeatureNames  []string `json:"feature_names"`
		FeatureSchema string   `json:"feature_schema"`
		Rows          int      `json:"rows"`
	}
	if err := json.Unmarshal(summary, &sum); err != nil {
		return nil, fmt.Errorf("train_large.py summary %q: %w", summary, err)
	}
	text, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	if b.c.modelCache != "" && res.TrainSeconds > 0 {
		if err := os.MkdirAll(b.c.modelCache, 0o755); err == nil {
			_ = os.WriteFile(cachedText, text, 0o600)
			_ = os.WriteFile(cachedSum, summary, 0o600)
		}
	}
	res.TrainRows = sum.Rows
	fmt.Printf("the large model: %d examples, %s (%d bytes)\n", sum.Rows, time.Since(t0).Round(time.Second), len(text))
	h := sha256.Sum256(text)
	return &topics.ModelEvent{
		V: topics.ModelEventVersion, Version: fmt.Sprintf("large-%dx%d", b.c.trees, b.c.depth), RunID: "bench-predict-live",
		FeatureNames: sum.FeatureNames, FeatureSchema: sum.FeatureSchema, Format: topics.FormatLightGBMText, Transform: "log1p",
		SHA256: hex.EncodeToString(h[:]), Artifact: text, At: time.Now().UTC(),
	}, nil
}

// publish writes ev to the sandbox's models topic (large messages allowed).
func (b *bench) publish(ctx context.Context, topic string, ev *topics.ModelEvent) error {
	ev.At = time.Now().UTC()
	val, err := topics.ModelEventCodec{}.Encode(ev)
	if err != nil {
		return err
	}
	sc := b.kc.IdempotentProducer(true)
	sc.Producer.MaxMessageBytes = 64 << 20
	sc.Producer.Flush.Frequency, sc.Producer.Flush.Messages, sc.Producer.Flush.Bytes = 0, 0, 0
	p, err := sarama.NewSyncProducer(b.kc.Brokers, sc)
	if err != nil {
		return fmt.Errorf("models producer: %w", err)
	}
	defer p.Close()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(ev.Name), Value: sarama.ByteEncoder(val)}); err != nil {
		return fmt.Errorf("publish model %s %s (%d bytes): %w", ev.Name, ev.Version, len(val), err)
	}
	fmt.Printf("published model %s %s (%d bytes)\n", ev.Name, ev.Version, len(val))
	return ctx.Err()
}

// waitModel waits until the server is ready and answers with version.
func (b *bench) waitModel(ctx context.Context, base, version string) error {
	if err := benchkit.WaitReady(ctx, base, b.c.readyFor); err != nil {
		return err
	}
	deadline := time.Now().Add(b.c.readyFor)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/model/info")
		if err == nil {
			var info struct {
				Version string `json:"version"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&info)
			resp.Body.Close()
			if info.Version == version {
				return b.seedAsOf(ctx, base)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s does not serve model %s after %s", base, version, b.c.readyFor)
}

// seedAsOf learns the server's as-of day from one batch forecast. A server
// that has just started may not answer it yet (its views still catching
// up): it asks again until -ready-timeout.
func (b *bench) seedAsOf(ctx context.Context, base string) error {
	deadline := time.Now().Add(b.c.readyFor)
	for {
		d, err := asOfOnce(ctx, base)
		if err == nil {
			b.noteAsOf(d)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the as-of day of %s after %s: %w", base, b.c.readyFor, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func asOfOnce(ctx context.Context, base string) (topics.Date, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/forecasts", strings.NewReader(`{"store_ids":[1]}`))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("POST /v1/forecasts: %d %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	var out struct {
		AsOf string `json:"as_of"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return 0, fmt.Errorf("as-of: %w", err)
	}
	d, err := topics.ParseDate(out.AsOf)
	if err != nil {
		return 0, fmt.Errorf("as-of %q: %w", out.AsOf, err)
	}
	return d, nil
}

func (b *bench) noteAsOf(d topics.Date) {
	for {
		cur := b.asOf.Load()
		if int64(d) <= cur || b.asOf.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

var (
	asOfKey   = []byte(`"as_of":"`)
	dateField = []byte(`"field":"date"`)
)

// onBody tracks the as-of day the answers carry. A 400 naming "date" is a
// correct answer: the as-of day jumped past the drawn day while the request
// was on its way (it moves in steps of up to the features group's lag).
func (b *bench) onBody(status int, body []byte) bool {
	if status == http.StatusBadRequest && bytes.Contains(body, dateField) {
		return true
	}
	if status != http.StatusOK {
		return false
	}
	i := bytes.Index(body, asOfKey)
	if i < 0 || len(body) < i+len(asOfKey)+10 {
		return false
	}
	if d, err := topics.ParseDate(string(body[i+len(asOfKey) : i+len(asOfKey)+10])); err == nil {
		b.noteAsOf(d)
	}
	return false
}

var holidays = [...]string{"0", "a", "b", "c"}

// request appends one POST /predict drawn uniformly from every store ×
// horizons 3..48 × promo × state holiday × school holiday.
func (b *bench) request(host string) func(buf []byte, _ int) []byte {
	return func(buf []byte, _ int) []byte {
		x := splitmix(b.seq.Add(1))
		store := 1 + int(x%1115)
		x /= 1115
		h := 3 + int(x%46)
		x /= 46
		promo, school := int(x&1), int(x>>1&1)
		hol := holidays[x>>2&3]
		day := topics.Date(b.asOf.Load()) + topics.Date(h)
		var body [160]byte
		bb := append(body[:0], `{"store_id":`...)
		bb = strconv.AppendInt(bb, int64(store), 10)
		bb = append(bb, `,"date":"`...)
		bb = append(bb, day.String()...)
		bb = append(bb, `","promo":`...)
		bb = strconv.AppendInt(bb, int64(promo), 10)
		bb = append(bb, `,"stateholiday":"`...)
		bb = append(bb, hol...)
		bb = append(bb, `","schoolholiday":`...)
		bb = strconv.AppendInt(bb, int64(school), 10)
		bb = append(bb, '}')
		buf = append(buf, "POST /predict HTTP/1.1\r\nHost: "...)
		buf = append(buf, host...)
		buf = append(buf, "\r\nContent-Type: application/json\r\nContent-Length: "...)
		buf = strconv.AppendInt(buf, int64(len(bb)), 10)
		buf = append(buf, "\r\n\r\n"...)
		return append(buf, bb...)
	}
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// measure runs the closed and the open loop on base and returns the
// figures (and, with profile, the serve CPU profile's top entries).
func (b *bench) measure(ctx context.Context, base, debugBase, procBase, sales string, profile bool) (*figures, []string, error) {
	host := strings.TrimPrefix(base, "http://")
	before, err := benchkit.ScrapeCache(ctx, base)
	if err != nil {
		return nil, nil, err
	}
	hw0, err := benchkit.HighWatermarks(b.kc, sales)
	if err != nil {
		return nil, nil, err
	}
	t0 := time.Now()
	probeCtx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	var probes, non200 atomic.Int64
	var probing sync.WaitGroup
	probing.Go(func() { b.probeReady(probeCtx, base, &probes, &non200) })
	ld := benchkit.Load{Host: host, Conns: b.c.conns, Warmup: b.c.warmup, Duration: b.c.duration, Request: b.request(host), Body: b.onBody}
	closed, err := ld.Run(ctx)
	if err != nil {
		return nil, nil, err
	}
	ld.Rate = b.c.rate
	var top []string
	var wg sync.WaitGroup
	if profile {
		wg.Go(func() { top = b.profile(ctx, debugBase, b.c.warmup+b.c.duration-time.Second) })
	}
	open, err := ld.Run(ctx)
	wg.Wait()
	stopProbes()
	probing.Wait()
	if err != nil {
		return nil, nil, err
	}
	elapsed := time.Since(t0)
	hw1, err := benchkit.HighWatermarks(b.kc, sales)
	if err != nil {
		return nil, nil, err
	}
	after, err := benchkit.ScrapeCache(ctx, base)
	if err != nil {
		return nil, nil, err
	}
	lag, _ := b.groupLag(ctx, procBase, string(b.sandbox.Names.FeaturesGroup))
	f := &figures{
		RPS: closed.RPS(b.c.duration), P50ms: open.Percentile(0.50), P99ms: open.Percentile(0.99), P999ms: open.Percentile(0.999),
		OpenLoopDone: open.RPS(b.c.duration), Errors: closed.Errors + open.Errors, Statuses: map[string]int64{},
		CacheHitRate: after.HitRateSince(before), IngestEventsPerS: float64(hw1-hw0) / elapsed.Seconds(), FeaturesLagEnd: lag,
		ReadyProbes: probes.Load(), ReadyNon200: non200.Load(), PastDate400: closed.Expected + open.Expected,
	}
	for _, r := range []*benchkit.Result{closed, open} {
		for s, n := range r.Statuses {
			f.Statuses[strconv.Itoa(s)] += n
		}
	}
	fmt.Printf("%s: closed %.0f rps; open at %.0f rps: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms; errors %d; cache hit rate %.3f; ingest %.0f events/s, features lag %.0f; /ready %d of %d not 200\n",
		base, f.RPS, b.c.rate, f.P50ms, f.P99ms, f.P999ms, f.Errors, f.CacheHitRate, f.IngestEventsPerS, f.FeaturesLagEnd, f.ReadyNon200, f.ReadyProbes)
	return f, top, nil
}

// probeReady asks base/ready every 30 ms until ctx is done (what an
// orchestrator does under load) and counts the answers that are not 200.
func (b *bench) probeReady(ctx context.Context, base string, probes, non200 *atomic.Int64) {
	t := time.NewTicker(30 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/ready", nil)
		if err != nil {
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if ctx.Err() != nil {
			return
		}
		probes.Add(1)
		if err != nil {
			non200.Add(1)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			non200.Add(1)
		}
	}
}

// profile takes a CPU profile of the server for d and returns `go tool
// pprof -top`'s first entries (the error text when it fails).
func (b *bench) profile(ctx context.Context, debugBase string, d time.Duration) []string {
	secs := max(int(d.Seconds()), 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", debugBase, secs), nil)
	if err != nil {
		return []string{err.Error()}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return []string{err.Error()}
	}
	defer resp.Body.Close()
	path := filepath.Join(b.tmp, "serve-cpu.pprof")
	data, err := io.ReadAll(resp.Body)
	if err == nil {
		err = os.WriteFile(path, data, 0o600)
	}
	if err != nil {
		return []string{err.Error()}
	}
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=25", b.c.bin, path).CombinedOutput()
	if err != nil {
		return []string{fmt.Sprintf("go tool pprof: %v: %s", err, out)}
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	fmt.Printf("serve CPU profile (saved to %s):\n  %s\n", path, strings.Join(lines, "\n  "))
	return lines
}

// loadAverage is /proc/loadavg (empty where there is none).
func freeAddr() (string, error) {
	p, err := benchkit.FreePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// niceness is this process's nice value (the kernel's getpriority returns
// 20 - nice).
func niceness() int {
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		return 0
	}
	return 20 - p
}
