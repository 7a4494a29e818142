package features

import (
	"encoding/json"
	"fmt"

	"github.com/storecast/storecast/topics"
)

// decodeSale decodes a sale event. The canonical layout (the fields in
// topics.Sale's order, plain integers, no spaces, as ingest and
// encoding/json write it) is parsed by hand; anything else goes through
// encoding/json, which decides. Both give the same Sale for every input the
// fast path accepts (FuzzDecodeSale).
func decodeSale(b []byte, s *topics.Sale) error {
	if fastSale(b, s) {
		return nil
	}
	*s = topics.Sale{}
	if err := json.Unmarshal(b, s); err != nil {
		return fmt.Errorf("decode sale: %w", err)
	}
	return nil
}

type saleParser struct {
	b  []byte
	ok bool
}

func (p *saleParser) lit(s string) {
	if !p.ok || len(p.b) < len(s) || string(p.b[:len(s)]) != s {
		p.ok = false
		return
	}
	p.b = p.b[len(s):]
}

// int parses -?(0|[1-9][0-9]*) of at most 9 digits.
func (p *saleParser) int() int {
	if !p.ok {
		return 0
	}
	neg := len(p.b) > 0 && p.b[0] == '-'
	if neg {
		p.b = p.b[1:]
	}
	n, i := 0, 0
	for i < len(p.b) && i < 10 && p.b[i] >= '0' && p.b[i] <= '9' {
		n = n*10 + int(p.b[i]-'0')
		i++
	}
	if i == 0 || i > 9 || (i > 1 && p.b[0] == '0') {
		p.ok = false
		return 0
	}
	p.b = p.b[i:]
	if neg {
		if n == 0 {
			p.ok = false // "-0": leave it to encoding/json
		}
		return -n
	}
	return n
}

// str parses a string of printable ASCII without escapes.
func (p *saleParser) str() string {
	p.lit(`"`)
	if !p.ok {
		return ""
	}
	for i, c := range p.b {
		if c == '"' {
			s := string(p.b[:i])
			p.b = p.b[i+1:]
			return s
		}
		if c < 0x20 || c >= 0x7f || c == '\\' {
			break
		}
	}
	p.ok = false
	return ""
}

func fastSale(b []byte, s *topics.Sale) bool {
	p := saleParser{b: b, ok: true}
	var out topics.Sale
	p.lit(`{"v":`)
	out.V = p.int()
	p.lit(`,"store":`)
	out.Store = p.int()
	p.lit(`,"day_of_week":`)
	out.DayOfWeek = p.int()
	p.lit(`,"date":`)
	ds := p.str()
	p.lit(`,"sales":`)
	out.Sales = p.int()
	p.lit(`,"customers":`)
	out.Customers = p.int()
	p.lit(`,"open":`)
	out.Open = p.int()
	p.lit(`,"promo":`)
	out.Promo = p.int()
	p.lit(`,"state_holiday":`)
	out.StateHoliday = p.str()
	p.lit(`,"school_holiday":`)
	out.SchoolHoliday = p.int()
	p.lit(`}`)
	if !p.ok || len(p.b) != 0 {
		return false
	}
	d, err := topics.ParseDate(ds)
	if err != nil {
		return false
	}
	out.Date = d
	*s = out
	return true
}
