package topics

import (
	"errors"
	"fmt"
)

// StoreInfoVersion is the schema version of StoreInfo.
const StoreInfoVersion = 1

// StoreInfo is a store's metadata, from Kaggle's store.csv: the value of
// StoreInfoTable, keyed by StoreKey(Store). Missing numbers are nil.
type StoreInfo struct {
	V                         int      `json:"v"`
	Store                     int      `json:"store"`
	StoreType                 string   `json:"store_type"`
	Assortment                string   `json:"assortment"`
	CompetitionDistance       *float64 `json:"competition_distance"`
	CompetitionOpenSinceMonth *int     `json:"competition_open_since_month"`
	CompetitionOpenSinceYear  *int     `json:"competition_open_since_year"`
	Promo2                    int      `json:"promo2"`
	Promo2SinceWeek           *int     `json:"promo2_since_week"`
	Promo2SinceYear           *int     `json:"promo2_since_year"`
	PromoInterval             string   `json:"promo_interval"`
}

// PromoIntervals are the values Kaggle uses for PromoInterval ("" when
// Promo2 is 0).
var PromoIntervals = []string{"", "Jan,Apr,Jul,Oct", "Feb,May,Aug,Nov", "Mar,Jun,Sept,Dec"}

// Validate reports every problem with s at once, or nil.
func (s *StoreInfo) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if s.V != StoreInfoVersion {
		bad("v", "schema version %d is not supported (want %d)", s.V, StoreInfoVersion)
	}
	if s.Store < 1 || s.Store > MaxStoreID {
		bad("store", "store id %d is out of range 1..%d", s.Store, MaxStoreID)
	}
	if s.StoreType != "a" && s.StoreType != "b" && s.StoreType != "c" && s.StoreType != "d" {
		bad("store_type", "store type %q is not one of a, b, c, d", s.StoreType)
	}
	if s.Assortment != "a" && s.Assortment != "b" && s.Assortment != "c" {
		bad("assortment", "assortment %q is not one of a, b, c", s.Assortment)
	}
	if s.CompetitionDistance != nil && *s.CompetitionDistance < 0 {
		bad("competition_distance", "competition distance %g is negative", *s.CompetitionDistance)
	}
	if m := s.CompetitionOpenSinceMonth; m != nil && (*m < 1 || *m > 12) {
		bad("competition_open_since_month", "month %d is not 1..12", *m)
	}
	if y := s.CompetitionOpenSinceYear; y != nil && (*y < 1900 || *y > 2100) {
		bad("competition_open_since_year", "year %d is not 1900..2100", *y)
	}
	if s.Promo2 != 0 && s.Promo2 != 1 {
		bad("promo2", "promo2 %d is not 0 or 1", s.Promo2)
	}
	if w := s.Promo2SinceWeek; w != nil && (*w < 1 || *w > 53) {
		bad("promo2_since_week", "week %d is not 1..53", *w)
	}
	if y := s.Promo2SinceYear; y != nil && (*y < 1900 || *y > 2100) {
		bad("promo2_since_year", "year %d is not 1900..2100", *y)
	}
	valid := false
	for _, p := range PromoIntervals {
		valid = valid || p == s.PromoInterval
	}
	if !valid {
		bad("promo_interval", "promo interval %q is not one of %q", s.PromoInterval, PromoIntervals)
	}
	return errors.Join(errs...)
}
