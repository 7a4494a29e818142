package kaggle

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/storecast/storecast/topics"
)

// StoreColumns are store.csv's columns, in Kaggle's order.
var StoreColumns = []string{
	"Store", "StoreType", "Assortment", "CompetitionDistance", "CompetitionOpenSinceMonth",
	"CompetitionOpenSinceYear", "Promo2", "Promo2SinceWeek", "Promo2SinceYear", "PromoInterval",
}

// StoresResult is what ReadStores found.
type StoresResult struct {
	// Stores are the valid rows in file order.
	Stores []topics.StoreInfo
	// Rejects are the rows that did not parse, failed validation or
	// repeat a store id.
	Rejects []Reject
}

// Known returns the store ids of r.Stores as a topics.KnownStores.
func (r *StoresResult) Known() topics.KnownStores {
	top := 0
	for _, s := range r.Stores {
		top = max(top, s.Store)
	}
	ids := make([]bool, top+1)
	for _, s := range r.Stores {
		ids[s.Store] = true
	}
	return func(store int) bool { return store >= 0 && store < len(ids) && ids[store] }
}

// ReadStoresFile reads a store.csv file; see ParseStores.
func ReadStoresFile(path string) (*StoresResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stores: %w", err)
	}
	return ParseStores(data, displayName(path))
}

// ReadStores reads store.csv rows from r; see ParseStores.
func ReadStores(r io.Reader, file string) (*StoresResult, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read stores: %w", err)
	}
	return ParseStores(data, file)
}

// ParseStores parses Kaggle's store.csv held in data. Empty numeric fields
// become nil. Every row becomes a valid topics.StoreInfo or a Reject; the
// error is non-nil only for a header that lacks store.csv's columns.
func ParseStores(data []byte, file string) (*StoresResult, error) {
	ls := lines{data: data}
	head, _, ok := ls.next()
	if !ok {
		return nil, fmt.Errorf("%s: empty file, want a header", file)
	}
	idx, ncol, err := header(head, file, StoreColumns)
	if err != nil {
		return nil, err
	}
	res := &StoresResult{}
	seen := make(map[int]int)
	var fields [][]byte
	var quoted []bool
	for {
		line, num, ok := ls.next()
		if !ok {
			break
		}
		if len(line) == 0 {
			continue
		}
		s, key, err := parseStore(line, idx, ncol, &fields, &quoted)
		if err == nil {
			err = s.Validate()
		}
		if err == nil {
			if first, dup := seen[s.Store]; dup {
				err = &topics.FieldError{Field: "store", Reason: fmt.Sprintf("store %d repeats line %d", s.Store, first)}
			}
		}
		if err != nil {
			res.Rejects = append(res.Rejects, Reject{File: file, Line: num, Payload: line, Key: key, Err: err})
			continue
		}
		seen[s.Store] = num
		res.Stores = append(res.Stores, s)
	}
	return res, nil
}

func parseStore(line []byte, idx []int, ncol int, fields *[][]byte, quoted *[]bool) (s topics.StoreInfo, key string, err error) {
	*fields, *quoted, err = splitFields(line, *fields, *quoted)
	if err != nil {
		return s, "", err
	}
	f := *fields
	if len(f) != ncol {
		return s, "", &parseError{err: fmt.Errorf("row has %d columns, want %d", len(f), ncol)}
	}
	var errs []error
	col := func(i int) []byte { return f[idx[i]] }
	integer := func(i int, name string) int {
		n, ok := atoi(col(i))
		if !ok {
			errs = append(errs, &topics.FieldError{Field: name, Reason: fmt.Sprintf("%q is not an integer", col(i))})
		}
		return n
	}
	optInt := func(i int, name string) *int {
		if len(col(i)) == 0 || string(col(i)) == "NA" {
			return nil
		}
		n := integer(i, name)
		return &n
	}
	s.V = topics.StoreInfoVersion
	s.Store = integer(0, "store")
	if len(errs) == 0 {
		key = topics.StoreKey(s.Store)
	}
	s.StoreType = string(col(1))
	s.Assortment = string(col(2))
	if b := col(3); len(b) > 0 && string(b) != "NA" {
		x, perr := strconv.ParseFloat(string(b), 64)
		if perr != nil {
			errs = append(errs, &topics.FieldError{Field: "competition_distance", Reason: fmt.Sprintf("%q is not a number", b)})
		}
		s.CompetitionDistance = &x
	}
	s.CompetitionOpenSinceMonth = optInt(4, "competition_open_since_month")
	s.CompetitionOpenSinceYear = optInt(5, "competition_open_since_year")
	s.Promo2 = integer(6, "promo2")
	s.Promo2SinceWeek = optInt(7, "promo2_since_week")
	s.Promo2SinceYear = optInt(8, "promo2_since_year")
	s.PromoInterval = string(col(9))
	if len(errs) > 0 {
		return s, key, &parseError{err: errors.Join(errs...)}
	}
	return s, key, nil
}
