// Command train is the trainer benchmark (`make bench-train`). It needs
// the training examples of the full shared data, so it prepares them in a
// sandbox of its own (bench/benchkit: topics and groups with the suffix
// "bench-train-<unix nanos>"), which it removes at the end, also when it
// fails or is interrupted:
//
//  1. create the sandbox's topics;
//  2. replay train.csv and store.csv into them with `storecast produce`;
//  3. run the features processor (`storecast process --only features`)
//     until it has consumed every sale, and keep it running so it answers
//     the trainer's feature snapshot requests;
//  4. run `storecast-trainer bench` (the worker's own pipeline, without
//     MLflow or publishing), which writes bench/results/train.json;
//  5. stop the processor, delete the sandbox's topics and groups and the
//     run's folder under -state (processor storage, trainer cache; the
//     processor's log is kept as -state/process.log).
//
// It is a measurement, not a test: it prints the trainer's summary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/bench/benchkit"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-train:", err)
		os.Exit(1)
	}
}

type config struct {
	brokers, data, bin, trainer, out, state string
	end                                     string
	valDays                                 int
	wait                                    time.Duration
	params                                  []string
}

func run() error {
	var c config
	data := os.Getenv("STORECAST_DATA_DIR")
	if data == "" {
		data = "../shared/data/rossmann"
	}
	stateDir := os.Getenv("STORECAST_STATE_DIR")
	if stateDir == "" {
		stateDir = ".state"
	}
	brokers := os.Getenv("STORECAST_BROKERS")
	if brokers == "" {
		brokers = "127.0.0.1:9092"
	}
	flag.StringVar(&c.brokers, "brokers", brokers, "Kafka brokers (STORECAST_BROKERS)")
	flag.StringVar(&c.data, "data", data, "folder with train.csv and store.csv (STORECAST_DATA_DIR)")
	flag.StringVar(&c.bin, "storecast", "bin/storecast", "the storecast binary")
	flag.StringVar(&c.trainer, "trainer", "trainer/.venv/bin/storecast-trainer", "the storecast-trainer entry point")
	flag.StringVar(&c.out, "out", "bench/results/train.json", "result file")
	flag.StringVar(&c.state, "state", filepath.Join(stateDir, "bench-train"), "the processor's log, and the run's processor storage and trainer cache (removed at the end)")
	flag.StringVar(&c.end, "end", "2015-06-19", "last day of the training range")
	flag.IntVar(&c.valDays, "val-days", 43, "validation window length: 43 days is 2015-05-08..2015-06-19 as of 2015-05-07")
	flag.DurationVar(&c.wait, "wait", 30*time.Minute, "longest wait for the processor to catch up")
	flag.Func("param", "training parameter K=V passed to the trainer, e.g. members=2 (repeatable)", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return fmt.Errorf("%q is not K=V", v)
		}
		c.params = append(c.params, v)
		return nil
	})
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	kc := kafka.Config{Brokers: kafka.ParseBrokers(c.brokers), ClientID: "storecast-bench-train"}
	// Registered first, so it runs last: after the processor has stopped.
	sandbox := benchkit.New(kc, "train", log)
	defer sandbox.Close()
	names, suffix := sandbox.Names, sandbox.Suffix
	if err := sandbox.CreateTopics(ctx); err != nil {
		return err
	}
	runDir := filepath.Join(c.state, suffix)
	defer os.RemoveAll(runDir)

	client, err := sarama.NewClient(kc.Brokers, kc.Sarama())
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("kafka admin: %w", err)
	}

	log.Info("replaying the shared data", "topic", names.Sales)
	cmd := exec.CommandContext(ctx, c.bin, "produce", "--train", filepath.Join(c.data, "train.csv"),
		"--store", filepath.Join(c.data, "store.csv"), "--names-suffix", suffix, "--metrics-addr", "")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("produce: %w", err)
	}

	// The features processor: catches up, then answers snapshot requests.
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return err
	}
	plog, err := os.Create(filepath.Join(c.state, "process.log"))
	if err != nil {
		return err
	}
	defer plog.Close()
	proc := exec.Command(c.bin, "process", "--only", "features", "--names-suffix", suffix,
		"--storage-dir", filepath.Join(runDir, "goka"), "--metrics-addr", "")
	proc.Stdout, proc.Stderr = plog, plog
	proc.Env = append(os.Environ(), "STORECAST_BROKERS="+c.brokers)
	if err := proc.Start(); err != nil {
		return fmt.Errorf("start processor: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- proc.Wait() }()
	defer func() {
		_ = proc.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			log.Info("processor stopped", "err", err)
		case <-time.After(60 * time.Second):
			_ = proc.Process.Kill()
			err := <-exited
			log.Info("processor killed", "err", err)
		}
	}()
	t0 := time.Now()
	if err := waitCaughtUp(ctx, client, admin, names, c.wait, exited, log); err != nil {
		return fmt.Errorf("%w (processor log: %s)", err, plog.Name())
	}
	examples, _ := total(client, string(names.TrainingExamples))
	log.Info("processor caught up", "seconds", time.Since(t0).Seconds(), "examples_offsets", examples)

	args := []string{"bench", "--names-suffix", suffix, "--tracking-uri", "", "--end", c.end,
		"--param", fmt.Sprintf("val_days=%d", c.valDays), "--param", "nthread=2", "--out", c.out}
	for _, p := range c.params {
		args = append(args, "--param", p)
	}
	cmd = exec.CommandContext(ctx, c.trainer, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "STORECAST_BROKERS="+c.brokers, "STORECAST_BIN="+c.bin,
		"STORECAST_TRAINER_CACHE_DIR="+filepath.Join(runDir, "trainer-cache"))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("storecast-trainer bench: %w", err)
	}
	return nil
}

