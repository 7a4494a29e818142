package topics

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// ExampleEncoder writes training examples as JSON: the bytes encoding/json
// writes for a TrainingExample, without reflection for examples of the
// encoder's feature schema (the hot path: the features processor writes
// one per sale); any other example goes through encoding/json.
type ExampleEncoder struct {
	schema     string
	schemaJSON []byte
	names      []string
	keys       [][]byte // keys[i] is `,"name":` (no comma for the first)
}

// NewExampleEncoder returns an encoder fast for examples of schema whose
// features are names, in that order.
func NewExampleEncoder(schema string, names []string) *ExampleEncoder {
	e := &ExampleEncoder{schema: schema, schemaJSON: AppendJSONString(nil, schema), names: slices.Clone(names)}
	e.keys = make([][]byte, len(names))
	for i, n := range names {
		var b []byte
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, n)
		e.keys[i] = append(b, ':')
	}
	return e
}

// Append appends the JSON of ex to b.
func (e *ExampleEncoder) Append(b []byte, ex *TrainingExample) ([]byte, error) {
	fv := ex.Features
	label, labelOK := jsonInt(ex.Label)
	if ex.Schema != e.schema || !labelOK || len(fv.Values) != len(e.names) || !slices.Equal(fv.Names, e.names) {
		j, err := json.Marshal(ex)
		if err != nil {
			return nil, fmt.Errorf("encode example: %w", err)
		}
		return append(b, j...), nil
	}
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(ex.V), 10)
	b = append(b, `,"store":`...)
	b = strconv.AppendInt(b, int64(ex.Store), 10)
	b = append(b, `,"date":"`...)
	b = ex.Date.AppendText(b)
	b = append(b, `","as_of":"`...)
	b = ex.AsOf.AppendText(b)
	b = append(b, `","horizon":`...)
	b = strconv.AppendInt(b, int64(ex.Horizon), 10)
	b = append(b, `,"label":`...)
	b = strconv.AppendInt(b, label, 10)
	b = append(b, `,"schema":`...)
	b = append(b, e.schemaJSON...)
	b = append(b, `,"features":{`...)
	for i, x := range fv.Values {
		b = append(b, e.keys[i]...)
		b = appendFeature(b, x)
	}
	return append(b, "}}"...), nil
}

// appendFeature appends one feature value as FeatureVector.MarshalJSON
// writes it: null for NaN and infinities, else strconv's shortest 'g'.
func appendFeature(b []byte, x float64) []byte {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return append(b, "null"...)
	case x == math.Trunc(x) && x > -1e6 && x < 1e6 && (x != 0 || !math.Signbit(x)):
		// What 'g' -1 writes for these, without the float formatter.
		return strconv.AppendInt(b, int64(x), 10)
	}
	return strconv.AppendFloat(b, x, 'g', -1, 64)
}

// jsonInt reports whether encoding/json writes x as a plain integer.
func jsonInt(x float64) (int64, bool) {
	if x != math.Trunc(x) || math.Abs(x) >= 1e15 || (x == 0 && math.Signbit(x)) {
		return 0, false
	}
	return int64(x), true
}
