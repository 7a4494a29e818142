package systemtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/internal/testkit"
)

// TestAirflowStatsdMapping runs the stack's statsd exporter (the pinned
// binary deploy/local/statsd-exporter.sh installs) with
// deploy/prometheus/statsd-mapping.yml on free ports, sends it StatsD lines as
// Airflow names them, and checks the Prometheus series they become: each
// mapped family with its labels and values (timers in seconds), nothing from
// the lines the mapping drops, and names that pass the naming lint.
func TestAirflowStatsdMapping(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the statsd exporter")
	}
	root := repoRoot(t)
	install := exec.Command(filepath.Join(root, "deploy/local/statsd-exporter.sh"), "install")
	install.Env = os.Environ()
	out, err := install.Output()
	if err != nil {
		if testkit.Integration() {
			t.Fatalf("statsd-exporter.sh install: %v", err)
		}
		t.Skipf("statsd-exporter.sh install: %v", err)
	}
	bin := strings.TrimSpace(string(out))

	web := freeAddr(t)
	udp := freeUDPAddr(t)
	service(t, "statsd-exporter", nil, bin, "--web.listen-address="+web, "--statsd.listen-udp="+udp,
		"--statsd.listen-tcp=", "--statsd.mapping-config="+filepath.Join(root, "deploy/prometheus/statsd-mapping.yml"))
	url := "http://" + web + "/metrics"
	poll(t, "the statsd exporter's /metrics", time.Minute, func() (bool, string) {
		code, _, err := call("GET", url, "", "")
		return err == nil && code == 200, fmt.Sprint(code, err)
	})

	const dag, task, file = "train_predict_to_db", "train", "train_predict_to_db"
	lines := []string{
		"airflow.scheduler_heartbeat:1|c", "airflow.scheduler_heartbeat:1|c", "airflow.scheduler_heartbeat:1|c",
		"airflow.dag_processor_heartbeat:1|c",
		"airflow.triggerer_heartbeat:1|c",
		"airflow.scheduler.scheduler_loop_duration:250|ms",
		"airflow.scheduler.tasks.executable:2|g",
		"airflow.executor.open_slots:2|g",
		"airflow.pool.open_slots.default_pool:128|g",
		"airflow.dagrun.duration.success." + dag + ":1500|ms",
		"airflow.dagrun.schedule_delay." + dag + ":3000|ms",
		"airflow.ti.finish." + dag + "." + task + ".success:1|c",
		"airflow.ti.start." + dag + "." + task + ":1|c",
		"airflow.ti_failures:1|c",
		"airflow.ti_successes:1|c",
		"airflow.dag_processing.total_parse_time:0.5|g",
		"airflow.dag_processing.import_errors:0|g",
		"airflow.dag_processing.last_duration." + file + ":120|ms",
		"airflow.dag_processing.last_run.seconds_ago." + file + ":7|g",
		"airflow.dagbag_size:1|g",
		// Dropped: the per-state aggregate of the DAG-run durations above, and Airflow's internals.
		"airflow.dagrun.duration.success:1500|ms",
		"airflow.collect_db_dags:40|ms",
		"airflow.sentinel:1|c",
	}
	conn, err := net.Dial("udp", udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, l := range lines {
		if _, err := conn.Write([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}

	want := map[string]string{
		`airflow_scheduler_heartbeats_total`:                                                          "3",
		`airflow_dag_processor_heartbeats_total`:                                                      "1",
		`airflow_triggerer_heartbeats_total`:                                                          "1",
		`airflow_scheduler_loop_duration_seconds_sum`:                                                 "0.25",
		`airflow_scheduler_tasks{state="executable"}`:                                                 "2",
		`airflow_executor_open_slots`:                                                                 "2",
		`airflow_pool_open_slots{pool="default_pool"}`:                                                "128",
		`airflow_dagrun_duration_seconds_sum{dag_id="` + dag + `",state="success"}`:                   "1.5",
		`airflow_dagrun_duration_seconds_count{dag_id="` + dag + `",state="success"}`:                 "1",
		`airflow_dagrun_schedule_delay_seconds_sum{dag_id="` + dag + `"}`:                             "3",
		`airflow_task_instances_finished_total{dag_id="` + dag + `",state="success",task_id="train"}`: "1",
		`airflow_task_instances_started_total{dag_id="` + dag + `",task_id="train"}`:                  "1",
		`airflow_task_instance_failures_total`:                                                        "1",
		`airflow_task_instance_successes_total`:                                                       "1",
		`airflow_dag_processing_total_parse_seconds`:                                                  "0.5",
		`airflow_dag_processing_import_errors`:                                                        "0",
		`airflow_dag_processing_file_duration_seconds_sum{file="` + file + `"}`:                       "0.12",
		`airflow_dag_processing_last_run_age_seconds{file="` + file + `"}`:                            "7",
		`airflow_dagbag_dags`:                                                                         "1",
	}
	var body []byte
	// UDP: the lines are processed asynchronously; the last one mapped arrives last.
	poll(t, "every mapped series", time.Minute, func() (bool, string) {
		_, b, err := call("GET", url, "", "")
		if err != nil {
			return false, err.Error()
		}
		body = b
		got := series(b, "airflow_")
		for k, v := range want {
			if got[k] != v {
				return false, fmt.Sprintf("%s = %q, want %s", k, got[k], v)
			}
		}
		return true, ""
	})
	got := series(body, "airflow_")
	var extra []string
	for k := range got {
		if _, ok := want[k]; !ok && !regexp.MustCompile(`_(bucket|count|sum)\{|_(count|sum)$`).MatchString(k) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("series the mapping should drop or this test does not know: %v", extra)
	}
	// The exporter counted the dropped lines as such.
	if n := series(body, "statsd_exporter_events_actions_total")[`statsd_exporter_events_actions_total{action="drop"}`]; n != "3" {
		t.Errorf("dropped events = %q, want 3", n)
	}
	testkit.LintExposition(t, "statsd exporter", bytes.NewReader(body), "airflow_")
}

// series returns the samples of a /metrics answer whose names start with
// prefix: series (name and labels as written) → value.
func series(body []byte, prefix string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		if i := strings.LastIndexByte(l, ' '); i > 0 {
			out[l[:i]] = l[i+1:]
		}
	}
	return out
}

func freeUDPAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	_ = c.Close()
	return addr
}
