package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"golang.org/x/sync/errgroup"

	"github.com/storecast/storecast/ingest"
	"github.com/storecast/storecast/ingest/synth"
	"github.com/storecast/storecast/internal/platform/metrics"
	"github.com/storecast/storecast/topics"
)

// ProduceCmd is `storecast produce`: Kaggle files or the synthetic
// generator into sale_rossman_store and store_info.
type ProduceCmd struct {
	Train string `help:"Kaggle train.csv to replay (needs --store). Without --train and --store the synthetic generator runs." type:"path" env:"STORECAST_TRAIN_FILE"`
	Store string `help:"Kaggle store.csv: store metadata, and the known store ids for validating --train." type:"path" env:"STORECAST_STORE_FILE"`

	Stores int    `help:"Synthetic: number of stores (ids 1..N)." default:"50" env:"STORECAST_STORES"`
	Days   int    `help:"Synthetic: days of history ending --end (ignored when --start is set)." default:"730" env:"STORECAST_DAYS"`
	Start  string `help:"First day YYYY-MM-DD: synthetic window start, or a filter on --train rows." env:"STORECAST_START"`
	End    string `help:"Last day YYYY-MM-DD: synthetic window end (default yesterday), or a filter on --train rows." env:"STORECAST_END"`
	Seed   uint64 `help:"Synthetic: seed; the same seed gives the same data." default:"1" env:"STORECAST_SEED"`

	Rate         float64       `help:"Sales events per second; 0 sends as fast as possible." default:"0" env:"STORECAST_RATE"`
	ShiftToToday bool          `help:"Live demo: re-date history to end yesterday, send it, then one new synthetic day per --interval until stopped." env:"STORECAST_SHIFT_TO_TODAY"`
	Interval     time.Duration `help:"Live demo: pause between new days." default:"10s" env:"STORECAST_INTERVAL"`

	NamesSuffix  string `help:"Append -SUFFIX to every topic name (tests, benchmarks)." env:"STORECAST_NAMES_SUFFIX"`
	CreateTopics bool   `help:"Create missing topics first (as topics init would)." default:"true" negatable:"" env:"STORECAST_CREATE_TOPICS"`
	MetricsAddr  string `help:"Serve /metrics and pprof here; empty disables." default:"127.0.0.1:9101" env:"STORECAST_PRODUCE_METRICS_ADDR"`
}

// Validate checks flag combinations.
func (c *ProduceCmd) Validate() error {
	var errs []error
	if c.Train != "" && c.Store == "" {
		errs = append(errs, errors.New("--train needs --store (its store ids validate the sales)"))
	}
	if c.Rate < 0 {
		errs = append(errs, errors.New("--rate must be >= 0"))
	}
	if c.ShiftToToday && c.Interval <= 0 {
		errs = append(errs, errors.New("--interval must be > 0"))
	}
	return errors.Join(errs...)
}

// Run produces until the input is sent (or, with --shift-to-today, until
// ctx is done).
func (c *ProduceCmd) Run(ctx context.Context, g *Globals) error {
	log := g.log.With("cmd", "produce")
	names := topics.DefaultNames()
	if c.NamesSuffix != "" {
		names = names.WithSuffix(c.NamesSuffix)
	}
	start, end, err := c.window()
	if err != nil {
		return err
	}
	yesterday := topics.DateOf(time.Now()).AddDays(-1)

	// Input: Kaggle files or the generator.
	t0 := time.Now()
	var in ingest.Input
	var gen *synth.Generator
	if c.Store != "" {
		in, err = ingest.LoadKaggle(ingest.KaggleFiles{Store: c.Store, Train: c.Train, From: start, To: end})
		if err != nil {
			return fmt.Errorf("produce: %w", err)
		}
	} else {
		if end == 0 {
			end = yesterday
		}
		if start == 0 {
			start = end.AddDays(-c.Days + 1)
		}
		gen, err = synth.New(synth.Config{Stores: c.Stores, Start: start, End: end, Seed: c.Seed})
		if err != nil {
			return fmt.Errorf("produce: %w", err)
		}
		in = ingest.FromGenerator(gen)
	}
	if c.ShiftToToday {
		if err := ingest.ShiftToToday(&in, yesterday, gen, c.Seed); err != nil {
			return err
		}
	}
	log.Info("input ready", "source", c.source(), "stores", len(in.Stores), "sales", len(in.Sales),
		"rejected", len(in.StoreRejects)+len(in.SaleRejects), "seconds", time.Since(t0).Seconds())

	// Kafka, metrics.
	kc := g.Kafka("produce")
	if err := kc.Validate(); err != nil {
		return err
	}
	if c.CreateTopics {
		if err := ingest.EnsureTopics(kc, names, log); err != nil {
			return err
		}
	}
	reg := metrics.NewRegistry()
	m, err := ingest.NewMetrics(reg)
	if err != nil {
		return err
	}
	ap, err := ingest.NewAsyncProducer(kc)
	if err != nil {
		return err
	}
	cfg := ingest.Config{Names: names, Rate: c.Rate, Interval: c.Interval}
	if isatty.IsTerminal(os.Stderr.Fd()) {
		cfg.Bar = os.Stderr
	}

	// Run the producer; the metrics server stops with it.
	eg, ectx := errgroup.WithContext(ctx)
	mctx, stopMetrics := context.WithCancel(ectx)
	eg.Go(func() error { return metrics.Serve(mctx, log, c.MetricsAddr, metrics.Handler(reg)) })
	var sum ingest.Summary
	eg.Go(func() error {
		defer stopMetrics()
		var err error
		sum, err = ingest.New(ap, cfg, log, m).Run(ectx, in)
		return err
	})
	err = eg.Wait()
	log.Info("produce finished", "sales", sum.Sales, "stores", sum.Stores, "rejected", sum.Rejected,
		"live_days", sum.LiveDays, "seconds", fmt.Sprintf("%.1f", sum.Seconds), "events_per_s", int64(sum.EventsPerSecond))
	fmt.Fprintf(os.Stderr, "produce: sent %d sales and %d stores, rejected %d rows, in %.1f s (%.0f events/s)\n",
		sum.Sales, sum.Stores, sum.Rejected, sum.Seconds, sum.EventsPerSecond)
	return err
}

func (c *ProduceCmd) window() (start, end topics.Date, err error) {
	if c.Start != "" {
		if start, err = topics.ParseDate(c.Start); err != nil {
			return 0, 0, fmt.Errorf("--start: %w", err)
		}
	}
	if c.End != "" {
		if end, err = topics.ParseDate(c.End); err != nil {
			return 0, 0, fmt.Errorf("--end: %w", err)
		}
	}
	if start != 0 && end != 0 && end < start {
		return 0, 0, fmt.Errorf("--end %s is before --start %s", end, start)
	}
	return start, end, nil
}

func (c *ProduceCmd) source() string {
	if c.Store != "" {
		return "kaggle"
	}
	return "synthetic"
}
