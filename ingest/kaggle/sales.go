package kaggle

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/storecast/storecast/topics"
)

// SalesColumns are train.csv's columns, in Kaggle's order.
var SalesColumns = []string{"Store", "DayOfWeek", "Date", "Sales", "Customers", "Open", "Promo", "StateHoliday", "SchoolHoliday"}

// SalesOptions select and validate train.csv rows.
type SalesOptions struct {
	// Known reports the store ids of store.csv; nil accepts every id in
	// range.
	Known topics.KnownStores
	// From and To, when non-zero, keep only rows dated From..To
	// (inclusive). A row is skipped as soon as its date parses and lies
	// outside; a row whose date does not parse is rejected.
	From, To topics.Date
}

// SalesResult is what ReadSales found.
type SalesResult struct {
	// Sales are the valid rows in file order.
	Sales []topics.Sale
	// Rejects are the rows that did not parse or failed validation.
	Rejects []Reject
	// Skipped counts rows outside From..To.
	Skipped int
	// Rows counts data rows (lines after the header).
	Rows int
}

// ReadSalesFile reads a train.csv file; see ParseSales.
func ReadSalesFile(path string, opt SalesOptions) (*SalesResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read sales: %w", err)
	}
	return ParseSales(data, displayName(path), opt)
}

// ReadSales reads train.csv rows from r; see ParseSales.
func ReadSales(r io.Reader, file string, opt SalesOptions) (*SalesResult, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read sales: %w", err)
	}
	return ParseSales(data, file, opt)
}

// ParseSales parses Kaggle's train.csv held in data. Every row becomes a
// valid topics.Sale (schema version set) or a Reject; the error is non-nil
// only for a header that lacks train.csv's columns. Payloads of rejects
// alias data.
func ParseSales(data []byte, file string, opt SalesOptions) (*SalesResult, error) {
	ls := lines{data: data}
	head, _, ok := ls.next()
	if !ok {
		return nil, fmt.Errorf("%s: empty file, want a header", file)
	}
	idx, ncol, err := header(head, file, SalesColumns)
	if err != nil {
		return nil, err
	}
	res := &SalesResult{Sales: make([]topics.Sale, 0, len(data)/36)}
	p := salesParser{idx: idx, ncol: ncol}
	for {
		line, num, ok := ls.next()
		if !ok {
			break
		}
		if len(line) == 0 {
			continue // a blank line carries no row
		}
		res.Rows++
		s, key, err := p.parse(line)
		if p.dateOK && p.outside(opt) {
			res.Skipped++
			continue
		}
		if err == nil {
			err = s.Validate(opt.Known)
		}
		if err != nil {
			res.Rejects = append(res.Rejects, Reject{File: file, Line: num, Payload: line, Key: key, Err: err})
			continue
		}
		res.Sales = append(res.Sales, s)
	}
	return res, nil
}

// salesParser parses rows, reusing its buffers and caching the last date.
type salesParser struct {
	idx      []int
	ncol     int
	fields   [][]byte
	quoted   []bool
	lastDate []byte
	lastVal  topics.Date
	// dateOK and date describe the last row's Date field.
	dateOK bool
	date   topics.Date
}

func (p *salesParser) outside(opt SalesOptions) bool {
	return opt.From != 0 && p.date < opt.From || opt.To != 0 && p.date > opt.To
}

// parse parses one row. key is the row's store key when Store parsed.
func (p *salesParser) parse(line []byte) (s topics.Sale, key string, err error) {
	p.dateOK = false
	p.fields, p.quoted, err = splitFields(line, p.fields, p.quoted)
	if err != nil {
		return s, "", err
	}
	if len(p.fields) != p.ncol {
		return s, "", &parseError{err: fmt.Errorf("row has %d columns, want %d", len(p.fields), p.ncol)}
	}
	var errs []error
	num := func(col int, name string) int {
		b := p.fields[p.idx[col]]
		n, ok := atoi(b)
		if !ok {
			if len(b) == 0 {
				errs = append(errs, &topics.FieldError{Field: name, Reason: "missing"})
			} else {
				errs = append(errs, &topics.FieldError{Field: name, Reason: fmt.Sprintf("%q is not an integer", b)})
			}
		}
		return n
	}
	s.V = topics.SaleVersion
	s.Store = num(0, "store")
	if len(errs) == 0 {
		key = topics.StoreKey(s.Store)
	}
	s.DayOfWeek = num(1, "day_of_week")
	if d := p.fields[p.idx[2]]; string(d) == string(p.lastDate) && p.lastDate != nil {
		s.Date = p.lastVal
		p.dateOK, p.date = true, s.Date
	} else if v, derr := topics.ParseDate(string(d)); derr != nil {
		errs = append(errs, &topics.FieldError{Field: "date", Reason: derr.Error()})
	} else {
		s.Date = v
		p.lastDate = append(p.lastDate[:0], d...)
		p.lastVal = v
		p.dateOK, p.date = true, v
	}
	s.Sales = num(3, "sales")
	s.Customers = num(4, "customers")
	s.Open = num(5, "open")
	s.Promo = num(6, "promo")
	s.StateHoliday = topics.StateHolidayOf(p.fields[p.idx[7]])
	s.SchoolHoliday = num(8, "school_holiday")
	if len(errs) > 0 {
		return s, key, &parseError{err: errors.Join(errs...)}
	}
	return s, key, nil
}
