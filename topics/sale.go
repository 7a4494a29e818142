package topics

import (
	"errors"
	"fmt"
)

// SaleVersion is the schema version of Sale.
const SaleVersion = 1

// MaxStoreID bounds store ids; ids are 1..MaxStoreID.
const MaxStoreID = 100_000

// Sale is one store's facts for one day: the event on SalesStream, keyed by
// StoreKey(Store). Field names follow Kaggle's train.csv in snake_case.
type Sale struct {
	V             int    `json:"v"`
	Store         int    `json:"store"`
	DayOfWeek     int    `json:"day_of_week"`
	Date          Date   `json:"date"`
	Sales         int    `json:"sales"`
	Customers     int    `json:"customers"`
	Open          int    `json:"open"`
	Promo         int    `json:"promo"`
	StateHoliday  string `json:"state_holiday"`
	SchoolHoliday int    `json:"school_holiday"`
}

// KnownStores reports whether a store id is known (present in store_info).
// A nil KnownStores accepts every id in range.
type KnownStores func(store int) bool

// Validate reports every problem with s at once (errors.Join of
// *FieldError), or nil. known may be nil.
func (s *Sale) Validate(known KnownStores) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if s.V != SaleVersion {
		bad("v", "schema version %d is not supported (want %d)", s.V, SaleVersion)
	}
	switch {
	case s.Store < 1 || s.Store > MaxStoreID:
		bad("store", "store id %d is out of range 1..%d", s.Store, MaxStoreID)
	case known != nil && !known(s.Store):
		errs = append(errs, &FieldError{Field: "store", Reason: fmt.Sprintf("store %d is not in store_info (unknown store)", s.Store), Err: ErrUnknownStore})
	}
	if s.Date < DateFromYMD(1990, 1, 1) || s.Date > DateFromYMD(2100, 1, 1) {
		bad("date", "date %s is outside 1990-01-01..2100-01-01", s.Date)
	} else if s.DayOfWeek != s.Date.Weekday() {
		bad("day_of_week", "day of week %d does not match date %s (a %s, %d)", s.DayOfWeek, s.Date, s.Date.Time().Weekday(), s.Date.Weekday())
	}
	if s.Sales < 0 {
		bad("sales", "sales %d is negative", s.Sales)
	}
	if s.Customers < 0 {
		bad("customers", "customers %d is negative", s.Customers)
	}
	if s.Open != 0 && s.Open != 1 {
		bad("open", "open %d is not 0 or 1", s.Open)
	}
	if s.Promo != 0 && s.Promo != 1 {
		bad("promo", "promo %d is not 0 or 1", s.Promo)
	}
	if s.SchoolHoliday != 0 && s.SchoolHoliday != 1 {
		bad("school_holiday", "school holiday %d is not 0 or 1", s.SchoolHoliday)
	}
	if !ValidStateHoliday(s.StateHoliday) {
		bad("state_holiday", "state holiday %q is not one of 0, a, b, c", s.StateHoliday)
	}
	if s.Open == 0 && s.Sales > 0 {
		bad("sales", "closed day has sales %d > 0", s.Sales)
	}
	return errors.Join(errs...)
}

// ValidStateHoliday reports whether h is a Kaggle state-holiday code:
// "0" none, "a" public holiday, "b" Easter, "c" Christmas.
func ValidStateHoliday(h string) bool {
	return h == "0" || h == "a" || h == "b" || h == "c"
}

// StateHolidayOf returns b as a string without allocating for Kaggle's
// codes (decoders call it once per record); any other value is copied and
// left for Validate to reject.
func StateHolidayOf(b []byte) string {
	switch string(b) {
	case "0":
		return "0"
	case "a":
		return "a"
	case "b":
		return "b"
	case "c":
		return "c"
	}
	return string(b)
}
