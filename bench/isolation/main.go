// Command isolation proves that `make bench` leaves the user's world as it
// found it. Before the benchmarks, `isolation snapshot` records the user's
// world once it is at rest (two reads -settle apart agree): the high
// watermark of every partition of every user topic (production names and
// any topic that is not a production name with a suffix), the committed
// offsets of every user consumer group, the row counts and largest keys of
// rossman_sales and forecast_results, and the sink's offsets. After them,
// `isolation compare` reads it again and writes bench/results/isolation.json:
// what was compared, what differs, the sandbox topics and databases the run
// left behind, and the services that ran. It exits non-zero when the user's
// world changed or a sandbox was left behind.
//
// It only reads: Kafka metadata, offsets and group offsets, and PostgreSQL
// in a read-only session.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/storecast/storecast/internal/platform/kafka"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench isolation:", err)
		os.Exit(1)
	}
}

// report is bench/results/isolation.json.
type report struct {
	OK                 bool         `json:"ok"`
	UserWorldUnchanged bool         `json:"user_world_unchanged"`
	SandboxesRemoved   bool         `json:"sandboxes_removed"`
	Differences        []Difference `json:"differences"`
	Leftovers          []Difference `json:"leftovers"`
	OtherSandboxes     []Difference `json:"other_new_sandboxes"`
	Benches            []string     `json:"benches"`
	BenchFailures      []string     `json:"bench_failures"`
	Brokers            string       `json:"brokers"`
	Database           string       `json:"database"`
	Before             World        `json:"before"`
	After              World        `json:"after"`
	Note               string       `json:"note"`
}

const note = "before: the user's world at rest before the benchmarks (two reads `settle` apart agreed); after: read " +
	"again when the benchmarks ended. Compared: the high watermark of every partition of every user topic (production " +
	"names and any topic that is not a production name with a suffix), the committed offsets of every user consumer " +
	"group, rows and largest keys of rossman_sales and forecast_results, the sink's offsets. differences: what changed " +
	"(must be empty); leftovers: sandbox topics, groups or databases (names with bench-/bench_) that exist after the run, " +
	"did not before, and carry a creation time between the two reads (must be empty); other_new_sandboxes: new ones " +
	"without such a time (other engineers' or tests' runs on the same broker; reported, not failed). services: the stack's services running (pid files). Nothing else may write to " +
	"the user's topics during the run: a difference names the topic or table, not the writer."

type common struct {
	brokers, dsn, stateDir string
	settle, wait           time.Duration
}

func (c *common) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.brokers, "brokers", envOr("STORECAST_BROKERS", "127.0.0.1:9092"), "Kafka brokers (STORECAST_BROKERS)")
	fs.StringVar(&c.dsn, "pg-dsn", os.Getenv("STORECAST_PG_DSN"), "the user's PostgreSQL database (STORECAST_PG_DSN)")
	fs.StringVar(&c.stateDir, "state-dir", envOr("STORECAST_STATE_DIR", ".state"), "the stack's state folder (which services run)")
	fs.DurationVar(&c.settle, "settle", 15*time.Second, "two reads this far apart must agree for the world to be at rest")
	fs.DurationVar(&c.wait, "wait", 10*time.Minute, "longest wait for the world to come to rest")
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: isolation snapshot -out FILE | isolation compare -before FILE -out FILE")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var c common
	fs := flag.NewFlagSet("isolation "+args[0], flag.ContinueOnError)
	c.flags(fs)
	out := fs.String("out", "", "result file")
	switch args[0] {
	case "snapshot":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		w, err := c.atRest(ctx, log)
		if err != nil {
			return err
		}
		log.Info("the user's world at rest", "topics", len(w.Topics), "groups", len(w.Groups), "tables", w.Tables)
		return writeJSON(*out, w)
	case "compare":
		before := fs.String("before", "", "snapshot written by `isolation snapshot`")
		benches := fs.String("benches", "", "the benchmarks that ran (space-separated, for the report)")
		failed := fs.String("failed", "", "the benchmarks that failed (space-separated, for the report)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		b, err := os.ReadFile(*before)
		if err != nil {
			return fmt.Errorf("read the snapshot: %w", err)
		}
		var r report
		if err := json.Unmarshal(b, &r.Before); err != nil {
			return fmt.Errorf("read the snapshot %s: %w", *before, err)
		}
		// A change still under way (the sink writing rows a bench sent to a
		// user topic) settles first; a world that never settles is compared
		// as the last read found it.
		r.After, err = c.atRest(ctx, log)
		if errors.Is(err, errNotAtRest) {
			log.Warn("comparing a world that is not at rest", "err", err)
		} else if err != nil {
			return err
		}
		r.Differences = compare(r.Before, r.After)
		r.Leftovers, r.OtherSandboxes = leftovers(r.Before, r.After)
		r.UserWorldUnchanged, r.SandboxesRemoved = len(r.Differences) == 0, len(r.Leftovers) == 0
		r.OK = r.UserWorldUnchanged && r.SandboxesRemoved
		r.Benches, r.BenchFailures = strings.Fields(*benches), strings.Fields(*failed)
		r.Brokers, r.Database, r.Note = c.brokers, databaseOf(c.dsn), note
		if err := writeJSON(*out, r); err != nil {
			return err
		}
		for _, d := range append(r.Differences, r.Leftovers...) {
			fmt.Printf("isolation: %s: %s -> %s\n", d.What, d.Before, d.After)
		}
		for _, d := range r.OtherSandboxes {
			fmt.Printf("isolation: not this run's: %s\n", d.What)
		}
		fmt.Printf("isolation: %d user topics, %d groups, tables %v compared: %d differences, %d sandboxes left behind -> %s\n",
			len(r.Before.Topics), len(r.Before.Groups), tableNames(r.Before), len(r.Differences), len(r.Leftovers), *out)
		if !r.OK {
			return errors.New("the benchmarks changed the user's world or left sandboxes behind (see " + *out + ")")
		}
		return nil
	default:
		return fmt.Errorf("unknown subcommand %q (snapshot or compare)", args[0])
	}
}

// atRest reads the world until two reads c.settle apart agree and returns
// the last; after c.wait it returns the last read and errNotAtRest.
func (c common) atRest(ctx context.Context, log *slog.Logger) (World, error) {
	if c.dsn == "" {
		return World{}, errors.New("no PostgreSQL DSN: set STORECAST_PG_DSN (source the stack's env) or pass -pg-dsn")
	}
	kc := kafka.Config{Brokers: kafka.ParseBrokers(c.brokers), ClientID: "storecast-bench-isolation"}
	deadline := time.Now().Add(c.wait)
	prev, err := snapshot(ctx, kc, c.dsn, c.stateDir)
	if err != nil {
		return World{}, err
	}
	for {
		select {
		case <-ctx.Done():
			return World{}, ctx.Err()
		case <-time.After(c.settle):
		}
		cur, err := snapshot(ctx, kc, c.dsn, c.stateDir)
		if err != nil {
			return World{}, err
		}
		d := compare(prev, cur)
		if len(d) == 0 {
			return cur, nil
		}
		if time.Now().After(deadline) {
			return cur, fmt.Errorf("%w after %s: %v", errNotAtRest, c.wait, d)
		}
		log.Info("waiting for the user's world to come to rest", "changing", len(d), "first", d[0].What)
		prev = cur
	}
}

func tableNames(w World) []string {
	var out []string
	for t := range w.Tables {
		out = append(out, t)
	}
	return out
}

func writeJSON(path string, v any) error {
	if path == "" {
		return errors.New("-out is required")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
