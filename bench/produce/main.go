// Command produce is the producer benchmark (`make bench-produce`): it
// replays Kaggle's full train.csv (970,379 events) and store.csv into fresh
// topics on the local broker with the same code as `storecast produce`,
// writes bench/results/produce.json and prints a summary. It is a
// measurement, not a test.
package main

import (
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
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/ingest"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

// result is the content of bench/results/produce.json.
type result struct {
	Events          int64   `json:"events"`
	Seconds         float64 `json:"seconds"`
	EventsPerS      float64 `json:"events_per_s"`
	Rejected        int64   `json:"rejected"`
	Stores          int64   `json:"stores"`
	ParseSeconds    float64 `json:"parse_seconds"`
	SendSeconds     float64 `json:"send_seconds"`
	SendEventsPerS  float64 `json:"send_events_per_s"`
	MeanLatencyMS   float64 `json:"mean_send_latency_ms"`
	Compression     string  `json:"compression"`
	Partitions      int32   `json:"partitions"`
	CPUs            int     `json:"cpus"`
	GoVersion       string  `json:"go_version"`
	At              string  `json:"at"`
	Note            string  `json:"note"`
	TargetEventsPer float64 `json:"target_events_per_s"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-produce:", err)
		os.Exit(1)
	}
}

func run() error {
	defaultData := os.Getenv("STORECAST_DATA_DIR")
	if defaultData == "" {
		defaultData = "../shared/data/rossmann"
	}
	brokers := os.Getenv("STORECAST_BROKERS")
	if brokers == "" {
		brokers = "127.0.0.1:9092"
	}
	data := flag.String("data", defaultData, "folder with Kaggle's train.csv and store.csv")
	out := flag.String("out", "bench/results/produce.json", "result file")
	flag.StringVar(&brokers, "brokers", brokers, "Kafka brokers (STORECAST_BROKERS)")
	compression := flag.String("compression", "lz4", "producer compression: none, lz4, zstd, snappy, gzip")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run here")
	keep := flag.Bool("keep", false, "keep the benchmark's topics (deleted by default)")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	// Fresh topics, unique to this run.
	kc := kafka.Config{Brokers: kafka.ParseBrokers(brokers), ClientID: "storecast-bench-produce"}
	names := topics.DefaultNames().WithSuffix(fmt.Sprintf("bench-%d", time.Now().UnixNano()))
	if !*keep {
		// Deferred first: also removes the topics of a failed creation.
		defer deleteTopics(kc, names, log)
	}
	if err := ingest.EnsureTopics(kc, names, log); err != nil {
		return err
	}

	// Read, parse, validate and order the files.
	start := time.Now()
	in, err := ingest.LoadKaggle(ingest.KaggleFiles{Store: filepath.Join(*data, "store.csv"), Train: filepath.Join(*data, "train.csv")})
	if err != nil {
		return err
	}
	parse := time.Since(start)

	// Send.
	sc := ingest.SaramaConfig(kc)
	var codec sarama.CompressionCodec
	if err := codec.UnmarshalText([]byte(*compression)); err != nil {
		return fmt.Errorf("compression %q: %w", *compression, err)
	}
	sc.Producer.Compression = codec
	ap, err := sarama.NewAsyncProducer(kc.Brokers, sc)
	if err != nil {
		return fmt.Errorf("new producer: %w", err)
	}
	reg := prometheus.NewRegistry()
	m, err := ingest.NewMetrics(reg)
	if err != nil {
		return err
	}
	sum, err := ingest.New(ap, ingest.Config{Names: names}, log, m).Run(ctx, in)
	if err != nil {
		return err
	}
	total := time.Since(start)

	res := result{
		Events: sum.Sales, Seconds: round(total.Seconds()), Rejected: sum.Rejected, Stores: sum.Stores,
		ParseSeconds: round(parse.Seconds()), SendSeconds: round(sum.Seconds),
		Compression: *compression, Partitions: topics.Partitions, CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		At:              time.Now().UTC().Format(time.RFC3339),
		Note:            "seconds = read + parse + validate + sort + send until every record is acknowledged (acks=all, idempotent), broker on the same machine; events_per_s = events / seconds",
		TargetEventsPer: 100000,
	}
	res.EventsPerS = round(float64(res.Events) / total.Seconds())
	res.SendEventsPerS = round(sum.EventsPerSecond)
	res.MeanLatencyMS = round(meanLatencyMS(reg))
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o750); err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Printf("bench-produce: %d events (+%d stores, %d rejected) in %.2f s = %.0f events/s (parse %.2f s, send %.2f s = %.0f events/s; %s; mean ack latency %.1f ms) -> %s\n",
		res.Events, res.Stores, res.Rejected, res.Seconds, res.EventsPerS, res.ParseSeconds, res.SendSeconds, res.SendEventsPerS, res.Compression, res.MeanLatencyMS, *out)
	return nil
}

func round(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

// meanLatencyMS reads the send latency histogram's mean.
func meanLatencyMS(g prometheus.Gatherer) float64 {
	mfs, err := g.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() != "storecast_produce_send_latency_seconds" {
			continue
		}
		for _, metric := range mf.GetMetric() {
			h := metric.GetHistogram()
			if h.GetSampleCount() > 0 {
				return h.GetSampleSum() / float64(h.GetSampleCount()) * 1000
			}
		}
	}
	return 0
}

func deleteTopics(kc kafka.Config, n topics.Names, log *slog.Logger) {
	admin, err := sarama.NewClusterAdmin(kc.Brokers, kc.Sarama())
	if err != nil {
		log.Warn("delete bench topics", "err", err)
		return
	}
	defer func() { _ = admin.Close() }()
	for _, t := range []string{string(n.Sales), string(n.SalesDLQ), string(n.StoreInfo), string(n.StoreInfoDLQ)} {
		if err := admin.DeleteTopic(t); err != nil {
			log.Warn("delete bench topic", "topic", t, "err", err)
		}
	}
}
