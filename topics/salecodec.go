package topics

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// SaleCodec is the goka codec of sale events: AppendSale and SaleDecoder,
// the same bytes and values as encoding/json.
type SaleCodec struct{}

// Encode implements goka.Codec. It accepts Sale or *Sale.
func (SaleCodec) Encode(value any) ([]byte, error) {
	switch v := value.(type) {
	case *Sale:
		return AppendSale(make([]byte, 0, 192), v), nil
	case Sale:
		return AppendSale(make([]byte, 0, 192), &v), nil
	}
	return nil, fmt.Errorf("encode: want *topics.Sale, got %T", value)
}

// Decode implements goka.Codec, returning *Sale.
func (SaleCodec) Decode(data []byte) (any, error) {
	s := new(Sale)
	if err := DecodeSale(data, s); err != nil {
		return nil, err
	}
	return s, nil
}

// AppendSale appends s encoded as JSON to b: the bytes encoding/json
// writes for a Sale, without reflection or allocation.
func AppendSale(b []byte, s *Sale) []byte {
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
	b = AppendJSONString(b, s.StateHoliday)
	b = append(b, `,"school_holiday":`...)
	b = strconv.AppendInt(b, int64(s.SchoolHoliday), 10)
	return append(b, '}')
}

// DecodeSale decodes a sale event into s, as json.Unmarshal into a zero
// Sale would.
func DecodeSale(b []byte, s *Sale) error {
	var d SaleDecoder
	return d.Decode(b, s)
}

// SaleDecoder decodes sale events as json.Unmarshal into a zero Sale does.
// Flat objects with the known keys (what producers write, in any order and
// spacing) take a hand-written path about ten times faster; anything else
// (unknown or differently cased keys, escapes, non-ASCII, null, floats)
// goes to encoding/json, so both accept the same inputs and give the same
// values. It remembers the last date it parsed (consecutive sales mostly
// share their day). The zero value is ready; it is not safe for concurrent
// use.
type SaleDecoder struct {
	text [10]byte
	date Date
	ok   bool
}

// Decode decodes b into s.
func (d *SaleDecoder) Decode(b []byte, s *Sale) error {
	if d.fast(b, s) {
		return nil
	}
	v := new(Sale) // keeps s on the caller's stack
	if err := json.Unmarshal(b, v); err != nil {
		*s = Sale{}
		return fmt.Errorf("decode sale: %w", err)
	}
	*s = *v
	return nil
}

func (d *SaleDecoder) parseDate(b []byte) (Date, error) {
	if d.ok && len(b) == 10 && string(b) == string(d.text[:]) {
		return d.date, nil
	}
	t, err := ParseDate(string(b))
	if err == nil && len(b) == 10 {
		copy(d.text[:], b)
		d.date, d.ok = t, true
	}
	return t, err
}

// fast decodes a flat object of the known keys; false leaves it to
// encoding/json.
func (d *SaleDecoder) fast(b []byte, out *Sale) bool {
	var s Sale
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			key, next, ok := scanString(b, i)
			if !ok {
				return false
			}
			i = skipSpace(b, next)
			if i >= len(b) || b[i] != ':' {
				return false
			}
			i = skipSpace(b, i+1)
			switch string(key) {
			case "date":
				v, next, ok := scanString(b, i)
				if !ok {
					return false
				}
				t, err := d.parseDate(v)
				if err != nil {
					return false
				}
				s.Date, i = t, next
			case "state_holiday":
				v, next, ok := scanString(b, i)
				if !ok {
					return false
				}
				s.StateHoliday, i = StateHolidayOf(v), next
			default:
				var dst *int
				switch string(key) {
				case "v":
					dst = &s.V
				case "store":
					dst = &s.Store
				case "day_of_week":
					dst = &s.DayOfWeek
				case "sales":
					dst = &s.Sales
				case "customers":
					dst = &s.Customers
				case "open":
					dst = &s.Open
				case "promo":
					dst = &s.Promo
				case "school_holiday":
					dst = &s.SchoolHoliday
				default:
					return false
				}
				n, next, ok := scanInt(b, i)
				if !ok {
					return false
				}
				*dst, i = n, next
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return false
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return false
			}
			i = skipSpace(b, i+1)
		}
	}
	if skipSpace(b, i) != len(b) {
		return false
	}
	*out = s
	return true
}
