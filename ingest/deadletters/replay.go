// Package deadletters replays dead letters whose cause has been fixed:
// `storecast dlq replay`. A dead letter of a Kafka record (a sale the
// features processor or the sink refused, a store info the processor
// refused) is sent again, with its key, to the topic it came from when
// its payload now passes the checks that do not depend on state (decoding,
// validation, key). Rows refused while reading a CSV file are never
// replayed: their fix is a corrected file.
//
// A replay is idempotent: it resumes after the dead letters a previous
// replay handled (the offsets of the consumer group Group), and a replayed
// sale or store info is an event the processors and the sink fold in
// idempotently (by store and day). A sale replayed while its cause still
// holds (a day still too far ahead of its store) is refused again and
// lands in the dead-letter topic again, with its reason. A dry run reads
// and decides the same way and prints it, but sends and commits nothing.
package deadletters

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/ingest"
	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

// Group is the consumer group whose committed offsets on the dead-letter
// topics mark what replays have handled. Renaming it makes the next replay
// start from the oldest dead letter again.
const Group = "storecast-dlq-replay"

// Action is what a replay does with one dead letter.
type Action string

// Actions of Decide.
const (
	// Replay sends the payload again to its source topic.
	Replay Action = "replay"
	// Skip leaves a dead letter whose payload is still invalid, or that
	// did not come from a Kafka topic a replay may write.
	Skip Action = "skip"
)

// Decision is the outcome for one dead letter.
type Decision struct {
	Action Action
	// Topic and Key are where a Replay sends the payload.
	Topic, Key string
	// Why explains the decision for people.
	Why string
}

// Decide returns what to do with the dead letter raw, read from the
// dead-letter topic of names n. It is pure.
func Decide(n topics.Names, raw []byte) Decision {
	dl, err := topics.DeadLetterCodec{}.DecodeValue(raw)
	if err != nil {
		return Decision{Action: Skip, Why: fmt.Sprintf("not a dead letter: %v", err)}
	}
	switch dl.Source {
	case string(n.Sales):
		var s topics.Sale
		if err := topics.DecodeSale([]byte(dl.Payload), &s); err != nil {
			return Decision{Action: Skip, Why: fmt.Sprintf("still undecodable: %v", err)}
		}
		if err := s.Validate(nil); err != nil {
			return Decision{Action: Skip, Why: "still invalid: " + topics.Reason(err)}
		}
		if want := topics.StoreKey(s.Store); dl.Key != want {
			return Decision{Action: Skip, Why: fmt.Sprintf("key %q is not the sale's store key %q", dl.Key, want)}
		}
		return Decision{Action: Replay, Topic: dl.Source, Key: dl.Key,
			Why: fmt.Sprintf("sale of store %d on %s, refused by %s: %s", s.Store, s.Date, dl.Stage, dl.Reason)}
	case string(n.StoreInfo):
		v, err := topics.StoreInfoCodec{}.Decode([]byte(dl.Payload))
		if err != nil {
			return Decision{Action: Skip, Why: fmt.Sprintf("still undecodable: %v", err)}
		}
		si := v.(*topics.StoreInfo)
		if err := si.Validate(); err != nil {
			return Decision{Action: Skip, Why: "still invalid: " + topics.Reason(err)}
		}
		if want := topics.StoreKey(si.Store); dl.Key != want {
			return Decision{Action: Skip, Why: fmt.Sprintf("key %q is not the store info's store key %q", dl.Key, want)}
		}
		return Decision{Action: Replay, Topic: dl.Source, Key: dl.Key,
			Why: fmt.Sprintf("store info of store %d, refused by %s: %s", si.Store, dl.Stage, dl.Reason)}
	}
	where := dl.Source
	if dl.File != "" {
		where = fmt.Sprintf("%s line %d", dl.File, dl.Line)
	}
	return Decision{Action: Skip, Why: fmt.Sprintf("from %s, not a topic a replay writes (fix the input and produce it again)", where)}
}

// Summary counts what a replay did (or, dry, would do).
type Summary struct {
	Read     int `json:"read"`
	Replayed int `json:"replayed"`
	Skipped  int `json:"skipped"`
}

// Config configures a replay.
type Config struct {
	Names topics.Names
	Kafka kafka.Config
	// DryRun decides and reports, but sends and commits nothing.
	DryRun bool
	// Group overrides the consumer group (default Group).
	Group string
}

