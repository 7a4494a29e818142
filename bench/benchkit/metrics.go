package benchkit

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Scrape sums, per metric name, every series of the names asked for on
// base/metrics (Prometheus text format).
func Scrape(ctx context.Context, base string, names ...string) (map[string]float64, error) {
	out := make(map[string]float64, len(names))
	err := eachSample(ctx, base, func(name, _ string, v float64) {
		for _, n := range names {
			if name == n {
				out[n] += v
			}
		}
	})
	return out, err
}

// ScrapeLabeled sums the series of name on base/metrics whose labels
// include label="value"; found is false when there is none (yet).
func ScrapeLabeled(ctx context.Context, base, name, label, value string) (sum float64, found bool, err error) {
	want := label + `="` + value + `"`
	err = eachSample(ctx, base, func(n, labels string, v float64) {
		if n == name && (strings.HasPrefix(labels, want) || strings.Contains(labels, ","+want)) {
			sum += v
			found = true
		}
	})
	return sum, found, err
}

// eachSample calls fn with the name, the label pairs (without braces) and
// the value of every sample on base/metrics.
func eachSample(ctx context.Context, base string, fn func(name, labels string, v float64)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("scrape %s: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("scrape %s: status %d", base, resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, rest := line, "", ""
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				continue
			}
			name, labels, rest = line[:i], line[i+1:j], line[j+1:]
		} else if i := strings.IndexByte(line, ' '); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			fn(name, labels, v)
		}
	}
	return sc.Err()
}

// CacheStats are the forecast core's prediction counters of one server.
type CacheStats struct{ Predictions, Hits float64 }

// ScrapeCache reads the prediction and prediction-cache-hit counters.
func ScrapeCache(ctx context.Context, base string) (CacheStats, error) {
	const preds, hits = "storecast_forecast_predictions_total", "storecast_forecast_prediction_cache_hits_total"
	m, err := Scrape(ctx, base, preds, hits)
	return CacheStats{Predictions: m[preds], Hits: m[hits]}, err
}

// HitRateSince is the share of the predictions since before that the cache
// answered (0 when there were none).
func (s CacheStats) HitRateSince(before CacheStats) float64 {
	n := s.Predictions - before.Predictions
	if n <= 0 {
		return 0
	}
	return (s.Hits - before.Hits) / n
}
