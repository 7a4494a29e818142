package testkit

import (
	"errors"
	"io"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// LintRegistry is a Prometheus registry for a component's metrics under
// test: register them on it as the component does, then call Lint.
type LintRegistry struct {
	*prometheus.Registry
	collectors []prometheus.Collector
}

// NewLintRegistry returns an empty LintRegistry.
func NewLintRegistry() *LintRegistry { return &LintRegistry{Registry: prometheus.NewRegistry()} }

// Register registers c and remembers it for Lint.
func (r *LintRegistry) Register(c prometheus.Collector) error {
	if err := r.Registry.Register(c); err != nil {
		return err
	}
	r.collectors = append(r.collectors, c)
	return nil
}

// MustRegister registers cs, panicking as prometheus.Registry does.
func (r *LintRegistry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

var descName = regexp.MustCompile(`fqName: "([^"]+)", help: "((?:[^"\\]|\\.)*)"`)

// Lint fails t for every problem promlint finds (units as suffixes in base
// units, _total on counters only, help texts, no abbreviations or camel
// case, ...), and every quantity of time not in seconds, in every metric family registered so far, and returns the
// names it linted. A family that has no series yet (a vector no label was
// used on, a custom collector without data) is linted from its description:
// with its type when the collector is a plain vector, else by name and help
// only.
func (r *LintRegistry) Lint(t testing.TB) []string {
	t.Helper()
	mfs, err := r.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		seen[mf.GetName()] = true
	}
	for _, c := range r.collectors {
		typ := collectorType(c)
		ch := make(chan *prometheus.Desc, 16)
		go func() {
			c.Describe(ch)
			close(ch)
		}()
		for d := range ch {
			m := descName.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("cannot read the description %s", d)
			}
			if seen[m[1]] {
				continue
			}
			seen[m[1]] = true
			mfs = append(mfs, &dto.MetricFamily{Name: &m[1], Help: &m[2], Type: typ.Enum()})
		}
	}
	lintFamilies(t, "registry", mfs)
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// collectorType is the metric type of a plain vector, else untyped.
func collectorType(c prometheus.Collector) dto.MetricType {
	switch c.(type) {
	case *prometheus.CounterVec:
		return dto.MetricType_COUNTER
	case *prometheus.GaugeVec:
		return dto.MetricType_GAUGE
	case *prometheus.HistogramVec:
		return dto.MetricType_HISTOGRAM
	case *prometheus.SummaryVec:
		return dto.MetricType_SUMMARY
	default:
		return dto.MetricType_UNTYPED
	}
}

// LintExposition fails t for every promlint problem in the families of a
// /metrics answer (text format) whose names start with prefix; what names
// the scrape in failure messages.
func LintExposition(t testing.TB, what string, body io.Reader, prefix string) {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	byName, err := p.TextToMetricFamilies(body)
	if err != nil {
		t.Fatalf("%s: parse /metrics: %v", what, err)
	}
	mfs := make([]*dto.MetricFamily, 0, len(byName))
	for n, mf := range byName {
		if strings.HasPrefix(n, prefix) {
			mfs = append(mfs, mf)
		}
	}
	if len(mfs) == 0 {
		t.Errorf("%s: no %s* family on /metrics", what, prefix)
	}
	lintFamilies(t, what, mfs)
}

// timeWord names a quantity of time; such a series must be in seconds.
var timeWord = regexp.MustCompile(`(^|_)(duration|latency|age|delay|wait|elapsed|time|timeout)(_|$)`)

// lintHelpText reports an empty help text (promlint's own check only
// catches a missing one, and client_golang always sets it).
func lintHelpText(mf *dto.MetricFamily) []error {
	if strings.TrimSpace(mf.GetHelp()) == "" {
		return []error{errors.New("no help text")}
	}
	return nil
}

// lintTimeInSeconds reports a quantity of time not named in seconds.
func lintTimeInSeconds(mf *dto.MetricFamily) []error {
	if timeWord.MatchString(mf.GetName()) && !strings.Contains(mf.GetName(), "_seconds") {
		return []error{errors.New("a quantity of time should be in seconds (_seconds)")}
	}
	return nil
}

func lintFamilies(t testing.TB, what string, mfs []*dto.MetricFamily) {
	t.Helper()
	l := promlint.NewWithMetricFamilies(mfs)
	l.AddCustomValidations(lintHelpText, lintTimeInSeconds)
	problems, err := l.Lint()
	if err != nil {
		t.Fatalf("%s: lint: %v", what, err)
	}
	for _, p := range problems {
		t.Errorf("%s: metric %s: %s", what, p.Metric, p.Text)
	}
}

// DescribedOnly wraps c so that it describes its metrics but collects none:
// for linting the descriptions of a custom collector whose Collect needs
// its component running.
func DescribedOnly(c prometheus.Collector) prometheus.Collector { return describedOnly{c} }

type describedOnly struct{ c prometheus.Collector }

func (d describedOnly) Describe(ch chan<- *prometheus.Desc) { d.c.Describe(ch) }
func (describedOnly) Collect(chan<- prometheus.Metric)      {}