// Run replays the dead letters of n.SalesDLQ and n.StoreInfoDLQ that
// previous replays have not handled, writing one line per dead letter to
// out, and commits the handled offsets after the replayed records are
// acknowledged.
func Run(ctx context.Context, cfg Config, out io.Writer) (Summary, error) {
	var sum Summary
	// ingest's producer config: keys land on the partitions goka reads.
	sc := ingest.SaramaConfig(cfg.Kafka)
	sc.Consumer.Return.Errors = true
	client, err := sarama.NewClient(cfg.Kafka.Brokers, sc)
	if err != nil {
		return sum, fmt.Errorf("dlq replay: %w", err)
	}
	defer func() { _ = client.Close() }()
	var producer sarama.SyncProducer
	if !cfg.DryRun {
		if producer, err = sarama.NewSyncProducerFromClient(client); err != nil {
			return sum, fmt.Errorf("dlq replay: %w", err)
		}
		defer func() { _ = producer.Close() }()
	}
	group := cfg.Group
	if group == "" {
		group = Group
	}
	om, err := sarama.NewOffsetManagerFromClient(group, client)
	if err != nil {
		return sum, fmt.Errorf("dlq replay: %w", err)
	}
	defer func() { _ = om.Close() }()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return sum, fmt.Errorf("dlq replay: %w", err)
	}
	defer func() { _ = consumer.Close() }()

	for _, topic := range []string{string(cfg.Names.SalesDLQ), string(cfg.Names.StoreInfoDLQ)} {
		parts, err := client.Partitions(topic)
		if err != nil {
			return sum, fmt.Errorf("dlq replay: %s: %w", topic, err)
		}
		for _, p := range parts {
			if err := replayPartition(ctx, cfg, client, consumer, om, producer, topic, p, out, &sum); err != nil {
				return sum, err
			}
		}
	}
	if !cfg.DryRun {
		om.Commit()
	}
	return sum, nil
}

func replayPartition(ctx context.Context, cfg Config, client sarama.Client, consumer sarama.Consumer, om sarama.OffsetManager,
	producer sarama.SyncProducer, topic string, p int32, out io.Writer, sum *Summary) error {
	pom, err := om.ManagePartition(topic, p)
	if err != nil {
		return fmt.Errorf("dlq replay: %s/%d: %w", topic, p, err)
	}
	defer func() { _ = pom.Close() }()
	hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
	if err != nil {
		return fmt.Errorf("dlq replay: %s/%d: %w", topic, p, err)
	}
	oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest)
	if err != nil {
		return fmt.Errorf("dlq replay: %s/%d: %w", topic, p, err)
	}
	next, _ := pom.NextOffset()
	if next < oldest {
		next = oldest // never committed, or the dead letters it pointed at expired
	}
	return kafka.ReadRange(ctx, consumer, topic, p, next, hwm, func(_ int32, off int64, _, value []byte) error {
		sum.Read++
		d := Decide(cfg.Names, value)
		if d.Action == Replay {
			sum.Replayed++
			if !cfg.DryRun {
				if err := send(producer, d, value); err != nil {
					return fmt.Errorf("dlq replay: %s/%d offset %d: %w", topic, p, off, err)
				}
			}
		} else {
			sum.Skipped++
		}
		if _, err := fmt.Fprintf(out, "%s/%d@%d %s: %s\n", topic, p, off, d.Action, d.Why); err != nil {
			return fmt.Errorf("dlq replay: write report: %w", err)
		}
		if !cfg.DryRun {
			pom.MarkOffset(off+1, "")
		}
		return nil
	})
}

// send produces the dead letter's payload to its source topic.
func send(producer sarama.SyncProducer, d Decision, raw []byte) error {
	dl, err := topics.DeadLetterCodec{}.DecodeValue(raw)
	if err != nil {
		return fmt.Errorf("decode dead letter: %w", err)
	}
	if d.Topic == "" {
		return errors.New("no topic to replay to")
	}
	if _, _, err := producer.SendMessage(&sarama.ProducerMessage{
		Topic: d.Topic, Key: sarama.StringEncoder(d.Key), Value: sarama.ByteEncoder(dl.Payload),
	}); err != nil {
		return fmt.Errorf("send to %s: %w", d.Topic, err)
	}
	return nil
}
