package views

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type fakeAliases struct {
	versions map[string]string
	err      error
}

func (f *fakeAliases) AliasVersion(_ context.Context, _, alias string) (string, error) {
	return f.versions[alias], f.err
}

func TestRegistryWatch(t *testing.T) {
	t.Parallel()
	served := "3"
	aliases := &fakeAliases{versions: map[string]string{"champion": "3", "challenger": "4"}}
	w := NewRegistryWatch("m", aliases, func() string { return served }, 0, nil, prometheus.NewRegistry())
	cases := []struct {
		name             string
		champion, served string
		err              error
		inStep           bool
		gauge            float64
	}{
		{"in step", "3", "3", nil, true, 0},
		{"champion moved on", "5", "3", nil, false, 1},
		{"registry unreadable: last good read kept", "9", "3", errors.New("connection refused"), false, 1},
		{"serving caught up", "5", "5", nil, true, 0},
		{"nothing registered, something served", "", "5", nil, false, 1},
	}
	for _, c := range cases {
		aliases.versions["champion"], aliases.err, served = c.champion, c.err, c.served
		st := w.Check(context.Background())
		if st.InStep != c.inStep || !errors.Is(st.Err, c.err) {
			t.Errorf("%s: status %+v", c.name, st)
		}
		if c.err != nil && st.Champion == c.champion {
			t.Errorf("%s: a failed read replaced the champion", c.name)
		}
		if got := testutil.ToFloat64(w.diverged); got != c.gauge {
			t.Errorf("%s: diverged = %v, want %v", c.name, got, c.gauge)
		}
	}
}
