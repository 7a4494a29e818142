package topics

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// ForecastResultCodec is the goka codec of forecast results:
// AppendForecastResult on encode, encoding/json on decode.
type ForecastResultCodec struct{}

// Encode implements goka.Codec. It accepts ForecastResult or
// *ForecastResult.
func (ForecastResultCodec) Encode(value any) ([]byte, error) {
	switch v := value.(type) {
	case *ForecastResult:
		return AppendForecastResult(make([]byte, 0, 320), v), nil
	case ForecastResult:
		return AppendForecastResult(make([]byte, 0, 320), &v), nil
	}
	return nil, fmt.Errorf("encode: want *topics.ForecastResult, got %T", value)
}

// Decode implements goka.Codec, returning *ForecastResult.
func (ForecastResultCodec) Decode(data []byte) (any, error) {
	f := new(ForecastResult)
	if err := DecodeForecastResult(data, f); err != nil {
		return nil, err
	}
	return f, nil
}

// DecodeForecastResult decodes a forecast result event into f.
func DecodeForecastResult(b []byte, f *ForecastResult) error {
	*f = ForecastResult{}
	if err := json.Unmarshal(b, f); err != nil {
		return fmt.Errorf("decode forecast result: %w", err)
	}
	return nil
}

// AppendForecastResult appends r encoded as JSON to b: the bytes
// encoding/json writes for a ForecastResult (same keys, order and
// omissions), without reflection: the forecast log encodes every forecast
// served.
func AppendForecastResult(b []byte, r *ForecastResult) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(r.V), 10)
	b = append(b, `,"forecast_id":`...)
	b = AppendJSONString(b, r.ID)
	if r.RequestID != "" {
		b = append(b, `,"request_id":`...)
		b = AppendJSONString(b, r.RequestID)
	}
	if r.JobID != "" {
		b = append(b, `,"job_id":`...)
		b = AppendJSONString(b, r.JobID)
	}
	if r.JobRows != 0 {
		b = append(b, `,"job_rows":`...)
		b = strconv.AppendInt(b, int64(r.JobRows), 10)
	}
	b = append(b, `,"store":`...)
	b = strconv.AppendInt(b, int64(r.Store), 10)
	b = append(b, `,"date":"`...)
	b = r.Date.AppendText(b)
	b = append(b, `","as_of":"`...)
	b = r.AsOf.AppendText(b)
	b = append(b, `","horizon":`...)
	b = strconv.AppendInt(b, int64(r.Horizon), 10)
	b = append(b, `,"predicted_sales":`...)
	b = AppendJSONFloat(b, r.PredictedSales)
	if r.PredictedSalesLow != nil {
		b = append(b, `,"predicted_sales_low":`...)
		b = AppendJSONFloat(b, *r.PredictedSalesLow)
	}
	if r.PredictedSalesHigh != nil {
		b = append(b, `,"predicted_sales_high":`...)
		b = AppendJSONFloat(b, *r.PredictedSalesHigh)
	}
	b = append(b, `,"model_name":`...)
	b = AppendJSONString(b, r.ModelName)
	b = append(b, `,"model_version":`...)
	b = AppendJSONString(b, r.ModelVersion)
	b = append(b, `,"source":`...)
	b = AppendJSONString(b, r.Source)
	b = append(b, `,"created_at":"`...)
	b = r.CreatedAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"', '}')
}
