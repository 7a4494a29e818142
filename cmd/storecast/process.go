package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/platform/metrics"
	"github.com/storecast/storecast/internal/platform/supervise"
	featuresproc "github.com/storecast/storecast/processors/features"
	"github.com/storecast/storecast/topics"
)

// ProcessCmd is `storecast process`: the Goka processors.
type ProcessCmd struct {
	Only         []string `help:"Goka groups to run, comma-separated: features, forecast." default:"features,forecast" sep:"," env:"STORECAST_PROCESS_ONLY"`
	StorageDir   string   `help:"Local copy of the processors' tables (in memory, checkpointed to LevelDB here every 2s); empty keeps them in memory only." default:".state/goka" env:"STORECAST_STORAGE_DIR"`
	HotStandby   bool     `help:"Keep the tables of partitions assigned to other instances warm too." env:"STORECAST_HOT_STANDBY"`
	Compression  string   `help:"Compression of what the processors produce: none, lz4, snappy, zstd, gzip (none: less CPU on processor and broker, more bytes on disk)." default:"none" env:"STORECAST_PROCESS_COMPRESSION"`
	NamesSuffix  string   `help:"Append -SUFFIX to every topic and group name (tests, benchmarks)." env:"STORECAST_NAMES_SUFFIX"`
	MetricsAddr  string   `help:"Serve /metrics and pprof here; empty disables." default:"127.0.0.1:9103" env:"STORECAST_PROCESS_METRICS_ADDR"`
	MaxDaysAhead int      `help:"Dead-letter a sale dated more than this many days after its store's latest day (0: accept any)." default:"${max_days_ahead}" env:"STORECAST_MAX_DAYS_AHEAD"`
}

// processGroup builds one runnable Goka group of `storecast process`.
type processGroup func(c *ProcessCmd, g *Globals, names topics.Names, log *slog.Logger, reg prometheus.Registerer) (interface {
	Run(context.Context) error
}, error)

// processGroups are the groups --only may name. Add a group here.
var processGroups = map[string]processGroup{
	"features": func(c *ProcessCmd, g *Globals, names topics.Names, log *slog.Logger, reg prometheus.Registerer) (interface {
		Run(context.Context) error
	}, error) {
		dir := c.StorageDir
		if dir != "" {
			dir += "/features"
		}
		return featuresproc.New(featuresproc.Config{
			Names: names, Kafka: g.Kafka("features"), StorageDir: dir, HotStandby: c.HotStandby, Compression: c.Compression,
			MaxDaysAhead: c.MaxDaysAhead,
		}, log, reg)
	},
	"forecast": newForecastGroup,
}

// processGroupInputs are the topics each group consumes with committed
// offsets (its goka.Inputs), for the consumer-group lag metric.
var processGroupInputs = map[string]func(topics.Names) kafka.GroupTopics{
	"features": func(n topics.Names) kafka.GroupTopics {
		return kafka.GroupTopics{Group: string(n.FeaturesGroup), Topics: []string{string(n.Sales), string(n.SnapshotRequests)}}
	},
	"forecast": func(n topics.Names) kafka.GroupTopics {
		return kafka.GroupTopics{Group: string(n.ForecastGroup), Topics: []string{string(n.ForecastRequests)}}
	},
}

func processGroupNames() string {
	var out []string
	for n := range processGroups {
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Validate checks that every group named by --only exists.
func (c *ProcessCmd) Validate() error {
	if len(c.Only) == 0 {
		return fmt.Errorf("--only names no group (available: %s)", processGroupNames())
	}
	for _, o := range c.Only {
		if _, ok := processGroups[o]; !ok {
			return fmt.Errorf("--only: unknown group %q (available: %s)", o, processGroupNames())
		}
	}
	return nil
}

// Run runs the selected groups until ctx is done or one fails.
func (c *ProcessCmd) Run(ctx context.Context, g *Globals) error {
	log := g.log.With("cmd", "process")
	names := topics.DefaultNames()
	if c.NamesSuffix != "" {
		names = names.WithSuffix(c.NamesSuffix)
	}
	log.Info("starting", "groups", c.Only, "brokers", g.Brokers, "storage_dir", c.StorageDir, "hot_standby", c.HotStandby, "metrics_addr", c.MetricsAddr)

	reg := g.Registry(log)
	// A group that fails (a lost broker) is rebuilt and run again with a
	// capped backoff instead of ending the process.
	sup, err := supervise.New(supervise.DefaultPolicy, log, reg)
	if err != nil {
		return err
	}
	groups, err := c.groups(g, names, log, reg)
	if err != nil {
		return err
	}
	eg, ctx := errgroup.WithContext(ctx)
	var lagOf []kafka.GroupTopics
	for _, p := range groups {
		eg.Go(func() error { return sup.Run(ctx, p.name, p.Run) })
		if in, ok := processGroupInputs[p.name]; ok {
			lagOf = append(lagOf, in(names))
		}
	}
	lag := kafka.NewGroupLag(g.Kafka("process"), log, lagOf...)
	defer lag.Close()
	reg.MustRegister(lag)
	eg.Go(func() error { return metrics.Serve(ctx, log, c.MetricsAddr, metrics.Handler(reg)) })
	if err := eg.Wait(); err != nil {
		return fmt.Errorf("process: %w", err)
	}
	return nil
}

// namedGroup is a built group and its --only name.
type namedGroup struct {
	name  string
	group any // what the processGroup built (tests look inside)
	Run   func(context.Context) error
}

// groups builds the groups --only selects, registering their metrics on reg.
func (c *ProcessCmd) groups(g *Globals, names topics.Names, log *slog.Logger, reg prometheus.Registerer) ([]namedGroup, error) {
	var out []namedGroup
	for _, name := range slices.Compact(slices.Sorted(slices.Values(c.Only))) {
		p, err := processGroups[name](c, g, names, log.With("group", name), reg)
		if err != nil {
			return nil, fmt.Errorf("process %s: %w", name, err)
		}
		out = append(out, namedGroup{name: name, group: p, Run: p.Run})
	}
	return out, nil
}
