package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// Probe is a readiness probe: nil when a broker of client answers a
// metadata request within the probe's deadline (at most 2s). It only
// refreshes metadata: it must not deregister brokers (sarama's
// RefreshController closes the controller's connection, which on a single
// broker is the one every consumer sharing client reads from).
func Probe(client sarama.Client) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if client.Closed() {
			return errors.New("kafka client closed")
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- client.RefreshMetadata() }()
		select {
		case err := <-errc:
			if err != nil {
				return fmt.Errorf("kafka unreachable: %w", err)
			}
			return nil
		case <-ctx.Done():
			return errors.New("kafka unreachable: no metadata answer within 2s")
		}
	}
}
