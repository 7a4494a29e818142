package publish

import (
	"context"
	"fmt"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/topics"
)

// ForecastRequests produces forecast requests (a forecast job's, one per
// store) with a sync producer, keyed by store so each lands on the
// partition of its store's table (Goka copartitioning).
type ForecastRequests struct {
	producer sarama.SyncProducer
	topic    string
}

// NewForecastRequests returns an emitter to topic (names.ForecastRequests).
func NewForecastRequests(p sarama.SyncProducer, topic string) *ForecastRequests {
	return &ForecastRequests{producer: p, topic: topic}
}

// EmitForecastRequests produces reqs and returns once Kafka has
// acknowledged every one (or ctx is done). On an error some requests may
// have been produced: their forecasts carry the job id, and the caller
// reports the job as failed.
func (e *ForecastRequests) EmitForecastRequests(ctx context.Context, reqs []topics.ForecastRequest) error {
	msgs := make([]*sarama.ProducerMessage, len(reqs))
	for i := range reqs {
		b, err := topics.ForecastRequestCodec{}.Encode(&reqs[i])
		if err != nil {
			return fmt.Errorf("encode forecast request of store %d: %w", reqs[i].Store, err)
		}
		msgs[i] = &sarama.ProducerMessage{Topic: e.topic, Key: sarama.StringEncoder(topics.StoreKey(reqs[i].Store)), Value: sarama.ByteEncoder(b)}
	}
	return sendSync(ctx, e.producer, e.topic, msgs...)
}
