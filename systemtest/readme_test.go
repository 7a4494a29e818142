package systemtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var expectRE = regexp.MustCompile(`(?m)^# expect (\d{3})$`)

// runReadmeExamples runs the ```sh examples of README.md's "Forecast API"
// section against the real forecast and training APIs and checks each
// curl's status against its "# expect" line (api/readme_test.go does the
// same against fakes).
func runReadmeExamples(t *testing.T, forecastURL, trainURL, token string) {
	t.Helper()
	runReadmeSection(t, "Forecast API", map[string]string{"http://127.0.0.1:4242": forecastURL, "http://127.0.0.1:4243": trainURL},
		[]string{"STORECAST_API_TOKEN=" + token})
}

// runReadmeSection runs the ```sh examples of README.md's section "## NAME"
// with the URLs in replace rewritten and env added, and checks each curl's
// status against its "# expect" line.
func runReadmeSection(t *testing.T, section string, replace map[string]string, env []string) {
	t.Helper()
	b, err := os.ReadFile(repoRoot(t) + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## "+section+"\n")
	if i < 0 {
		t.Fatalf("README.md has no %q section", "## "+section)
	}
	s = s[i+1:]
	if j := strings.Index(s[3:], "\n## "); j >= 0 {
		s = s[:j+3]
	}
	parts := strings.Split(s, "```sh\n")[1:]
	if len(parts) == 0 {
		t.Fatalf("no ```sh examples in the %s section", section)
	}
	var pairs []string
	for from, to := range replace {
		pairs = append(pairs, from, to)
	}
	rewrite := strings.NewReplacer(pairs...)
	for n, p := range parts {
		block, _, _ := strings.Cut(p, "```")
		var want []string
		for _, m := range expectRE.FindAllStringSubmatch(block, -1) {
			want = append(want, m[1])
		}
		script := "set -eu\ncurl() { command curl -w '%{stderr}%{http_code}\\n' \"$@\"; }\n" + rewrite.Replace(block)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-c", script)
		cmd.Env = append(os.Environ(), env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		if err != nil {
			t.Errorf("README example %d failed: %v\n%s\n%s", n, err, stdout.String(), stderr.String())
			continue
		}
		var got []string
		for _, f := range strings.Fields(stderr.String()) {
			if _, err := strconv.Atoi(f); err == nil && len(f) == 3 {
				got = append(got, f)
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("README example %d: statuses %v, want %v\n%s", n, got, want, stdout.String())
		}
		t.Logf("README example %d: %v\n%s", n, got, stdout.String())
	}
}
