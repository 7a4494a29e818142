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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: status %d", base, resp.StatusCode)
	}
	out := make(map[string]float64, len(names))
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		for _, n := range names {
			rest, ok := strings.CutPrefix(line, n)
			if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
				continue
			}
			f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
			if len(f) == 0 {
				continue
			}
			if v, err := strconv.ParseFloat(f[0], 64); err == nil {
				out[n] += v
			}
		}
	}
	return out, sc.Err()
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
