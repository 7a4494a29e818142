package topics

import (
	"encoding/json"
	"fmt"
)

// JSONCodec is a goka.Codec for *T encoded as JSON.
type JSONCodec[T any] struct{}

// Encode implements goka.Codec. It accepts T or *T.
func (JSONCodec[T]) Encode(value any) ([]byte, error) {
	switch v := value.(type) {
	case *T:
		return json.Marshal(v)
	case T:
		return json.Marshal(&v)
	default:
		var zero T
		return nil, fmt.Errorf("encode: want %T, got %T", &zero, value)
	}
}

// Decode implements goka.Codec, returning *T.
func (c JSONCodec[T]) Decode(data []byte) (any, error) {
	v, err := c.DecodeValue(data)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// DecodeValue decodes data into a new T: Decode, typed.
func (JSONCodec[T]) DecodeValue(data []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("decode %T: %w", v, err)
	}
	return v, nil
}

// Codecs of the event types without a fast path (SaleCodec,
// ForecastResultCodec and ExampleEncoder have one).
type (
	StoreInfoCodec       = JSONCodec[StoreInfo]
	DeadLetterCodec      = JSONCodec[DeadLetter]
	TrainingExampleCodec = JSONCodec[TrainingExample]
	TrainRequestCodec    = JSONCodec[TrainRequest]
	TrainResultCodec     = JSONCodec[TrainResult]
	ModelEventCodec      = JSONCodec[ModelEvent]
	ForecastRequestCodec = JSONCodec[ForecastRequest]
	SnapshotRequestCodec = JSONCodec[FeatureSnapshotRequest]
	SnapshotCodec        = JSONCodec[FeatureSnapshot]
)
