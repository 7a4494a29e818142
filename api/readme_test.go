package api

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/topics"
	"github.com/storecast/storecast/views"
)

// readmeBlocks returns the ```sh blocks of README.md's "Forecast API"
// section.
func readmeBlocks(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "\n## Forecast API\n")
	if start < 0 {
		t.Fatal(`README.md has no "## Forecast API" section`)
	}
	s = s[start+1:]
	if end := strings.Index(s[3:], "\n## "); end >= 0 {
		s = s[:end+3]
	}
	var blocks []string
	for {
		i := strings.Index(s, "```sh\n")
		if i < 0 {
			break
		}
		s = s[i+6:]
		j := strings.Index(s, "```")
		if j < 0 {
			t.Fatal("unterminated ```sh block")
		}
		blocks = append(blocks, s[:j])
		s = s[j+3:]
	}
	if len(blocks) == 0 {
		t.Fatal("the Forecast API section has no ```sh examples")
	}
	return blocks
}

var expectRE = regexp.MustCompile(`(?m)^# expect (\d{3})$`)

// autoTrainer answers every emitted train request at once, so the README's
// wait returns.
type autoTrainer struct {
	fakeEmitter
	tracker *views.ResultTracker
}

func (a *autoTrainer) EmitTrainRequest(ctx context.Context, r *topics.TrainRequest) error {
	if err := a.fakeEmitter.EmitTrainRequest(ctx, r); err != nil {
		return err
	}
	go a.tracker.Observe(&topics.TrainResult{V: 1, ID: r.ID, Status: topics.TrainSucceeded, ModelName: "storecast-sales-store-1", Version: "1", Promoted: true, At: time.Now()})
	return nil
}

// TestReadmeExamples runs the README's curl examples against both APIs
// wired with fakes and checks each status against its "# expect" line.
func TestReadmeExamples(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the README examples need curl")
	}
	h := newHarness(t, func(h *harness, _ *ForecastConfig, tc *TrainConfig) {
		tc.Emitter = &autoTrainer{tracker: h.tracker}
	})
	fs := httptest.NewServer(h.forecast)
	defer fs.Close()
	ts := httptest.NewServer(h.train)
	defer ts.Close()
	for i, block := range readmeBlocks(t) {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			var want []int
			for _, m := range expectRE.FindAllStringSubmatch(block, -1) {
				n, _ := strconv.Atoi(m[1])
				want = append(want, n)
			}
			if c := strings.Count(block, "curl "); c != len(want) {
				t.Fatalf("%d curl commands but %d '# expect' lines:\n%s", c, len(want), block)
			}
			script := strings.NewReplacer(
				"http://127.0.0.1:4242", fs.URL, "http://127.0.0.1:4243", ts.URL,
			).Replace(block)
			// Every curl writes its status to stderr, leaving stdout as the README shows it.
			script = "set -eu\ncurl() { command curl -w '%{stderr}%{http_code}\\n' \"$@\"; }\n" + script
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-c", script)
			cmd.Env = append(os.Environ(), "STORECAST_API_TOKEN=s3cret")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("example failed: %v\nstdout:\n%s\nstderr:\n%s\nscript:\n%s", err, stdout.String(), stderr.String(), script)
			}
			var got []int
			for _, line := range strings.Fields(stderr.String()) {
				if n, err := strconv.Atoi(line); err == nil {
					got = append(got, n)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("statuses %v, want %v\nstdout:\n%s", got, want, stdout.String())
			}
			for k := range want {
				if got[k] != want[k] {
					t.Errorf("curl #%d answered %d, want %d\nstdout:\n%s", k+1, got[k], want[k], stdout.String())
				}
			}
			if strings.Contains(block, "/train/$ID") && !strings.Contains(stdout.String(), `"status":"succeeded"`) {
				t.Errorf("the train example did not report the outcome:\n%s", stdout.String())
			}
		})
	}
}
