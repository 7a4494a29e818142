package systemtest

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// outageGrace is the serve's --kafka-grace in the outage tests; the
// documented rule is: /ready turns 503 at most the grace after Kafka's last
// answer, and 200 again within 3 s (the next 1-s probe with its 2-s
// deadline) after Kafka answers again.
const (
	outageGrace  = 5 * time.Second
	readySlack   = 2 * time.Second // polling and scheduling on a loaded 2-core machine
	backToReady  = 3 * time.Second
	outageStores = 1115
)

// outageStack is the whole serving path on a private broker: a slice of
// the shared data, the features processor, the sink into a database of
// its own, and serve with a small model.
type outageStack struct {
	broker    *testkit.Broker
	names     topics.Names
	dsn       string
	bin       string
	env       []string
	forecast  string // base URL
	serveArgs []string
}

func startOutageStack(t *testing.T) *outageStack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	data := testkit.DataDir(t)
	b := testkit.PrivateBroker(t)
	dsn := testkit.Postgres(t)
	suffix := testkit.UniqueSuffix(t)
	names := topics.DefaultNames().WithSuffix(suffix)
	testkit.CreateTopics(t, b.Config, names)
	s := &outageStack{broker: b, names: names, dsn: dsn, bin: build(t),
		env: []string{"STORECAST_BROKERS=" + strings.Join(b.Config.Brokers, ","), "STORECAST_NAMES_SUFFIX=" + suffix}}

	run(t, s.env, s.bin, "produce", "--train", filepath.Join(data, "train.csv"), "--store", filepath.Join(data, "store.csv"),
		"--start", "2015-06-01", "--end", "2015-06-19", "--metrics-addr", "", "--no-create-topics")
	ev := testkit.ModelEvent("1", 4000, 6000)
	ev.Name += "-" + suffix
	val, err := topics.ModelEventCodec{}.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Produce(t, b.Config, string(names.Models), ev.Name, val)

	state := t.TempDir()
	service(t, "process", s.env, s.bin, "process", "--only", "features", "--storage-dir", filepath.Join(state, "goka"), "--metrics-addr", "")
	service(t, "sink", s.env, s.bin, "sink", "run", "--pg-dsn", dsn, "--metrics-addr", "")
	addr := freeAddr(t)
	s.forecast = "http://" + addr
	s.serveArgs = []string{"serve", "--forecast-addr", addr, "--train-addr", freeAddr(t),
		"--kafka-grace", outageGrace.String(), "--dashboard-addr", ""}
	service(t, "serve", s.env, s.bin, s.serveArgs...)
	poll(t, "the store views to reach 2015-06-19 and /ready", 5*time.Minute, func() (bool, string) {
		code, b, err := call("GET", s.forecast+"/v1/stores/1115", "", "")
		if err != nil || code != 200 || !strings.Contains(string(b), `"latest_day":"2015-06-19"`) {
			return false, fmt.Sprint(code, string(b), err)
		}
		code, b, err = call("GET", s.forecast+"/ready", "", "")
		return err == nil && code == 200, fmt.Sprint(code, string(b), err)
	})
	return s
}

// readyCode returns /ready's status (0 when the request fails).
func readyCode(url string) int {
	code, _, err := call("GET", url+"/ready", "", "")
	if err != nil {
		return 0
	}
	return code
}

// waitReady polls /ready every 50 ms until it answers want, and returns how
// long that took; it fails the test after limit.
func waitReady(t *testing.T, url string, want int, limit time.Duration) time.Duration {
	t.Helper()
	t0 := time.Now()
	for {
		if readyCode(url) == want {
			return time.Since(t0)
		}
		if time.Since(t0) > limit {
			t.Fatalf("/ready did not answer %d within %s", want, limit)
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
}

// TestServingThroughBrokerOutage runs the serving path on a private broker
// and checks, in order on the same stack:
//   - idle: 2,000 probes of /ready over 60 s all answer 200;
//   - outage: with the broker killed (SIGKILL), /ready stays 200 through the
//     grace period, turns 503 within it, and is 200 again within the
//     documented time after the broker answers; /health stays 200.
func TestServingThroughBrokerOutage(t *testing.T) {
	s := startOutageStack(t)
	t.Run("idle", func(t *testing.T) { readinessHoldsIdle(t, s) })
	t.Run("outage", func(t *testing.T) { readinessFollowsOutage(t, s) })
}

func readinessHoldsIdle(t *testing.T, s *outageStack) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const probes, over = 2000, 60 * time.Second
	tick := time.NewTicker(over / probes)
	defer tick.Stop()
	bad := map[string]int{}
	for range probes {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("2,000 probes took more than 2 minutes")
		}
		code, b, err := call("GET", s.forecast+"/ready", "", "")
		if err != nil || code != 200 {
			bad[fmt.Sprint(code, " ", strings.TrimSpace(string(b)), err)]++
		}
	}
	if len(bad) > 0 {
		t.Fatalf("non-200 answers of 2,000: %v", bad)
	}
}

func readinessFollowsOutage(t *testing.T, s *outageStack) {
	s.broker.Kill()
	if code := readyCode(s.forecast); code != 200 {
		t.Fatalf("/ready answered %d right after the kill; the grace period is %s", code, outageGrace)
	}
	took := waitReady(t, s.forecast, http.StatusServiceUnavailable, outageGrace+readySlack+time.Second)
	t.Logf("/ready turned 503 %s after the kill (grace %s)", took.Round(10*time.Millisecond), outageGrace)
	if took < outageGrace-2*time.Second {
		t.Errorf("/ready turned 503 after %s, before the grace period %s could pass", took, outageGrace)
	}
	if code, _, err := call("GET", s.forecast+"/health", "", ""); err != nil || code != 200 {
		t.Errorf("/health during the outage: %d %v, want 200 (liveness only)", code, err)
	}
	_, b, _ := call("GET", s.forecast+"/ready", "", "")
	if !strings.Contains(string(b), "kafka") {
		t.Errorf("/ready body does not name kafka: %s", b)
	}

	s.broker.Restart()
	took = waitReady(t, s.forecast, http.StatusOK, backToReady+readySlack)
	t.Logf("/ready was 200 again %s after the broker answered", took.Round(10*time.Millisecond))
}
