package sink

import (
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

// decodeSale decodes (topics.SaleDecoder) and validates a sale event
// value; dec may be nil.
func decodeSale(value []byte, dec *topics.SaleDecoder) (saleRow, error) {
	if dec == nil {
		dec = new(topics.SaleDecoder)
	}
	var s topics.Sale
	if err := dec.Decode(value, &s); err != nil {
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

// forecastRow is one validated forecast result.
type forecastRow struct {
	topics.ForecastResult
}

// decodeForecast decodes and validates a forecast result value.
func decodeForecast(value []byte) (forecastRow, error) {
	var f topics.ForecastResult
	if err := topics.DecodeForecastResult(value, &f); err != nil {
		return forecastRow{}, err
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
	switch lo, hi := f.PredictedSalesLow, f.PredictedSalesHigh; {
	case (lo == nil) != (hi == nil):
		bad("predicted_sales_low", "an interval needs both predicted_sales_low and predicted_sales_high")
	case lo != nil && *lo > *hi:
		bad("predicted_sales_low", "interval %g..%g is empty", *lo, *hi)
	}
	if f.JobRows < 0 || f.JobRows > math.MaxInt32 || (f.JobRows > 0) != (f.JobID != "") {
		bad("job_rows", "job rows %d do not fit job id %q (both set, rows 1..%d, or neither)", f.JobRows, f.JobID, math.MaxInt32)
	}
	return errors.Join(errs...)
}
