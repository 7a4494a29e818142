// Package kafka builds sarama configurations and clients for Storecast's
// components, with one place that decides the protocol version, the
// idempotent-producer settings and timeouts.
package kafka

import (
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// ProtocolVersion is the Kafka protocol version Storecast speaks. Kafka 4.x
// rejects the pre-2.1 versions that goka's default config uses.
var ProtocolVersion = sarama.V3_9_0_0

// Config is what every Kafka client needs to connect.
type Config struct {
	Brokers  []string
	ClientID string
}

// ParseBrokers splits a comma-separated broker list.
func ParseBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// Validate reports a config that cannot connect.
func (c Config) Validate() error {
	if len(c.Brokers) == 0 {
		return fmt.Errorf("kafka: no brokers given")
	}
	return nil
}

// Sarama returns a base sarama config: protocol version, client id and
// timeouts. Producers and consumers refine it.
func (c Config) Sarama() *sarama.Config {
	sc := sarama.NewConfig()
	sc.Version = ProtocolVersion
	sc.ClientID = c.ClientID
	if sc.ClientID == "" {
		sc.ClientID = "storecast"
	}
	sc.Net.DialTimeout = 10 * time.Second
	sc.Metadata.Retry.Max = 10
	sc.Metadata.Retry.Backoff = 500 * time.Millisecond
	return sc
}

// IdempotentProducer returns a config for an idempotent producer
// (acks=all, one in-flight request per broker, retries) that batches for
// throughput and compresses with lz4. Errors and successes are returned on
// the producer's channels when successes is true.
func (c Config) IdempotentProducer(successes bool) *sarama.Config {
	sc := c.Sarama()
	sc.Producer.Idempotent = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Retry.Max = 10
	sc.Producer.Retry.Backoff = 200 * time.Millisecond
	sc.Producer.Return.Errors = true
	sc.Producer.Return.Successes = successes
	sc.Producer.Compression = sarama.CompressionLZ4
	sc.Producer.Flush.Bytes = 1 << 20
	sc.Producer.Flush.Messages = 10000
	sc.Producer.Flush.Frequency = 20 * time.Millisecond
	sc.Producer.MaxMessageBytes = 16 << 20
	sc.ChannelBufferSize = 8192
	return sc
}
