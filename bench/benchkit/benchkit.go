// Package benchkit keeps benchmarks off the user's data: a Sandbox gives a
// benchmark suffixed topic and group names, creates only the topics it
// asks for, its own PostgreSQL databases, and removes all of them in
// Close. bench/isolation_test.go fails on a benchmark that names a
// production topic.
package benchkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

// Sandbox is one benchmark run's names, topics and databases.
type Sandbox struct {
	// Suffix is appended to every name ("bench-<part>-<unix nanos>").
	Suffix string
	// Names are the production names with Suffix.
	Names topics.Names

	kc     kafka.Config
	log    *slog.Logger
	topics []string
	dbs    []string
	admin  string // PostgreSQL admin DSN of the databases
}

// New returns a sandbox for benchmark part (e.g. "predict-live").
func New(kc kafka.Config, part string, log *slog.Logger) *Sandbox {
	suffix := fmt.Sprintf("bench-%s-%d", part, time.Now().UnixNano())
	return &Sandbox{Suffix: suffix, Names: topics.DefaultNames().WithSuffix(suffix), kc: kc, log: log}
}

// CreateTopics creates the sandbox topics named (every topic of Names when
// none is named) with their production specs; Close deletes them.
func (s *Sandbox) CreateTopics(ctx context.Context, only ...string) error {
	admin, err := sarama.NewClusterAdmin(s.kc.Brokers, s.kc.Sarama())
	if err != nil {
		return fmt.Errorf("cluster admin: %w", err)
	}
	defer admin.Close()
	var specs []kafka.TopicSpec
	var want []topics.Spec
	for _, sp := range s.Names.Specs() {
		if len(only) > 0 && !slices.Contains(only, sp.Name) {
			continue
		}
		if !strings.Contains(sp.Name, s.Suffix) {
			return fmt.Errorf("topic %s does not carry the sandbox suffix %s", sp.Name, s.Suffix)
		}
		specs = append(specs, kafka.TopicSpec{Name: sp.Name, Partitions: sp.Partitions, Configs: sp.Configs})
		want = append(want, sp)
	}
	if len(only) > 0 && len(specs) != len(only) {
		return fmt.Errorf("create topics %v: not all are topics of the sandbox", only)
	}
	// Recorded first: Close also removes the ones a failed call created.
	for _, sp := range specs {
		s.topics = append(s.topics, sp.Name)
	}
	if _, err := kafka.EnsureTopics(admin, specs); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	return WaitTopics(ctx, s.kc, want, 10*time.Minute)
}

// Database creates a database of the sandbox with the admin DSN (a role
// that may create databases) and returns its DSN; Close drops it.
func (s *Sandbox) Database(ctx context.Context, adminDSN string) (string, error) {
	name := strings.NewReplacer("-", "_").Replace(s.Suffix)
	u, err := url.Parse(adminDSN)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("STORECAST_PG_ADMIN_DSN must be a postgres:// URL (%w)", err)
	}
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return "", fmt.Errorf("connect admin: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	s.admin = adminDSN
	s.dbs = append(s.dbs, name)
	u.Path = "/" + name
	return u.String(), nil
}

// Close deletes the sandbox's topics, consumer groups and databases. It
// logs what it could not remove and returns the errors joined.
func (s *Sandbox) Close() error {
	var errs []error
	if len(s.topics) > 0 {
		admin, err := sarama.NewClusterAdmin(s.kc.Brokers, s.kc.Sarama())
		if err != nil {
			errs = append(errs, fmt.Errorf("cluster admin: %w", err))
		} else {
			for _, t := range s.topics {
				if err := admin.DeleteTopic(t); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
					errs = append(errs, fmt.Errorf("delete topic %s: %w", t, err))
				}
			}
			for _, g := range []string{string(s.Names.FeaturesGroup), string(s.Names.ForecastGroup), s.Names.SinkGroup} {
				if err := admin.DeleteConsumerGroup(g); err != nil && !errors.Is(err, sarama.ErrGroupIDNotFound) {
					s.log.Debug("delete consumer group", "group", g, "err", err)
				}
			}
			_ = admin.Close()
		}
	}
	if len(s.dbs) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, s.admin)
		if err != nil {
			errs = append(errs, fmt.Errorf("connect admin: %w", err))
		} else {
			for _, db := range s.dbs {
				if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
					errs = append(errs, fmt.Errorf("drop database %s: %w", db, err))
				}
			}
			_ = conn.Close(ctx)
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		s.log.Warn("bench sandbox: cleanup incomplete", "suffix", s.Suffix, "err", err)
	}
	return err
}

// HighWatermarks sums the high watermarks of topic's partitions.
func HighWatermarks(kc kafka.Config, topic string) (int64, error) {
	client, err := sarama.NewClient(kc.Brokers, kc.Sarama())
	if err != nil {
		return 0, err
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, p := range parts {
		o, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return 0, err
		}
		sum += o
	}
	return sum, nil
}

// LoadAverage is the machine's 1, 5 and 15 minute load averages
// ("2.81 2.31 2.78"), or "" where /proc/loadavg cannot be read.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// WaitTopics waits until the broker's metadata shows every partition of
// every topic of specs with a leader, so a producer that starts right
// after the topics were created does not run out of retries on "unknown
// topic or partition" (seen on a loaded machine).
func WaitTopics(ctx context.Context, kc kafka.Config, specs []topics.Spec, timeout time.Duration) error {
	client, err := sarama.NewClient(kc.Brokers, kc.Sarama())
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer client.Close()
	deadline := time.Now().Add(timeout)
	for _, sp := range specs {
		for {
			err := topicReady(client, sp.Name, sp.Partitions)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("topic %s not ready after %s: %w", sp.Name, timeout, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

func topicReady(client sarama.Client, topic string, partitions int32) error {
	if err := client.RefreshMetadata(topic); err != nil {
		return err
	}
	parts, err := client.Partitions(topic)
	if err != nil {
		return err
	}
	if int32(len(parts)) < partitions {
		return fmt.Errorf("%d of %d partitions", len(parts), partitions)
	}
	for _, p := range parts {
		if _, err := client.Leader(topic, p); err != nil {
			return fmt.Errorf("partition %d: %w", p, err)
		}
	}
	return nil
}
