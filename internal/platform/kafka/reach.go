package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// Reachable returns a probe (for a background checker such as
// internal/platform/health) that answers nil when a bootstrap broker
// answers a metadata request for topics and every partition of them has a
// leader: Kafka can take what the caller produces there.
//
// Each call opens its own connection and closes it: the probe never shares
// (and never closes) the connection that consumers of a long-lived client
// use, never waits behind their long-polling fetches, and finds a broker
// that came back without any reconnect logic. The context's deadline (2s
// without one) bounds dialing, writing and reading.
func Reachable(cfg Config, topics ...string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		timeout := 2 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			timeout = time.Until(dl)
		}
		if timeout <= 0 {
			return fmt.Errorf("kafka unreachable: %w", context.DeadlineExceeded)
		}
		sc := cfg.Sarama()
		sc.Net.DialTimeout, sc.Net.ReadTimeout, sc.Net.WriteTimeout = timeout, timeout, timeout
		var errs []error
		for _, addr := range cfg.Brokers {
			err := metadataFrom(addr, sc, topics)
			if err == nil {
				return nil
			}
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
		return fmt.Errorf("kafka unreachable: %w", errors.Join(errs...))
	}
}

func metadataFrom(addr string, sc *sarama.Config, topics []string) error {
	b := sarama.NewBroker(addr)
	if err := b.Open(sc); err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	defer b.Close()
	req := sarama.NewMetadataRequest(sc.Version, topics)
	req.AllowAutoTopicCreation = false
	resp, err := b.GetMetadata(req)
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	if len(resp.Brokers) == 0 {
		return fmt.Errorf("%s: no broker in the metadata answer", addr)
	}
	for _, t := range resp.Topics {
		if !errors.Is(t.Err, sarama.ErrNoError) {
			return fmt.Errorf("%s: topic %s: %w", addr, t.Name, t.Err)
		}
		for _, p := range t.Partitions {
			if !errors.Is(p.Err, sarama.ErrNoError) || p.Leader < 0 {
				return fmt.Errorf("%s: %s/%d has no leader: %w", addr, t.Name, p.ID, p.Err)
			}
		}
	}
	return nil
}
