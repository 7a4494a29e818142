package systemtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSuperviseRestartsAndStops runs deploy/local/supervise.sh (the local
// stack's second line of defence) around a command that exits twice, then
// stays up: the supervisor starts it again each time with the restart
// count in STORECAST_RESTARTS, writes the count to run/NAME.restarts, logs
// each restart, and on SIGTERM passes the signal on and exits without a
// further restart.
func TestSuperviseRestartsAndStops(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmdPath := filepath.Join(dir, "flaky.sh")
	script := `#!/bin/sh
echo "$STORECAST_RESTARTS" >>"` + dir + `/runs"
if [ "$(wc -l <"` + dir + `/runs")" -lt 3 ]; then exit 7; fi
sleep 600 &
p=$!
trap 'kill $p; echo term >"` + dir + `/term"; exit 0' TERM
echo up >"` + dir + `/up"
wait $p
`
	if err := os.WriteFile(cmdPath, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	// A file, not a pipe: Wait returns when the supervisor exits.
	stderr, err := os.Create(filepath.Join(dir, "supervise.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd := exec.Command(filepath.Join(repoRoot(t), "deploy/local/supervise.sh"), "flaky", "--", cmdPath)
	cmd.Env = append(os.Environ(), "STORECAST_STATE_DIR="+dir, "STORECAST_RESTART_MIN=1", "STORECAST_RESTART_MAX=1")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})

	waitFile(t, filepath.Join(dir, "up"), done)
	if got, want := readFile(t, filepath.Join(dir, "runs")), "0\n1\n2\n"; got != want {
		t.Errorf("STORECAST_RESTARTS per run = %q, want %q", got, want)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(dir, "run", "flaky.restarts"))); got != "2" {
		t.Errorf("run/flaky.restarts = %q, want 2", got)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("supervisor after SIGTERM: %v (want exit 0)\n%s", err, readFile(t, stderr.Name()))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("supervisor did not exit within 30s of SIGTERM\n%s", readFile(t, stderr.Name()))
	}
	if got := readFile(t, filepath.Join(dir, "term")); got != "term\n" {
		t.Errorf("the command did not get SIGTERM (term file %q)", got)
	}
	if got := strings.Count(readFile(t, filepath.Join(dir, "runs")), "\n"); got != 3 {
		t.Errorf("runs = %d after stop, want 3 (no restart after SIGTERM)", got)
	}
	log := readFile(t, stderr.Name())
	for _, want := range []string{"flaky exited with status 7 after", "restart 1 in 1s", "restart 2 in 1s", "flaky stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("supervisor log lacks %q:\n%s", want, log)
		}
	}
}

// waitFile waits until path exists, failing when the supervisor exits or
// 30 s pass.
func waitFile(t *testing.T, path string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("supervisor exited before %s appeared: %v", path, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within 30s", path)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
