package sink

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/storecast/storecast/topics"
)

// saleRow is one validated sale, typed as the rossman_sales columns.
type saleRow struct {
	store, sales, customers int32
	date                    topics.Date
	dayOfWeek               int16
	open, promo, school     int16
	stateHoliday            string
}

// dateCache remembers the last date string parsed: consecutive sale
// events mostly share their day.
type dateCache struct {
	text [10]byte
	date topics.Date
	ok   bool
}

func (c *dateCache) parse(b []byte) (topics.Date, error) {
	if c != nil && c.ok && len(b) == 10 && string(b) == string(c.text[:]) {
		return c.date, nil
	}
	d, err := topics.ParseDate(string(b))
	if err == nil && c != nil {
		copy(c.text[:], b)
		c.date, c.ok = d, true
	}
	return d, err
}

// decodeSale decodes and validates a sale event value; dates may be nil.
func decodeSale(value []byte, dates *dateCache) (saleRow, error) {
	var s topics.Sale
	if err := unmarshalSale(value, &s, dates); err != nil {
		return saleRow{}, err
	}
	var errs []error
	if err := s.Validate(nil); err != nil {
		errs = append(errs, err)
	}
	// The columns are integer; Validate bounds them only from below.
	if s.Sales > math.MaxInt32 {
		errs = append(errs, &topics.FieldError{Field: "sales", Reason: fmt.Sprintf("sales %d does not fit the column (max %d)", s.Sales, math.MaxInt32)})
	}
	if s.Customers > math.MaxInt32 {
		errs = append(errs, &topics.FieldError{Field: "customers", Reason: fmt.Sprintf("customers %d does not fit the column (max %d)", s.Customers, math.MaxInt32)})
	}
	if len(errs) > 0 {
		return saleRow{}, errors.Join(errs...)
	}
	return saleRow{
		store: int32(s.Store), sales: int32(s.Sales), customers: int32(s.Customers), date: s.Date,
		dayOfWeek: int16(s.DayOfWeek), open: int16(s.Open), promo: int16(s.Promo), school: int16(s.SchoolHoliday),
		stateHoliday: s.StateHoliday,
	}, nil
}

// unmarshalSale is json.Unmarshal for a Sale. Flat objects with the known
// keys (what producers write) take a hand-rolled path about ten times
// faster; anything else (unknown or differently cased keys, escapes,
// non-ASCII, null, floats) falls back to encoding/json, so both accept the
// same inputs and give the same values.
func unmarshalSale(b []byte, s *topics.Sale, dates *dateCache) error {
	if fastUnmarshalSale(b, s, dates) {
		return nil
	}
	v := new(topics.Sale) // keeps s on the caller's stack
	if err := json.Unmarshal(b, v); err != nil {
		*s = topics.Sale{}
		return fmt.Errorf("decode sale: %w", err)
	}
	*s = *v
	return nil
}

func fastUnmarshalSale(b []byte, out *topics.Sale, dates *dateCache) bool {
	var s topics.Sale
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
				d, err := dates.parse(v)
				if err != nil {
					return false
				}
				s.Date, i = d, next
			case "state_holiday":
				v, next, ok := scanString(b, i)
				if !ok {
					return false
				}
				s.StateHoliday, i = topics.StateHolidayOf(v), next
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

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the contents of the JSON string at b[i], if it is
// plain printable ASCII without escapes, and the index after it.
func scanString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// scanInt parses the JSON integer at b[i] (no fraction or exponent, at most
// 18 digits) and returns it with the index after it.
func scanInt(b []byte, i int) (int, int, bool) {
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	start := i
	n := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int(b[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 18 || (digits > 1 && b[start] == '0') {
		return 0, 0, false
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, 0, false
	}
	if neg {
		n = -n
	}
	return n, i, true
}

// forecastRow is one validated forecast result.
type forecastRow struct {
	topics.ForecastResult
}

// decodeForecast decodes and validates a forecast result value.
func decodeForecast(value []byte) (forecastRow, error) {
	var f topics.ForecastResult
	if err := json.Unmarshal(value, &f); err != nil {
		return forecastRow{}, fmt.Errorf("decode forecast result: %w", err)
	}
	if err := validateForecast(&f); err != nil {
		return forecastRow{}, err
	}
	return forecastRow{f}, nil
}

// validateForecast reports every problem with f at once, as the fields the
// forecast_results columns need.
func validateForecast(f *topics.ForecastResult) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &topics.FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if f.V != topics.ForecastResultVersion {
		bad("v", "schema version %d is not supported (want %d)", f.V, topics.ForecastResultVersion)
	}
	if f.ID == "" {
		bad("forecast_id", "forecast id is empty")
	}
	if f.Store < 1 || f.Store > topics.MaxStoreID {
		bad("store", "store id %d is out of range 1..%d", f.Store, topics.MaxStoreID)
	}
	lo, hi := topics.DateFromYMD(1990, 1, 1), topics.DateFromYMD(2100, 1, 1)
	if f.Date < lo || f.Date > hi {
		bad("date", "date %s is outside %s..%s", f.Date, lo, hi)
	}
	if f.AsOf < lo || f.AsOf > hi {
		bad("as_of", "as-of day %s is outside %s..%s", f.AsOf, lo, hi)
	}
	if f.Horizon < 0 || f.Horizon > 3660 {
		bad("horizon", "horizon %d is out of range 0..3660", f.Horizon)
	}
	if math.IsNaN(f.PredictedSales) || math.IsInf(f.PredictedSales, 0) {
		bad("predicted_sales", "predicted sales %g is not a finite number", f.PredictedSales)
	}
	if f.CreatedAt.IsZero() {
		bad("created_at", "created time is missing")
	}
	return errors.Join(errs...)
}
