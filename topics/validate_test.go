package topics

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func validSale() Sale {
	return Sale{V: SaleVersion, Store: 1, DayOfWeek: 5, Date: DateFromYMD(2015, 6, 19), Sales: 4202, Customers: 487, Open: 1, Promo: 1, StateHoliday: "0"}
}

// TestSaleValidate covers every rule: each case breaks one and must be
// reported naming exactly that field.
func TestSaleValidate(t *testing.T) {
	t.Parallel()
	known := KnownStores(func(s int) bool { return s <= 1115 })
	for _, tc := range []struct {
		name   string
		edit   func(*Sale)
		fields []string
		reason string
	}{
		{"valid", func(*Sale) {}, nil, ""},
		{"valid closed day", func(s *Sale) { s.Open, s.Sales, s.Customers = 0, 0, 0 }, nil, ""},
		{"valid holidays", func(s *Sale) { s.StateHoliday, s.SchoolHoliday = "c", 1 }, nil, ""},
		{"schema version", func(s *Sale) { s.V = 2 }, []string{"v"}, "schema version 2"},
		{"store zero", func(s *Sale) { s.Store = 0 }, []string{"store"}, "out of range"},
		{"store negative", func(s *Sale) { s.Store = -4 }, []string{"store"}, "out of range"},
		{"store too big", func(s *Sale) { s.Store = MaxStoreID + 1 }, []string{"store"}, "out of range"},
		{"store unknown", func(s *Sale) { s.Store = 5000 }, []string{"store"}, "unknown store"},
		{"date too early", func(s *Sale) { s.Date = DateFromYMD(1989, 12, 29); s.DayOfWeek = s.Date.Weekday() }, []string{"date"}, "outside"},
		{"date too late", func(s *Sale) { s.Date = DateFromYMD(2100, 1, 2) }, []string{"date"}, "outside"},
		{"day of week mismatch", func(s *Sale) { s.DayOfWeek = 4 }, []string{"day_of_week"}, "does not match"},
		{"day of week out of range", func(s *Sale) { s.DayOfWeek = 0 }, []string{"day_of_week"}, "does not match"},
		{"negative sales", func(s *Sale) { s.Sales = -1 }, []string{"sales"}, "negative"},
		{"negative customers", func(s *Sale) { s.Customers = -1 }, []string{"customers"}, "negative"},
		{"open not 0/1", func(s *Sale) { s.Open = 2 }, []string{"open"}, "not 0 or 1"},
		{"promo not 0/1", func(s *Sale) { s.Promo = -1 }, []string{"promo"}, "not 0 or 1"},
		{"school holiday not 0/1", func(s *Sale) { s.SchoolHoliday = 5 }, []string{"school_holiday"}, "not 0 or 1"},
		{"state holiday empty", func(s *Sale) { s.StateHoliday = "" }, []string{"state_holiday"}, "not one of"},
		{"state holiday unknown", func(s *Sale) { s.StateHoliday = "d" }, []string{"state_holiday"}, "not one of"},
		{"state holiday upper case", func(s *Sale) { s.StateHoliday = "A" }, []string{"state_holiday"}, "not one of"},
		{"closed with sales", func(s *Sale) { s.Open = 0 }, []string{"sales"}, "closed day has sales"},
		{"several at once", func(s *Sale) { s.Sales, s.Customers, s.Promo = -1, -2, 7 }, []string{"sales", "customers", "promo"}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSale()
			tc.edit(&s)
			err := s.Validate(known)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", s, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want an error on %v", s, tc.fields)
			}
			if got := Fields(err); !reflect.DeepEqual(got, tc.fields) {
				t.Errorf("Fields = %v, want %v (%v)", got, tc.fields, err)
			}
			if r := Reason(err); !strings.Contains(r, tc.reason) || strings.Contains(r, "\n") {
				t.Errorf("Reason = %q, want one line containing %q", r, tc.reason)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.fields[0] {
				t.Errorf("errors.As FieldError: %v", fe)
			}
		})
	}
	// A nil KnownStores accepts every id in range.
	s := validSale()
	s.Store = 5000
	if err := s.Validate(nil); err != nil {
		t.Errorf("Validate(nil) rejected store 5000: %v", err)
	}
}

func validStore() StoreInfo {
	return StoreInfo{V: StoreInfoVersion, Store: 2, StoreType: "a", Assortment: "a", CompetitionDistance: ptrFloat(570),
		CompetitionOpenSinceMonth: ptrInt(11), CompetitionOpenSinceYear: ptrInt(2007), Promo2: 1, Promo2SinceWeek: ptrInt(13), Promo2SinceYear: ptrInt(2010), PromoInterval: "Jan,Apr,Jul,Oct"}
}

func TestStoreInfoValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		edit   func(*StoreInfo)
		fields []string
	}{
		{"valid", func(*StoreInfo) {}, nil},
		{"valid missing numbers", func(s *StoreInfo) {
			s.CompetitionDistance, s.CompetitionOpenSinceMonth, s.CompetitionOpenSinceYear = nil, nil, nil
			s.Promo2, s.Promo2SinceWeek, s.Promo2SinceYear, s.PromoInterval = 0, nil, nil, ""
		}, nil},
		{"valid every interval", func(s *StoreInfo) { s.PromoInterval = "Mar,Jun,Sept,Dec" }, nil},
		{"schema version", func(s *StoreInfo) { s.V = 0 }, []string{"v"}},
		{"store", func(s *StoreInfo) { s.Store = 0 }, []string{"store"}},
		{"store type", func(s *StoreInfo) { s.StoreType = "e" }, []string{"store_type"}},
		{"assortment", func(s *StoreInfo) { s.Assortment = "d" }, []string{"assortment"}},
		{"competition distance", func(s *StoreInfo) { s.CompetitionDistance = ptrFloat(-1) }, []string{"competition_distance"}},
		{"competition month", func(s *StoreInfo) { s.CompetitionOpenSinceMonth = ptrInt(13) }, []string{"competition_open_since_month"}},
		{"competition year", func(s *StoreInfo) { s.CompetitionOpenSinceYear = ptrInt(1899) }, []string{"competition_open_since_year"}},
		{"promo2", func(s *StoreInfo) { s.Promo2 = 2 }, []string{"promo2"}},
		{"promo2 week", func(s *StoreInfo) { s.Promo2SinceWeek = ptrInt(54) }, []string{"promo2_since_week"}},
		{"promo2 year", func(s *StoreInfo) { s.Promo2SinceYear = ptrInt(2101) }, []string{"promo2_since_year"}},
		{"promo interval", func(s *StoreInfo) { s.PromoInterval = "Jan,Feb" }, []string{"promo_interval"}},
		{"several", func(s *StoreInfo) { s.StoreType, s.Assortment = "", "" }, []string{"store_type", "assortment"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validStore()
			tc.edit(&s)
			err := s.Validate()
			if got := Fields(err); !reflect.DeepEqual(got, tc.fields) {
				t.Errorf("Fields(Validate()) = %v, want %v (%v)", got, tc.fields, err)
			}
			if (err == nil) != (tc.fields == nil) {
				t.Errorf("Validate() = %v", err)
			}
		})
	}
}

func TestFieldsAndReason(t *testing.T) {
	t.Parallel()
	err := errors.Join(
		&FieldError{Field: "a", Reason: "x"},
		errors.New("plain"),
		fmtWrap(&FieldError{Field: "b", Reason: "y"}),
	)
	if got := Fields(err); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Fields = %v", got)
	}
	if got := Reason(err); got != "a: x; plain; wrapped: b: y" {
		t.Errorf("Reason = %q", got)
	}
	if Fields(nil) != nil || Reason(nil) != "" {
		t.Error("nil error has fields or a reason")
	}
}

func fmtWrap(err error) error { return &wrapped{err} }

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "wrapped: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

func TestStoreKey(t *testing.T) {
	t.Parallel()
	if k := StoreKey(1115); k != "1115" {
		t.Errorf("StoreKey = %q", k)
	}
	if n, err := ParseStoreKey("1115"); err != nil || n != 1115 {
		t.Errorf("ParseStoreKey = %d, %v", n, err)
	}
	if _, err := ParseStoreKey("x"); err == nil || !reflect.DeepEqual(Fields(err), []string{"key"}) {
		t.Errorf("ParseStoreKey(x) = %v", err)
	}
	if k := ExampleKey(7, DateFromYMD(2015, 6, 19)); k != "7|2015-06-19" {
		t.Errorf("ExampleKey = %q", k)
	}
}

func TestWithSuffix(t *testing.T) {
	t.Parallel()
	n := DefaultNames().WithSuffix("t1")
	if n.Sales != "sale_rossman_store-t1" || n.SalesDLQ != "sale_rossman_store.dlq-t1" || n.StoreInfo != "store_info-t1" {
		t.Errorf("WithSuffix: %+v", n)
	}
	seen := map[string]bool{}
	for _, s := range n.Specs() {
		if !strings.Contains(s.Name, "-t1") || seen[s.Name] {
			t.Errorf("spec %q is not suffixed or repeats", s.Name)
		}
		seen[s.Name] = true
	}
}
