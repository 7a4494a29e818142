package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

// TopicsCmd is `storecast topics`: topic creation as code.
type TopicsCmd struct {
	Init     TopicsInitCmd     `cmd:"" help:"Create every missing Storecast topic and report drift on existing ones (idempotent)."`
	List     TopicsListCmd     `cmd:"" help:"List the cluster's topics: partitions, cleanup policy, retention."`
	Checksum TopicsChecksumCmd `cmd:"" help:"Print the sha256 of what compacted topics hold (latest value per key): two loads of the same data print the same."`
}

// TopicsChecksumCmd is `storecast topics checksum`.
type TopicsChecksumCmd struct {
	Topics []string `arg:"" optional:"" help:"Topics to digest (default: training_examples)."`
	JSON   bool     `name:"json" help:"Print one JSON object per topic ({topic, records, keys, sha256}) instead of text."`
}

// Run prints one line per topic: its name, keys, records read, sha256.
func (c *TopicsChecksumCmd) Run(ctx context.Context, g *Globals) error {
	names := c.Topics
	if len(names) == 0 {
		names = []string{string(topics.DefaultNames().TrainingExamples)}
	}
	for _, name := range names {
		d, err := kafka.TopicDigest(ctx, g.Kafka("checksum"), name)
		if err != nil {
			return fmt.Errorf("checksum %s: %w", name, err)
		}
		if err := writeDigest(os.Stdout, d, c.JSON); err != nil {
			return fmt.Errorf("write checksum: %w", err)
		}
	}
	return nil
}

// writeDigest writes d as one line: text (TOPIC keys=N records=N
// sha256=H, what champion.sh reads) or a JSON object.
func writeDigest(w io.Writer, d kafka.Digest, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(d)
	}
	_, err := fmt.Fprintf(w, "%s keys=%d records=%d sha256=%s\n", d.Topic, d.Keys, d.Records, d.SHA256)
	return err
}

// TopicsInitCmd is `storecast topics init`.
type TopicsInitCmd struct {
	Strict  bool          `help:"Exit non-zero when an existing topic differs from its spec." env:"STORECAST_TOPICS_STRICT"`
	Timeout time.Duration `help:"Give up when the broker does not answer within this time." default:"60s" env:"STORECAST_TOPICS_TIMEOUT"`
}

// errDrift is returned by `topics init --strict` when a topic drifted.
var errDrift = errors.New("topics differ from their specs")

// Run creates the topics of topics.DefaultNames().
func (c *TopicsInitCmd) Run(ctx context.Context, g *Globals) error {
	admin, err := newAdmin(ctx, g.Kafka("topics"), c.Timeout)
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close() }()
	return initTopics(admin, specsOf(topics.DefaultNames()), c.Strict, os.Stdout)
}

// specsOf converts the vocabulary's topic specs into the admin's.
func specsOf(n topics.Names) []kafka.TopicSpec {
	specs := n.Specs()
	out := make([]kafka.TopicSpec, 0, len(specs))
	for _, s := range specs {
		out = append(out, kafka.TopicSpec{Name: s.Name, Partitions: s.Partitions, Configs: s.Configs})
	}
	return out
}

// initTopics ensures specs exist and writes what it did to w: one line per
// topic, one per drift, and a summary. With strict, drift is an error.
func initTopics(admin sarama.ClusterAdmin, specs []kafka.TopicSpec, strict bool, w io.Writer) error {
	rep, err := kafka.EnsureTopics(admin, specs)
	if err != nil {
		return fmt.Errorf("ensure topics: %w", err)
	}
	bw := &errWriter{w: w}
	for _, name := range rep.Created {
		bw.printf("created  %s\n", name)
	}
	for _, name := range rep.Existed {
		bw.printf("exists   %s\n", name)
	}
	for _, d := range rep.Drift {
		bw.printf("drift    %s\n", d)
	}
	bw.printf("topics: %d wanted, %d created, %d existed, %d drifted settings\n",
		len(specs), len(rep.Created), len(rep.Existed), len(rep.Drift))
	if bw.err != nil {
		return fmt.Errorf("write report: %w", bw.err)
	}
	if strict && rep.Drifted() {
		return fmt.Errorf("topics init --strict: %w (%d settings; partition changes need re-created topics, config changes kafka-configs --alter)", errDrift, len(rep.Drift))
	}
	return nil
}

// TopicsListCmd is `storecast topics list`.
type TopicsListCmd struct {
	Internal bool          `help:"Include Kafka's internal topics (__consumer_offsets, ...)."`
	Timeout  time.Duration `help:"Give up when the broker does not answer within this time." default:"60s" env:"STORECAST_TOPICS_TIMEOUT"`
}

// Run prints one line per topic.
func (c *TopicsListCmd) Run(ctx context.Context, g *Globals) error {
	admin, err := newAdmin(ctx, g.Kafka("topics"), c.Timeout)
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close() }()
	list, err := kafka.ListTopics(admin, c.Internal)
	if err != nil {
		return err
	}
	return writeTopicList(os.Stdout, list)
}

// writeTopicList writes list as an aligned table.
func writeTopicList(w io.Writer, list []kafka.TopicInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	bw := &errWriter{w: tw}
	bw.printf("NAME\tPARTITIONS\tCLEANUP\tRETENTION\n")
	for _, t := range list {
		cleanup := t.Config("cleanup.policy", "delete")
		ret := retention(t.Config("retention.ms", ""))
		if cleanup == "compact" && t.Config("retention.ms", "") == "" {
			ret = "-" // compact only: the latest value per key stays
		}
		bw.printf("%s\t%d\t%s\t%s\n", t.Name, t.Partitions, cleanup, ret)
	}
	if bw.err != nil {
		return fmt.Errorf("write topic list: %w", bw.err)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write topic list: %w", err)
	}
	return nil
}

// retention renders a retention.ms value for people.
func retention(ms string) string {
	switch ms {
	case "":
		return "broker default"
	case "-1":
		return "forever"
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return ms
	}
	d := time.Duration(n) * time.Millisecond
	if d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// newAdmin connects a cluster admin, retrying until timeout or ctx ends
// (the broker may still be starting).
func newAdmin(ctx context.Context, cfg kafka.Config, timeout time.Duration) (sarama.ClusterAdmin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sc := cfg.Sarama()
	sc.Admin.Timeout = 30 * time.Second
	for {
		admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
		if err == nil {
			return admin, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to kafka at %v: %w", cfg.Brokers, err)
		case <-time.After(time.Second):
		}
	}
}

// errWriter remembers the first write error so a report can be written
// without checking every line.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
