package systemtest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// processOutage is how long the broker stays dead; processBackWithin is the
// documented time (README "Restarts and outages") from the broker answering
// again to the features group folding sales again: the in-process restart
// backoff (at most 10 s) plus the group's rebuild and recovery, with room
// for a loaded 2-core machine.
const (
	processOutage     = 65 * time.Second
	processBackWithin = 45 * time.Second
)

// TestProcessRidesOutBrokerOutage runs `storecast process` (both groups) on
// a private broker, kills the broker with SIGKILL for 65 s and restarts it:
// the process must stay up the whole time (its /metrics answers every
// second), count the rebuilt groups in storecast_component_restarts_total,
// and fold every sale produced after the restart.
func TestProcessRidesOutBrokerOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	b := testkit.PrivateBroker(t)
	suffix := testkit.UniqueSuffix(t)
	names := topics.DefaultNames().WithSuffix(suffix)
	testkit.CreateTopics(t, b.Config, names)
	bin := build(t)
	env := []string{"STORECAST_BROKERS=" + strings.Join(b.Config.Brokers, ","), "STORECAST_NAMES_SUFFIX=" + suffix}
	produce := func(days int) {
		run(t, env, bin, "produce", "--stores", "20", "--days", strconv.Itoa(days), "--end", "2015-06-19",
			"--metrics-addr", "", "--no-create-topics")
	}
	produce(100)
	metricsAddr := freeAddr(t)
	service(t, "process", env, bin, "process", "--storage-dir", t.TempDir(), "--metrics-addr", metricsAddr)
	metrics := "http://" + metricsAddr + "/metrics"
	folded := func(want float64) func() (bool, string) {
		return func() (bool, string) {
			m, err := testkit.Scrape(metrics)
			if err != nil {
				return false, err.Error()
			}
			got := m["storecast_features_events_total"]
			return got >= want && m["storecast_features_recovered"] == 1, fmt.Sprintf("events %v, recovered %v", got, m["storecast_features_recovered"])
		}
	}
	poll(t, "the features group to fold 2,000 sales", 2*time.Minute, folded(2000))

	b.Kill()
	end := time.Now().Add(processOutage)
	for time.Now().Before(end) {
		if _, err := testkit.Scrape(metrics); err != nil {
			t.Fatalf("storecast process stopped answering %s into the outage: %v", time.Until(end).Round(time.Second), err)
		}
		time.Sleep(time.Second) // the outage's length is the test's subject, not a synchronisation
	}
	m, err := testkit.Scrape(metrics)
	if err != nil {
		t.Fatal(err)
	}
	// Whether a group's goka processor fails (and is rebuilt) or rides the
	// outage out inside sarama's retries depends on timing; either way the
	// process stays up (checked above) and folds again (checked below).
	t.Logf("in-process restarts after a %s outage: features %v, forecast %v", processOutage,
		m[`storecast_component_restarts_total{component="features"}`], m[`storecast_component_restarts_total{component="forecast"}`])

	b.Restart()
	back := time.Now()
	produce(130) // 30 new days for each store: 600 sales more, the rest repeated
	poll(t, "the features group to fold the sales produced after the restart", processBackWithin, folded(2000+2600))
	t.Logf("folding again %s after the broker answered (documented: within %s)", time.Since(back).Round(100*time.Millisecond), processBackWithin)
}
