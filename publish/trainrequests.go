package publish

import (
	"context"
	"fmt"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/topics"
)

// TrainRequests produces train requests with a sync producer.
type TrainRequests struct {
	producer sarama.SyncProducer
	topic    string
}

// NewTrainRequests returns an emitter to topic (names.TrainRequests).
func NewTrainRequests(p sarama.SyncProducer, topic string) *TrainRequests {
	return &TrainRequests{producer: p, topic: topic}
}

// EmitTrainRequest produces req keyed by req.ID and returns once Kafka has
// acknowledged it (or ctx is done).
func (e *TrainRequests) EmitTrainRequest(ctx context.Context, req *topics.TrainRequest) error {
	b, err := topics.TrainRequestCodec{}.Encode(req)
	if err != nil {
		return fmt.Errorf("encode train request: %w", err)
	}
	return sendSync(ctx, e.producer, e.topic, &sarama.ProducerMessage{Topic: e.topic, Key: sarama.StringEncoder(req.ID), Value: sarama.ByteEncoder(b)})
}

// sendSync produces msgs with p and returns once Kafka has acknowledged
// every one, or when ctx is done (the send then goes on in the background:
// the caller reports a failure, and the records may still land).
func sendSync(ctx context.Context, p sarama.SyncProducer, topic string, msgs ...*sarama.ProducerMessage) error {
	errc := make(chan error, 1)
	go func() { errc <- p.SendMessages(msgs) }()
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("produce %d messages to %s: %w", len(msgs), topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("produce to %s: %w", topic, ctx.Err())
	}
}
