package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Split divides what g gathers in two: the series for which own reports
// true, and all the others. Two listeners of one process serve one each,
// so every series of the process is exposed exactly once (a scrape of both
// never counts a series twice). Families left without series are dropped.
func Split(g prometheus.Gatherer, own func(family string, m *dto.Metric) bool) (mine, rest prometheus.Gatherer) {
	part := func(want bool) prometheus.Gatherer {
		return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
			mfs, err := g.Gather()
			out := make([]*dto.MetricFamily, 0, len(mfs))
			for _, mf := range mfs {
				var keep []*dto.Metric
				for _, m := range mf.GetMetric() {
					if own(mf.GetName(), m) == want {
						keep = append(keep, m)
					}
				}
				if len(keep) > 0 {
					out = append(out, &dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type, Unit: mf.Unit, Metric: keep})
				}
			}
			return out, err
		})
	}
	return part(true), part(false)
}

// HasLabel reports whether m carries the label name="value".
func HasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue() == value
		}
	}
	return false
}
