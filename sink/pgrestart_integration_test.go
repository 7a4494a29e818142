package sink

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/internal/testkit"
)

// privatePostgres starts a PostgreSQL cluster of the test's own with the
// stack's script (deploy/local/postgres.sh on a temporary state folder and
// a free port), stopped when the test ends; it returns the DSN of the
// role storecast and the cluster's data folder. Only a private cluster may
// be crashed: never the shared one.
func privatePostgres(t *testing.T) (dsn, data string) {
	t.Helper()
	state := t.TempDir()
	addr := freeAddr(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	script := filepath.Join("..", "deploy", "local", "postgres.sh")
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
		t.Fatalf("private postgres: %v\n%s", err, out)
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
	return fmt.Sprintf("postgres://storecast:%s@127.0.0.1:%s/storecast?sslmode=disable", strings.TrimSpace(string(pw)), port),
		filepath.Join(home, "data")
}

// TestPostgresCrashRestart streams sales into the sink while its
// PostgreSQL crashes and restarts (`pg_ctl restart -m immediate`: no
// checkpoint, WAL recovery on start): the sink reconnects by itself,
// becomes ready again, and rossman_sales equals the input exactly (no row
// lost, none doubled: the offsets commit in the rows' transaction).
func TestPostgresCrashRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	t.Parallel()
	kc := testkit.Kafka(t)
	dsn, data := privatePostgres(t)
	e := newEnvOn(t, kc, dsn)
	all := trainSales(t)
	before, during := all[:100_000], all[100_000:200_000]
	produce(t, e.kafka, string(e.names.Sales), saleMessages(before))
	r := start(t, e.config(dsn))
	deadline := time.Now().Add(time.Minute)
	for total(storedOffsets(t, dsn, e.names.SinkGroup, string(e.names.Sales))) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("sink wrote nothing")
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		produce(t, e.kafka, string(e.names.Sales), saleMessages(during))
	}()
	// -l: the restarted server logs there, not to pg_ctl's stdout (which it
	// would hold open for as long as it runs).
	pgCtl := []string{"/usr/lib/postgresql/15/bin/pg_ctl", "-D", data, "-l", filepath.Join(filepath.Dir(data), "restart.log"),
		"restart", "-m", "immediate", "-w", "-t", "60"}
	if os.Geteuid() == 0 {
		pgCtl = append([]string{"runuser", "-u", "postgres", "--"}, pgCtl...)
	}
	crashed := time.Now()
	if err := exec.Command(pgCtl[0], pgCtl[1:]...).Run(); err != nil {
		t.Fatalf("%s: %v", strings.Join(pgCtl, " "), err)
	}
	restarted := time.Now()
	t.Logf("PostgreSQL crash-restarted in %s", restarted.Sub(crashed).Round(time.Millisecond))
	<-done

	waitCaughtUp(t, e, dsn, e.names.SinkGroup, 3*time.Minute, string(e.names.Sales))
	checkSales(t, dsn, expected(before, during))
	deadline = time.Now().Add(30 * time.Second)
	for !r.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("sink not ready 30 s after catching up")
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	t.Logf("sink caught up and ready %s after PostgreSQL was back", time.Since(restarted).Round(100*time.Millisecond))
}
