package testkit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// recorder is a testing.TB that keeps what Errorf reports.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestLintRegistry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		collector prometheus.Collector
		want      string // a substring of the one problem reported; "" for none
	}{
		{"good counter", prometheus.NewCounter(prometheus.CounterOpts{Name: "x_events_total", Help: "h"}), ""},
		{"counter without _total", prometheus.NewCounter(prometheus.CounterOpts{Name: "x_events", Help: "h"}), `counter metrics should have "_total" suffix`},
		{"gauge in kilobytes", prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_payload_kilobytes", Help: "h"}), "use base unit"},
		{"no help", prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_depth"}), "no help text"},
		// Vectors without series are linted from their descriptions, with their type.
		{"unused counter vector without _total", prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_requests", Help: "h"}, []string{"code"}), `counter metrics should have "_total" suffix`},
		{"unused gauge vector with _total", prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "x_open_total", Help: "h"}, []string{"pool"}), `non-counter metrics should not have "_total" suffix`},
		// Custom collectors without data: by name and help.
		{"described only, abbreviated unit", DescribedOnly(prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_payload_kb", Help: "h"})), "abbreviated"},
		{"time not in seconds", prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_model_age", Help: "h"}), "in seconds"},
		{"timestamp in seconds", prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_loaded_timestamp_seconds", Help: "h"}), ""},
		{"described only, good", DescribedOnly(prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_age_seconds", Help: "h"})), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := NewLintRegistry()
			reg.MustRegister(tc.collector)
			r := &recorder{TB: t}
			names := reg.Lint(r)
			if len(names) != 1 {
				t.Errorf("linted %v, want one family", names)
			}
			switch {
			case tc.want == "" && len(r.errs) > 0:
				t.Errorf("problems %v, want none", r.errs)
			case tc.want != "" && (len(r.errs) != 1 || !strings.Contains(r.errs[0], tc.want)):
				t.Errorf("problems %v, want one with %q", r.errs, tc.want)
			}
		})
	}
}

func TestLintExposition(t *testing.T) {
	body := "# HELP a_up 1 when up.\n# TYPE a_up gauge\na_up 1\n" +
		"# HELP a_hits Hits.\n# TYPE a_hits counter\na_hits 3\n" +
		"# HELP other_hits Not ours.\n# TYPE other_hits counter\nother_hits 3\n"
	r := &recorder{TB: t}
	LintExposition(r, "test", strings.NewReader(body), "a_")
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "a_hits") {
		t.Errorf("problems %v, want one on a_hits only", r.errs)
	}
}
