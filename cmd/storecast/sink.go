package main

import (
	"context"
	"net/url"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/platform/metrics"
	"github.com/storecast/storecast/sink"
	"github.com/storecast/storecast/topics"
)

// SinkCmd is `storecast sink`: `storecast sink [run]` consumes into
// PostgreSQL, `storecast sink migrate` applies the schema and exits.
type SinkCmd struct {
	Run     SinkRunCmd     `cmd:"" default:"withargs" help:"Consume sales and forecast results into PostgreSQL (the default)."`
	Migrate SinkMigrateCmd `cmd:"" help:"Apply the sink's embedded schema migrations and exit."`
}

// SinkPG is the PostgreSQL connection both sink commands use.
type SinkPG struct {
	PGDSN string `name:"pg-dsn" help:"PostgreSQL connection string (URL or key=value)." required:"" env:"STORECAST_PG_DSN"`
}

// SinkRunCmd is `storecast sink run`.
type SinkRunCmd struct {
	SinkPG

	Writers      int           `help:"PostgreSQL connections writing in parallel (partition p goes to connection p % N)." default:"2" env:"STORECAST_SINK_WRITERS"`
	BatchRows    int           `help:"Close a batch at this many records." default:"20000" env:"STORECAST_SINK_BATCH_ROWS"`
	BatchWait    time.Duration `help:"Close a batch this long after its first record." default:"200ms" env:"STORECAST_SINK_BATCH_WAIT"`
	FlushTimeout time.Duration `help:"On shutdown or rebalance, give the last batch this long to be written." default:"15s" env:"STORECAST_SINK_FLUSH_TIMEOUT"`
	RetryMax     time.Duration `help:"Cap of the exponential backoff while PostgreSQL or Kafka fail." default:"5s" env:"STORECAST_SINK_RETRY_MAX"`
	Migrate      bool          `help:"Apply pending migrations before consuming (needs a role that owns the schema; with nothing pending storecast_sink suffices)." default:"true" negatable:"" env:"STORECAST_SINK_MIGRATE"`
	MetricsAddr  string        `help:"Serve /healthz, /readyz, /metrics and pprof here; empty disables." default:"127.0.0.1:9102" env:"STORECAST_SINK_METRICS_ADDR"`
	NamesSuffix  string        `help:"Append -SUFFIX to every topic and group name (tests, benchmarks)." env:"STORECAST_NAMES_SUFFIX"`
}

// Run runs the sink until ctx is done, then flushes and returns.
func (c *SinkRunCmd) Run(ctx context.Context, g *Globals) error {
	log := g.log.With("cmd", "sink")
	names := topics.DefaultNames()
	if c.NamesSuffix != "" {
		names = names.WithSuffix(c.NamesSuffix)
	}
	cfg := sink.Config{
		Kafka:        g.Kafka("sink"),
		Names:        names,
		PGDSN:        c.PGDSN,
		Writers:      c.Writers,
		BatchRows:    c.BatchRows,
		BatchWait:    c.BatchWait,
		FlushTimeout: c.FlushTimeout,
		RetryMax:     c.RetryMax,
		Migrate:      c.Migrate,
	}
	log.Info("sink config", "brokers", g.Brokers, "pg", sinkSafeDSN(c.PGDSN), "writers", c.Writers, "batch_rows", c.BatchRows,
		"batch_wait", c.BatchWait, "flush_timeout", c.FlushTimeout, "retry_max", c.RetryMax,
		"migrate", c.Migrate, "metrics_addr", c.MetricsAddr, "names_suffix", c.NamesSuffix)

	reg := g.Registry(log)
	s, err := sink.New(cfg, log, reg)
	if err != nil {
		return err
	}
	lag := kafka.NewGroupLag(g.Kafka("sink"), log,
		kafka.GroupTopics{Group: names.SinkGroup, Topics: []string{string(names.Sales), string(names.ForecastResults)}})
	defer lag.Close()
	reg.MustRegister(lag)
	grp, gctx := errgroup.WithContext(ctx)
	grp.Go(func() error { return metrics.Serve(gctx, log, c.MetricsAddr, s.Handler(reg)) })
	grp.Go(func() error { return s.Run(gctx) })
	return grp.Wait()
}

// SinkMigrateCmd is `storecast sink migrate`.
type SinkMigrateCmd struct {
	SinkPG
}

// Run applies pending migrations.
func (c *SinkMigrateCmd) Run(ctx context.Context, g *Globals) error {
	v, err := sink.Migrate(ctx, c.PGDSN, g.log.With("cmd", "sink migrate"))
	if err != nil {
		return err
	}
	g.log.Info("sink schema up to date", "version", v, "pg", sinkSafeDSN(c.PGDSN))
	return nil
}

// sinkSafeDSN hides the password of a URL DSN for logs; key=value DSNs are
// not logged.
func sinkSafeDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "(key=value dsn)"
	}
	return u.Redacted()
}
