package systemtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/topics"
)

// airflowStores and airflowDays size the synthetic world of TestAirflowDAG:
// small enough to train in seconds, big enough for the trainer's
// validation window.
const (
	airflowStores = 12
	airflowDays   = 420
)

// TestAirflowDAG runs the DAG train_predict_to_db with `airflow dags test`
// against a Storecast of its own (suffixed topics, its own sales database,
// its own Airflow metadata database and API server), so it never touches the
// user's data:
//
//   - a run that trains a champion, starts a forecast job and verifies it:
//     exactly stores × 42 rows with one job id in forecast_results, written
//     by the forecast processor, GET /v1/forecast-jobs/{id} complete, and the
//     run's note names them;
//   - a run whose training fails: the run fails and no forecast is written;
//   - the README's REST trigger example against Airflow's /api/v2.
func TestAirflowDAG(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	kcfg := testkit.Kafka(t)
	salesDSN := testkit.Postgres(t)
	metaDSN := testkit.Postgres(t)
	root := repoRoot(t)
	airflowBin := filepath.Join(root, "airflow", ".venv", "bin", "airflow")
	trainer := filepath.Join(root, "trainer", ".venv", "bin", "storecast-trainer")
	for _, p := range []string{airflowBin, trainer} {
		if _, err := os.Stat(p); err != nil {
			if testkit.Integration() {
				t.Fatalf("%s is not installed (%v); `make airflow-venv trainer-venv` installs it", p, err)
			}
			t.Skip(p + " is not installed")
		}
	}
	suffix := testkit.UniqueSuffix(t)
	names := topics.DefaultNames().WithSuffix(suffix)
	testkit.CreateTopics(t, kcfg, names)
	bin := build(t)
	env := []string{"STORECAST_BROKERS=" + strings.Join(kcfg.Brokers, ","), "STORECAST_NAMES_SUFFIX=" + suffix}
	token := randomHex(t)
	forecastAddr, trainAddr := freeAddr(t), freeAddr(t)
	state := t.TempDir()

	// A synthetic chain ending 2015-06-19, replayed through the real services.
	start := time.Now()
	run(t, env, bin, "produce", "--stores", fmt.Sprint(airflowStores), "--days", fmt.Sprint(airflowDays),
		"--end", "2015-06-19", "--seed", "12", "--metrics-addr", "")
	service(t, "process", env, bin, "process", "--only", "features,forecast", "--storage-dir", filepath.Join(state, "goka"), "--metrics-addr", "")
	service(t, "sink", env, bin, "sink", "run", "--pg-dsn", salesDSN, "--metrics-addr", "")
	service(t, "serve", append(env, "STORECAST_PG_READ_DSN="+salesDSN), bin, "serve", "--forecast-addr", forecastAddr, "--train-addr", trainAddr,
		"--api-token", token, "--storage-dir", "")
	service(t, "trainer", env, trainer, "worker", "--metrics-addr", freeAddr(t))
	fURL := "http://" + forecastAddr
	poll(t, "the store table to reach 2015-06-19", 5*time.Minute, func() (bool, string) {
		code, b, err := call("GET", fmt.Sprintf("%s/v1/stores/%d", fURL, airflowStores), "", "")
		if err != nil {
			return false, err.Error()
		}
		return code == 200 && strings.Contains(string(b), `"latest_day":"2015-06-19"`), string(b)
	})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, salesDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	poll(t, "the sales in PostgreSQL", 5*time.Minute, func() (bool, string) {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(DISTINCT store) FROM rossman_sales WHERE date = '2015-06-19'`).Scan(&n); err != nil {
			return false, err.Error()
		}
		return n == airflowStores, fmt.Sprint(n, " stores on 2015-06-19")
	})
	t.Logf("world ready at %s", time.Since(start).Round(time.Second))

	// The DAG reads sales through a login role that is only a member of the
	// sink's read-only role.
	reader, readerPW := readOnlyRole(t, salesDSN)

	// Airflow of its own: metadata in metaDSN, API server on a free port (the
	// report task sets the run's note through it).
	home := t.TempDir()
	adminPW := randomHex(t)
	if err := os.MkdirAll(filepath.Join(state, "airflow"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "airflow", "admin.password"), []byte(adminPW), 0o600); err != nil {
		t.Fatal(err)
	}
	passwords := filepath.Join(home, "passwords.json")
	if err := os.WriteFile(passwords, []byte(fmt.Sprintf(`{"admin": %q}`, adminPW)), 0o600); err != nil {
		t.Fatal(err)
	}
	apiAddr := freeAddr(t)
	apiHost, apiPort, _ := strings.Cut(apiAddr, ":")
	sales, err := url.Parse(salesDSN)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := url.Parse(metaDSN)
	if err != nil {
		t.Fatal(err)
	}
	meta.Scheme, meta.RawQuery = "postgresql+psycopg2", ""
	httpConn := func(addr, login, password string) string {
		host, port, _ := strings.Cut(addr, ":")
		b, _ := json.Marshal(map[string]any{"conn_type": "http", "schema": "http", "host": host, "port": port, "login": login, "password": password})
		return string(b)
	}
	pgConn, _ := json.Marshal(map[string]any{"conn_type": "postgres", "host": sales.Hostname(), "port": sales.Port(),
		"schema": strings.TrimPrefix(sales.Path, "/"), "login": reader, "password": readerPW})
	aenv := []string{
		"AIRFLOW_HOME=" + home,
		"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=" + meta.String(),
		"AIRFLOW__CORE__DAGS_FOLDER=" + filepath.Join(root, "airflow", "dags"),
		"AIRFLOW__CORE__LOAD_EXAMPLES=False",
		"AIRFLOW__CORE__EXECUTOR=LocalExecutor",
		"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin",
		"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=" + passwords,
		"AIRFLOW__API__HOST=" + apiHost,
		"AIRFLOW__API__PORT=" + apiPort,
		"AIRFLOW__API__BASE_URL=http://" + apiAddr,
		"AIRFLOW__API__WORKERS=1",
		"AIRFLOW__API__SECRET_KEY=" + randomHex(t),
		"AIRFLOW__API_AUTH__JWT_SECRET=" + randomHex(t),
		"AIRFLOW__LOGGING__BASE_LOG_FOLDER=" + filepath.Join(home, "logs"),
		"SCARF_ANALYTICS=false",
		"AIRFLOW_CONN_STORECAST_TRAIN_API=" + httpConn(trainAddr, "", token),
		"AIRFLOW_CONN_STORECAST_FORECAST_API=" + httpConn(forecastAddr, "", token),
		"AIRFLOW_CONN_STORECAST_AIRFLOW_API=" + httpConn(apiAddr, "admin", adminPW),
		"AIRFLOW_CONN_STORECAST_SALES_READER=" + string(pgConn),
		// The stack's own Airflow settings must not leak in from .state/env.
		"STORECAST_STATE_DIR=" + state,
	}
	t0 := time.Now()
	runTimeout(t, 10*time.Minute, aenv, airflowBin, "db", "migrate")
	// The DAG in the metadata database, as the DAG processor would put it
	// (the API server, which the report task calls for the run's note,
	// reads DAGs from there).
	runTimeout(t, 5*time.Minute, aenv, airflowBin, "dags", "reserialize")
	t.Logf("airflow db migrate and dags reserialize: %s", time.Since(t0).Round(time.Second))
	service(t, "airflow-api-server", aenv, airflowBin, "api-server")
	aURL := "http://" + apiAddr
	poll(t, "Airflow's API server", 3*time.Minute, func() (bool, string) {
		code, b, err := call("GET", aURL+"/api/v2/monitor/health", "", "")
		return err == nil && code == 200, fmt.Sprint(code, string(b), err)
	})

	// 1. Success: train, gate, forecast through the processor, verify, report.
	t0 = time.Now()
	// A two-week validation window keeps the training short (and within
	// the days the store state serves snapshots for).
	out, err := runAirflow(15*time.Minute, aenv, airflowBin, "dags", "test", "-c",
		`{"train": {"params": {"val_days": "14"}}}`, "train_predict_to_db")
	if err != nil {
		t.Fatalf("airflow dags test (success scenario): %v\n%s", err, tail(out, 150))
	}
	t.Logf("success run: %s", time.Since(t0).Round(time.Second))
	jobID, rows := onlyJob(t, conn)
	if want := airflowStores * 42; rows != want {
		t.Fatalf("forecast job %s wrote %d rows, want %d (stores × 42)", jobID, rows, want)
	}
	var bad int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM forecast_results WHERE job_id = $1 AND source <> 'processor'`, jobID).Scan(&bad); err != nil || bad != 0 {
		t.Fatalf("%d rows of job %s not written by the forecast processor (%v)", bad, jobID, err)
	}
	code, b, err := call("GET", fURL+"/v1/forecast-jobs/"+jobID, "", "")
	if err != nil || code != 200 || !strings.Contains(string(b), `"status":"complete"`) {
		t.Fatalf("GET /v1/forecast-jobs/%s: %d %s %v", jobID, code, b, err)
	}
	note := latestRunNote(t, aURL, adminPW)
	if !strings.Contains(note, "forecast job "+jobID+": "+fmt.Sprint(rows)+" rows") || !strings.Contains(note, "(promoted: True)") {
		t.Errorf("the run's note does not name the promoted model, the job and its rows:\n%s", note)
	}
	t.Logf("run note:\n%s", note)

	// 2. A training that fails (no examples in its range) fails the run and
	// writes no forecast.
	out, err = runAirflow(10*time.Minute, aenv, airflowBin, "dags", "test", "-c",
		`{"train": {"start_date": "1990-01-01", "end_date": "1990-01-31"}}`, "train_predict_to_db")
	if err == nil {
		t.Fatalf("airflow dags test (failing training) succeeded:\n%s", tail(out, 100))
	}
	if !strings.Contains(out, "no examples in range") {
		t.Errorf("the failed run does not name the trainer's reason:\n%s", tail(out, 100))
	}
	if id, n := onlyJob(t, conn); id != jobID || n != rows {
		t.Errorf("after the failed run: job %s with %d rows, want only %s with %d", id, n, jobID, rows)
	}

	// 3. The README's trigger example against /api/v2.
	runReadmeSection(t, "Orchestration (Airflow)", map[string]string{"http://127.0.0.1:8080": aURL},
		[]string{"STORECAST_STATE_DIR=" + state})
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// readOnlyRole creates a login role whose only privilege on dsn's database
// is membership in the sink's storecast_reader role, and drops it when the
// test ends.
func readOnlyRole(t *testing.T, dsn string) (string, string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var db string
	if err := c.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	role, pw := db+"_reader", randomHex(t)
	id := pgx.Identifier{role}.Sanitize()
	for _, q := range []string{
		"CREATE ROLE " + id + " LOGIN PASSWORD '" + pw + "'",
		"GRANT CONNECT ON DATABASE " + pgx.Identifier{db}.Sanitize() + " TO " + id,
		"GRANT storecast_reader TO " + id,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", strings.Replace(q, pw, "***", 1), err)
		}
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Logf("drop role %s: %v", role, err)
			return
		}
		defer c.Close(context.Background())
		for _, q := range []string{"REVOKE CONNECT ON DATABASE " + pgx.Identifier{db}.Sanitize() + " FROM " + id, "DROP ROLE " + id} {
			if _, err := c.Exec(context.Background(), q); err != nil {
				t.Logf("%s: %v", q, err)
			}
		}
	})
	return role, pw
}

