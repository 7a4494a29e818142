package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PGCluster is a PostgreSQL cluster of one test's own, started with the
// stack's script (deploy/local/postgres.sh on a temporary state folder and
// a free port) and stopped when the test ends. Only a private cluster may
// be crashed: never the shared one.
type PGCluster struct {
	// DSN reaches the database storecast as the role storecast.
	DSN string
	// Data is the cluster's data folder.
	Data string
}

// PrivatePostgres starts a private cluster for this test. It is skipped
// under -short and fails under STORECAST_INTEGRATION=1 when the script
// cannot start it.
func PrivatePostgres(t testing.TB) *PGCluster {
	t.Helper()
	skipShort(t, "a private PostgreSQL cluster")
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	port := strconv.Itoa(freePorts(t, 1)[0])
	script := filepath.Join(root, "deploy", "local", "postgres.sh")
	env := []string{"STORECAST_STATE_DIR=" + state, "STORECAST_PG_PORT=" + port}
	for _, kv := range os.Environ() {
		// The stack's DSNs would make the script treat PostgreSQL as external.
		if !strings.HasPrefix(kv, "STORECAST_PG_DSN=") && !strings.HasPrefix(kv, "STORECAST_PG_ADMIN_DSN=") &&
			!strings.HasPrefix(kv, "STORECAST_STATE_DIR=") && !strings.HasPrefix(kv, "STORECAST_PG_PORT=") {
			env = append(env, kv)
		}
	}
	run := func(verb string) ([]byte, error) {
		cmd := exec.Command("bash", script, verb)
		cmd.Env = env
		return cmd.CombinedOutput()
	}
	if out, err := run("up"); err != nil {
		need(t, "a private PostgreSQL cluster (deploy/local/postgres.sh up)", fmt.Errorf("%w\n%s", err, out))
	}
	t.Cleanup(func() {
		if out, err := run("down"); err != nil {
			t.Logf("private postgres down: %v\n%s", err, out)
		}
	})
	pw, err := os.ReadFile(filepath.Join(state, "postgres", "storecast.password"))
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(state, "postgres")
	if b, err := os.ReadFile(filepath.Join(home, "data-home")); err == nil {
		home = strings.TrimSpace(string(b))
	}
	return &PGCluster{
		DSN:  fmt.Sprintf("postgres://storecast:%s@127.0.0.1:%s/storecast?sslmode=disable", strings.TrimSpace(string(pw)), port),
		Data: filepath.Join(home, "data"),
	}
}

// CrashRestart restarts the cluster the way a crash does (`pg_ctl restart
// -m immediate`: no checkpoint, WAL recovery on start) and returns once it
// accepts connections again, with how long that took.
func (c *PGCluster) CrashRestart(t testing.TB) time.Duration {
	t.Helper()
	// -l: the restarted server logs there, not to pg_ctl's stdout (which it
	// would hold open for as long as it runs).
	pgCtl := []string{"/usr/lib/postgresql/15/bin/pg_ctl", "-D", c.Data, "-l", filepath.Join(filepath.Dir(c.Data), "restart.log"),
		"restart", "-m", "immediate", "-w", "-t", "60"}
	if os.Geteuid() == 0 {
		pgCtl = append([]string{"runuser", "-u", "postgres", "--"}, pgCtl...)
	}
	began := time.Now()
	if out, err := exec.Command(pgCtl[0], pgCtl[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(pgCtl, " "), err, out)
	}
	return time.Since(began)
}