// total returns the sum of the high watermarks of topic's partitions.
func total(client sarama.Client, topic string) (int64, error) {
	if err := client.RefreshMetadata(topic); err != nil {
		return 0, fmt.Errorf("metadata %s: %w", topic, err)
	}
	parts, err := client.Partitions(topic)
	if err != nil {
		return 0, fmt.Errorf("partitions %s: %w", topic, err)
	}
	var n int64
	for _, p := range parts {
		hi, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return 0, fmt.Errorf("offset %s/%d: %w", topic, p, err)
		}
		n += hi
	}
	return n, nil
}

// waitCaughtUp polls until the features group has committed every sale
// offset and the examples topic has stopped growing.
func waitCaughtUp(ctx context.Context, client sarama.Client, admin sarama.ClusterAdmin, n topics.Names,
	limit time.Duration, exited <-chan error, log *slog.Logger) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	var lastExamples int64 = -1
	stable := 0
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-exited:
			return fmt.Errorf("the processor exited: %w", err)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return errors.New("the processor did not catch up in time")
		}
		lag, err := groupLag(client, admin, string(n.FeaturesGroup), string(n.Sales))
		if err != nil {
			log.Warn("lag", "err", err)
			continue
		}
		ex, err := total(client, string(n.TrainingExamples))
		if err != nil {
			return err
		}
		if lag == 0 && ex == lastExamples {
			stable++
		} else {
			stable = 0
		}
		lastExamples = ex
		log.Info("waiting for the processor", "sales_lag", lag, "examples_offsets", ex)
		if stable >= 2 {
			return nil
		}
	}
}

// groupLag returns the sum over topic's partitions of high watermark minus
// the group's committed offset (a partition without a commit counts whole).
func groupLag(client sarama.Client, admin sarama.ClusterAdmin, group, topic string) (int64, error) {
	parts, err := client.Partitions(topic)
	if err != nil {
		return 0, err
	}
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: parts})
	if err != nil {
		return 0, fmt.Errorf("group offsets: %w", err)
	}
	var lag int64
	for _, p := range parts {
		hi, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return 0, err
		}
		committed := int64(0)
		if b := resp.GetBlock(topic, p); b != nil && b.Offset >= 0 {
			committed = b.Offset
		}
		lag += hi - committed
	}
	return lag, nil
}
