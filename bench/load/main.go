// Command load runs the locust scenario of this folder (locustfile.py,
// headless, bounded) and writes bench/results/load.json with report.py
// (`make load`). It is a measurement, not a test.
//
// Without -url it starts `storecast serve` itself on free loopback ports,
// against the stack in the environment (its views and served model), with
// every forecast the load asks for logged to a forecast_results topic of
// its own (bench/benchkit), deleted at the end: the user's topics and
// tables see none of it. With -url it loads that server as it is (another
// host: its forecasts are logged there as usual).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/storecast/storecast/bench/benchkit"
	"github.com/storecast/storecast/internal/platform/kafka"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		target   = flag.String("url", "", "forecast API to load as it is (empty: start a sandboxed storecast serve)")
		serve    = flag.String("serve", "bin/storecast", "storecast binary to start as the server (without -url)")
		brokers  = flag.String("brokers", envOr("STORECAST_BROKERS", "127.0.0.1:9092"), "Kafka of the stack (without -url)")
		users    = flag.Int("users", 200, "locust users")
		rate     = flag.Int("spawn-rate", 50, "users started per second")
		duration = flag.String("time", "60s", "how long the load runs (locust's -t)")
		extra    = flag.String("extra-gets", "", "more GET paths, comma-separated ({id}: a store id, {date}: a day the API forecasts)")
		out      = flag.String("out", "bench/results/load.json", "result file")
		venv     = flag.String("venv", "bench/load/.venv", "the locust environment (make load-venv)")
		readyFor = flag.Duration("ready-timeout", 3*time.Minute, "how long the started server gets to answer /ready")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	host, logTopic := *target, "(the server's own)"
	if host == "" {
		sandbox := benchkit.New(kafka.Config{Brokers: kafka.ParseBrokers(*brokers), ClientID: "storecast-bench-load"}, "load",
			slog.New(slog.NewTextHandler(os.Stderr, nil)))
		logTopic = string(sandbox.Names.ForecastResults)
		defer sandbox.Close() // also removes the topics of a failed creation
		if err := sandbox.CreateTopics(ctx, logTopic); err != nil {
			return err
		}
		addr, stopServe, err := benchkit.StartServe(ctx, *serve, "bench-load", logTopic)
		if err != nil {
			return err
		}
		defer stopServe()
		host = "http://" + addr
		if err := benchkit.WaitReady(ctx, host, *readyFor); err != nil {
			return err
		}
	}

	dir, err := os.MkdirTemp("", "bench-load-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	locust := exec.CommandContext(ctx, filepath.Join(*venv, "bin", "locust"), "-f", "bench/load/locustfile.py",
		"--headless", "--only-summary", "--host", host, "-u", strconv.Itoa(*users), "-r", strconv.Itoa(*rate),
		"-t", *duration, "--stop-timeout", "10", "--exit-code-on-error", "0", "--csv", filepath.Join(dir, "load"))
	locust.Env = append(os.Environ(), "STORECAST_LOAD_EXTRA_GETS="+*extra)
	locust.Stdout, locust.Stderr = os.Stdout, os.Stderr
	if err := locust.Run(); err != nil {
		return fmt.Errorf("locust: %w", err)
	}
	report := exec.CommandContext(ctx, filepath.Join(*venv, "bin", "python"), "bench/load/report.py",
		"--stats", filepath.Join(dir, "load_stats.csv"), "--users", strconv.Itoa(*users), "--duration", *duration,
		"--host", host, "--out", *out, "--forecast-log-topic", logTopic,
		"--service", "forecast-api="+host+"/ready",
		"--service", "stack-forecast-api=http://127.0.0.1:4242/ready",
		"--service", "training-api=http://127.0.0.1:4243/health",
		"--service", "process=http://127.0.0.1:9103/metrics",
		"--service", "sink=http://127.0.0.1:9102/readyz",
		"--service", "trainer=http://127.0.0.1:9104/metrics",
		"--service", "dashboard=http://127.0.0.1:8000/")
	report.Stdout, report.Stderr = os.Stdout, os.Stderr
	if err := report.Run(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
