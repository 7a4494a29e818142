package topics

import (
	"bytes"
	"testing"
)

// codec is what every event codec here is (goka.Codec).
type codec interface {
	Encode(value any) ([]byte, error)
	Decode(data []byte) (any, error)
}

// decoders are every event codec of the wire format.
var decoders = []struct {
	name string
	c    codec
}{
	{"sale", SaleCodec{}},
	{"forecast_result", ForecastResultCodec{}},
	{"store_info", StoreInfoCodec{}},
	{"dead_letter", DeadLetterCodec{}},
	{"training_example", TrainingExampleCodec{}},
	{"train_request", TrainRequestCodec{}},
	{"train_result", TrainResultCodec{}},
	{"model_event", ModelEventCodec{}},
	{"forecast_request", ForecastRequestCodec{}},
	{"snapshot_request", SnapshotRequestCodec{}},
	{"snapshot", SnapshotCodec{}},
}

// FuzzDecoders feeds arbitrary bytes to every event decoder: none may
// crash, and whatever one accepts must encode, decode again and encode to
// the same bytes (a value read from a topic can be written back unchanged).
func FuzzDecoders(f *testing.F) {
	for i, s := range []string{
		`{"schema_version":1,"store":1,"day_of_week":5,"date":"2015-07-31","sales":5263,"customers":555,"open":1,"promo":1,"state_holiday":"0","school_holiday":1}`,
		`{"store_id":1,"date":"2015-07-01","predicted_sales":5847.32,"model_version":"3","as_of":"2015-06-19","horizon":12}`,
		`{"store":2,"store_type":"a","assortment":"a","competition_distance":570,"promo_interval":"Jan,Apr,Jul,Oct"}`,
		`{"name":"storecast-sales","version":"1","sha256":"00","format":"lightgbm"}`,
		`{}`, `null`, `[]`, `{"store":1e400}`, `"x"`, `{"date":"2015-02-30"}`,
	} {
		for j := range decoders {
			f.Add(uint8(i+j), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		d := decoders[int(which)%len(decoders)]
		v, err := d.c.Decode(data)
		if err != nil {
			return
		}
		b, err := d.c.Encode(v)
		if err != nil {
			t.Fatalf("%s: decoded %q into %+v, which does not encode: %v", d.name, data, v, err)
		}
		v2, err := d.c.Decode(b)
		if err != nil {
			t.Fatalf("%s: its own encoding %q does not decode: %v", d.name, b, err)
		}
		b2, err := d.c.Encode(v2)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("%s: encoding not stable: %q then %q (%v)", d.name, b, b2, err)
		}
	})
}
