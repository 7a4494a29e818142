package systemtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAPIContract runs schemathesis (PyPI, locked in deploy/checks; make
// checks-venv) against the live forecast and training APIs of a whole
// serving path on a private broker (the outage tests' stack: a slice of the
// shared data folded by the features processor, a model, the sink) and
// api/openapi.yaml: no input may make either API answer 5xx, and every
// answer must conform to the document (status codes, content types,
// headers, bodies, problem bodies), the training API's with the bearer
// token too. Each listener is checked on the operations it serves (by tag).
func TestAPIContract(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	st := filepath.Join(repoRoot(t), "deploy/checks/.venv/bin/schemathesis")
	if _, err := os.Stat(st); err != nil {
		if os.Getenv("STORECAST_INTEGRATION") == "1" {
			t.Fatalf("schemathesis is required (STORECAST_INTEGRATION=1): run `make checks-venv` (make test does): %v", err)
		}
		t.Skip("schemathesis not installed (make checks-venv)")
	}
	t.Parallel()
	s := startOutageStack(t)
	const token = "contract-test-token"
	forecastAddr, trainAddr := freeAddr(t), freeAddr(t)
	service(t, "serve-contract", append(s.env, "STORECAST_PG_READ_DSN="+s.dsn), s.bin, "serve", "--forecast-addr", forecastAddr, "--train-addr", trainAddr,
		"--dashboard-addr", "", "--api-token", token, "--forecast-log-topic", string(s.names.ForecastResults))
	for _, url := range []string{"http://" + forecastAddr + "/ready", "http://" + trainAddr + "/ready"} {
		poll(t, url, 2*time.Minute, func() (bool, string) {
			code, b, err := call("GET", url, "", "")
			return err == nil && code == 200, string(b)
		})
	}
	// Two serve instances (the stack's and this one) answer the same
	// forecasts: any number of them may run behind a balancer.
	for _, body := range []string{`{"store_ids":[1,2,1115]}`, `{"store_ids":[7],"start_date":"2015-06-20","end_date":"2015-07-31"}`} {
		_, a, errA := call("POST", s.forecast+"/v1/forecasts", "", body)
		_, b, errB := call("POST", "http://"+forecastAddr+"/v1/forecasts", "", body)
		if errA != nil || errB != nil || !bytes.Equal(a, b) || !bytes.Contains(a, []byte(`"forecasts":[{`)) {
			t.Errorf("two serve instances answer %s differently (%v, %v):\n%s\n%s", body, errA, errB, a, b)
		}
	}

	spec := filepath.Join(repoRoot(t), "api/openapi.yaml")
	for _, c := range []struct {
		name, base string
		tags       []string
		headers    []string
	}{
		{"forecast", "http://" + forecastAddr, []string{"forecast", "stores", "pipeline", "history", "ops"}, nil},
		{"training", "http://" + trainAddr, []string{"training", "ops"}, []string{"Authorization: Bearer " + token}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"run", spec, "--url", c.base, "--checks", "all",
				// Not checked: positive_data_acceptance
				// (valid-looking requests for stores or runs that do not exist answer 404),
				// ignored_auth and the resource checks (the forecast API has no auth by design).
				"--exclude-checks", "positive_data_acceptance,ignored_auth,use_after_free,ensure_resource_availability",
				"--phases", "examples,coverage,fuzzing", "--max-examples", "40", "--workers", "2",
				"--request-timeout", "10", "--no-color", "--seed", "15", "--report-dir", t.TempDir()}
			for _, tag := range c.tags {
				args = append(args, "--include-tag", tag)
			}
			for _, h := range c.headers {
				args = append(args, "-H", h)
			}
			cmd := exec.Command(st, args...)
			cmd.Dir = t.TempDir() // schemathesis keeps a cache in its working folder
			cmd.Env = append(os.Environ(), "SCHEMATHESIS_HOOKS=")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("schemathesis %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			t.Logf("schemathesis on the %s API:\n%s", c.name, tail(string(out), 25))
		})
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
