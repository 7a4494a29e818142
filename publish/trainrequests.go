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
	errc := make(chan error, 1)
	go func() {
		_, _, err := e.producer.SendMessage(&sarama.ProducerMessage{Topic: e.topic, Key: sarama.StringEncoder(req.ID), Value: sarama.ByteEncoder(b)})
		errc <- err
	}()
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("produce to %s: %w", e.topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("produce to %s: %w", e.topic, ctx.Err())
	}
}
