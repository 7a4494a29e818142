package features

import (
	"strings"
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
		clock  Clock
		latest []topics.Date
		want   topics.Date
		ok     bool
	}{
		{"none", Clock{}, nil, 0, false},
		{"one store", Clock{}, []topics.Date{d}, d, true},
		{"every store current", Clock{}, many(1115, d), d, true},
		{"one store in 2030", Clock{}, append(many(1114, d), far), d, true},
		{"a few stores stopped", Clock{}, append(many(1000, d), many(115, d-60)...), d, true},
		{"most stores behind", Clock{}, append(many(300, d), many(815, d-1)...), d - 1, true},
		{"half and half", Clock{}, append(many(2, d), many(2, d-5)...), d, true},
		{"quorum 0.9: a tenth behind moves it", Clock{Quorum: 0.9}, append(many(1000, d), many(115, d-60)...), d - 60, true},
		{"quorum 0.1: a tenth ahead moves it", Clock{Quorum: 0.1}, append(many(1000, d), many(115, d+3)...), d + 3, true},
		{"quorum 1: the earliest", Clock{Quorum: 1}, []topics.Date{d, d - 2, d + 9}, d - 2, true},
	}
	for _, c := range cases {
		got, ok := c.clock.AsOf(c.latest)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %s %v, want %s %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestClockStale(t *testing.T) {
	t.Parallel()
	d := topics.DateFromYMD(2015, 6, 19)
	cases := []struct {
		name   string
		clock  Clock
		behind int
		want   bool
	}{
		{"default: 60 days", Clock{}, 60, true},
		{"default: 28 days", Clock{}, DefaultStaleDays, false},
		{"default: 29 days", Clock{}, DefaultStaleDays + 1, true},
		{"default: current", Clock{}, 0, false},
		{"7 days: 8 behind", Clock{StaleDays: 7}, 8, true},
		{"90 days: 60 behind", Clock{StaleDays: 90}, 60, false},
	}
	for _, c := range cases {
		if got := c.clock.Stale(d-topics.Date(c.behind), d); got != c.want {
			t.Errorf("%s: Stale = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestClockValidateAndRule(t *testing.T) {
	t.Parallel()
	for _, c := range []Clock{{}, DefaultClock(), {Quorum: 1, StaleDays: 1}, {Quorum: 0.25, StaleDays: 365}} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	err := Clock{Quorum: 1.5, StaleDays: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "quorum 1.5") || !strings.Contains(err.Error(), "stale days -1") {
		t.Errorf("Validate of a bad clock: %v; want both problems named", err)
	}
	if err := (Clock{Quorum: -0.5}).Validate(); err == nil {
		t.Error("a negative quorum validates")
	}
	if got := DefaultClock().Rule(); !strings.Contains(got, "half of the stores") || !strings.Contains(got, "more than 28 days") {
		t.Errorf("default rule %q", got)
	}
	if got := (Clock{Quorum: 0.75, StaleDays: 14}).Rule(); !strings.Contains(got, "75 % of the stores") || !strings.Contains(got, "more than 14 days") {
		t.Errorf("rule %q", got)
	}
}
