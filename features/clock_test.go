package features

import (
	"testing"

	"github.com/storecast/storecast/topics"
)

func TestQuorumDay(t *testing.T) {
	t.Parallel()
	d := topics.DateFromYMD(2015, 6, 19)
	far := topics.DateFromYMD(2030, 1, 1)
	many := func(n int, day topics.Date) []topics.Date {
		out := make([]topics.Date, n)
		for i := range out {
			out[i] = day
		}
		return out
	}
	cases := []struct {
		name   string
		latest []topics.Date
		want   topics.Date
		ok     bool
	}{
		{"none", nil, 0, false},
		{"one store", []topics.Date{d}, d, true},
		{"every store current", many(1115, d), d, true},
		{"one store in 2030", append(many(1114, d), far), d, true},
		{"a few stores stopped", append(many(1000, d), many(115, d-60)...), d, true},
		{"most stores behind", append(many(300, d), many(815, d-1)...), d - 1, true},
		{"half and half", append(many(2, d), many(2, d-5)...), d, true},
	}
	for _, c := range cases {
		got, ok := QuorumDay(c.latest, AsOfQuorum)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %s %v, want %s %v", c.name, got, ok, c.want, c.ok)
		}
	}
	if !Stale(d-60, d) || Stale(d-StaleDays, d) || Stale(d, d) {
		t.Errorf("Stale: 60 days behind must be stale, %d days and 0 not", StaleDays)
	}
}
