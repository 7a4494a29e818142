package ingest

import (
	"encoding/json"
	"strconv"

	"github.com/storecast/storecast/topics"
)

// AppendSale appends s encoded as JSON to b: the same bytes encoding/json
// writes for a topics.Sale (so topics.SaleCodec decodes it), without
// reflection or allocation.
func AppendSale(b []byte, s *topics.Sale) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(s.V), 10)
	b = append(b, `,"store":`...)
	b = strconv.AppendInt(b, int64(s.Store), 10)
	b = append(b, `,"day_of_week":`...)
	b = strconv.AppendInt(b, int64(s.DayOfWeek), 10)
	b = append(b, `,"date":"`...)
	b = s.Date.AppendText(b)
	b = append(b, `","sales":`...)
	b = strconv.AppendInt(b, int64(s.Sales), 10)
	b = append(b, `,"customers":`...)
	b = strconv.AppendInt(b, int64(s.Customers), 10)
	b = append(b, `,"open":`...)
	b = strconv.AppendInt(b, int64(s.Open), 10)
	b = append(b, `,"promo":`...)
	b = strconv.AppendInt(b, int64(s.Promo), 10)
	b = append(b, `,"state_holiday":`...)
	b = appendJSONString(b, s.StateHoliday)
	b = append(b, `,"school_holiday":`...)
	b = strconv.AppendInt(b, int64(s.SchoolHoliday), 10)
	return append(b, '}')
}

// appendJSONString quotes str as encoding/json does: plain ASCII directly,
// anything that needs escaping through encoding/json itself.
func appendJSONString(b []byte, str string) []byte {
	for i := 0; i < len(str); i++ {
		c := str[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(str) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, str...)
	return append(b, '"')
}
