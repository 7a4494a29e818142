package main

import (
	"context"
	"fmt"
	"os"

	"github.com/storecast/storecast/ingest/deadletters"
	"github.com/storecast/storecast/topics"
)

// DLQCmd is `storecast dlq`: the dead-letter topics.
type DLQCmd struct {
	Replay DLQReplayCmd `cmd:"" help:"Send dead letters whose cause is fixed back to their source topic (idempotent; --dry-run shows what it would do)."`
}

// DLQReplayCmd is `storecast dlq replay`.
type DLQReplayCmd struct {
	DryRun      bool   `help:"Decide and print, but send and commit nothing." env:"STORECAST_DLQ_DRY_RUN"`
	NamesSuffix string `help:"Append -SUFFIX to every topic name (tests, benchmarks)." env:"STORECAST_NAMES_SUFFIX"`
}

// Run replays and prints one line per dead letter and a summary.
func (c *DLQReplayCmd) Run(ctx context.Context, g *Globals) error {
	names, group := topics.DefaultNames(), deadletters.Group
	if c.NamesSuffix != "" {
		names, group = names.WithSuffix(c.NamesSuffix), group+"-"+c.NamesSuffix
	}
	sum, err := deadletters.Run(ctx, deadletters.Config{Names: names, Kafka: g.Kafka("dlq"), DryRun: c.DryRun, Group: group}, os.Stdout)
	if err != nil {
		return err
	}
	verb := "replayed"
	if c.DryRun {
		verb = "would replay (dry run)"
	}
	if _, err := fmt.Fprintf(os.Stdout, "dlq: %d dead letters read, %s %d, skipped %d\n", sum.Read, verb, sum.Replayed, sum.Skipped); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}