// onlyJob returns the one forecast job in forecast_results and its rows;
// it fails the test when there is none or more than one.
func onlyJob(t *testing.T, conn *pgx.Conn) (string, int) {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT job_id, count(*) FROM forecast_results WHERE job_id IS NOT NULL GROUP BY job_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	var n int
	for rows.Next() {
		var id string
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 {
		t.Fatalf("forecast jobs in forecast_results: %v, want exactly one", ids)
	}
	return ids[0], n
}

// latestRunNote reads the note of the DAG's newest run through /api/v2.
func latestRunNote(t *testing.T, base, password string) string {
	t.Helper()
	code, b, err := call("POST", base+"/auth/token", "", fmt.Sprintf(`{"username":"admin","password":%q}`, password))
	if err != nil || code != http.StatusCreated {
		t.Fatalf("POST /auth/token: %d %s %v", code, b, err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(b, &tok); err != nil {
		t.Fatal(err)
	}
	code, b, err = call("GET", base+"/api/v2/dags/train_predict_to_db/dagRuns?order_by=-run_after&limit=1", tok.AccessToken, "")
	if err != nil || code != 200 {
		t.Fatalf("GET dagRuns: %d %s %v", code, b, err)
	}
	var runs struct {
		DagRuns []struct {
			Note  string `json:"note"`
			State string `json:"state"`
		} `json:"dag_runs"`
	}
	if err := json.Unmarshal(b, &runs); err != nil || len(runs.DagRuns) != 1 {
		t.Fatalf("dagRuns: %s %v", b, err)
	}
	if runs.DagRuns[0].State != "success" {
		t.Fatalf("the newest run is %s, want success", runs.DagRuns[0].State)
	}
	return runs.DagRuns[0].Note
}

// runAirflow runs an airflow CLI command and returns its combined output.
func runAirflow(timeout time.Duration, env []string, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func runTimeout(t *testing.T, timeout time.Duration, env []string, bin string, args ...string) {
	t.Helper()
	if out, err := runAirflow(timeout, env, bin, args...); err != nil {
		t.Fatalf("%s %v: %v\n%s", bin, args, err, tail(out, 100))
	}
}
