// Command storecast is Storecast's one binary. Each subcommand runs one
// component (produce, process, sink, serve, topics, ...); `storecast
// COMMAND --help` lists its flags and their environment twins.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/platform/logging"
	"github.com/storecast/storecast/internal/platform/metrics"
	"github.com/storecast/storecast/internal/platform/supervise"
	"github.com/storecast/storecast/mlflow"
	"github.com/storecast/storecast/model"
)

// Globals are the flags every subcommand shares.
type Globals struct {
	Brokers      string        `help:"Kafka bootstrap brokers, comma-separated." default:"127.0.0.1:9092" env:"STORECAST_BROKERS"`
	LogLevel     string        `help:"Log level: debug, info, warn, error." default:"info" env:"STORECAST_LOG_LEVEL"`
	LogFormat    string        `help:"Log format: text or json." default:"text" env:"STORECAST_LOG_FORMAT" enum:"text,json"`
	Restarts     int           `help:"Times a process supervisor restarted this command (deploy/local/supervise.sh sets it; exported as storecast_supervisor_restarts_total)." default:"0" env:"STORECAST_RESTARTS"`
	MLflowURI    string        `name:"mlflow-tracking-uri" help:"MLflow tracking server (serving artifacts): serve and process fetch model artifacts published by runs:/ URI from it and read the registry's aliases, and serve lists its versions on /v1/models (the dashboard's Models page); empty: no fetching." default:"http://127.0.0.1:5050" env:"STORECAST_MLFLOW_TRACKING_URI"`
	FetchTimeout time.Duration `name:"model-fetch-timeout" help:"Give up fetching one model artifact after this long (the previous model keeps serving)." default:"2m" env:"STORECAST_MODEL_FETCH_TIMEOUT"`

	log *slog.Logger
}

// Kafka returns the Kafka client config for component.
func (g *Globals) Kafka(component string) kafka.Config {
	return kafka.Config{Brokers: kafka.ParseBrokers(g.Brokers), ClientID: "storecast-" + component}
}

// MLflow returns the MLflow client of the tracking server, or nil when no
// tracking URI is set.
func (g *Globals) MLflow(namesSuffix string) (*mlflow.Client, error) {
	if g.MLflowURI == "" {
		return nil, nil
	}
	return mlflow.New(mlflow.Config{TrackingURI: g.MLflowURI, NamesSuffix: namesSuffix, FetchTimeout: g.FetchTimeout})
}

// modelOptions returns the model registry's options: mc fetches the
// artifacts model events name by URI (nil: no tracking server, none).
func modelOptions(mc *mlflow.Client) []model.RegistryOption {
	if mc == nil {
		return nil
	}
	return []model.RegistryOption{model.WithFetcher(mc)}
}

// Registry returns the Prometheus registry of a long-running command: Go
// and process collectors and the supervisor's restart count, which it
// also logs.
func (g *Globals) Registry(log *slog.Logger) *prometheus.Registry {
	reg := metrics.NewRegistry()
	reg.MustRegister(supervise.ProcessRestarts(g.Restarts))
	if g.Restarts > 0 {
		log.Warn("started again by the process supervisor", "restarts", g.Restarts)
	}
	return reg
}

// CLI is the command line: global flags and one field per subcommand.
type CLI struct {
	Globals
	Version kong.VersionFlag `help:"Print the build (commit) and the feature schema its processor writes, and exit."`

	Topics  TopicsCmd  `cmd:"" help:"Create Storecast's Kafka topics and report config drift."`
	Produce ProduceCmd `cmd:"" help:"Stream sales into sale_rossman_store from Kaggle CSV files or the synthetic generator."`
	Process ProcessCmd `cmd:"" help:"Run the Goka processors (per-store features, forecasts)."`
	Sink    SinkCmd    `cmd:"" help:"Materialise sales and forecasts from Kafka into PostgreSQL."`
	Serve   ServeCmd   `cmd:"" help:"Serve the forecast and training APIs, views and dashboard."`
	Health  HealthCmd  `cmd:"" help:"Exit 0 when a URL answers 2xx (container healthchecks)."`
	DLQ     DLQCmd     `cmd:"" name:"dlq" help:"Replay dead letters whose cause is fixed."`
	Golden  GoldenCmd  `cmd:"" help:"Replay a trainer golden set through leaves; fail when leaves and XGBoost disagree."`
}

func main() {
	var cli CLI
	kctx := kong.Parse(&cli,
		kong.Name("storecast"),
		kong.Description("Storecast: event-sourced daily sales forecasts for a retail chain."),
		kong.UsageOnError(),
		kong.Vars{"max_days_ahead": strconv.Itoa(features.DefaultMaxDaysAhead),
			"as_of_quorum": strconv.FormatFloat(features.DefaultAsOfQuorum, 'g', -1, 64), "stale_days": strconv.Itoa(features.DefaultStaleDays),
			"version": version()},
	)
	log, err := logging.New(os.Stderr, logging.Config{Level: cli.LogLevel, Format: cli.LogFormat})
	if err != nil {
		fmt.Fprintln(os.Stderr, "storecast:", err)
		os.Exit(2)
	}
	cli.log = log

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(&cli.Globals); err != nil {
		log.Error("storecast failed", "command", kctx.Command(), "err", err)
		stop()
		os.Exit(1)
	}
}

// version describes the build for --version: the commit it was built from
// (with "+dirty" for uncommitted changes; absent when built with
// -buildvcs=false) and the feature schema of the examples and snapshots
// its processor writes.
func version() string {
	var rev string
	if bi, ok := debug.ReadBuildInfo(); ok {
		var dirty bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && rev != "" {
			rev += "+dirty"
		}
	}
	if rev == "" {
		return "storecast (feature schema " + features.SchemaVersion + ")"
	}
	return fmt.Sprintf("storecast %s (feature schema %s)", rev, features.SchemaVersion)
}
