package topics

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSONString appends s as a JSON string, exactly as encoding/json
// writes it (HTML characters escaped). ASCII is escaped by hand;
// anything else goes through encoding/json.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			const hex = "0123456789abcdef"
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// AppendForecastResult encodes r exactly as ForecastResultCodec
// does (same keys, order and omissions), without reflection: the forecast
// log encodes every forecast served.
func AppendForecastResult(b []byte, r *ForecastResult) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(r.V), 10)
	b = append(b, `,"forecast_id":`...)
	b = AppendJSONString(b, r.ID)
	if r.RequestID != "" {
		b = append(b, `,"request_id":`...)
		b = AppendJSONString(b, r.RequestID)
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

// AppendJSONFloat appends x as encoding/json would: plain decimals, and
// encoding/json itself for the exponent forms (tiny or huge values).
func AppendJSONFloat(b []byte, x float64) []byte {
	if abs := math.Abs(x); x != 0 && (abs < 1e-6 || abs >= 1e21) {
		q, _ := json.Marshal(x) // forecasts are finite
		return append(b, q...)
	}
	return strconv.AppendFloat(b, x, 'f', -1, 64)
}
