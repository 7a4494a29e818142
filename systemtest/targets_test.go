package systemtest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/storecast/storecast/topics"
)

// coveredBy names, for the long-running processes the stack scripts start
// whose scrape target carries another component label, the component that
// covers them: an exporter is its target's component, and Airflow's
// components reach Prometheus through the statsd exporter (their liveness
// through the heartbeat alert).
var coveredBy = map[string]string{
	"node-exporter":     "host",
	"postgres-exporter": "postgres",
	"statsd-exporter":   "airflow",
	"api-server":        "airflow",
	"scheduler":         "airflow",
	"dag-processor":     "airflow",
}

// TestEveryLongRunningComponentIsScraped fails when a long-running process
// the stack scripts start has no scrape job in deploy/prometheus/prometheus.yml:
// every service of deploy/local/stack.sh (CORE, APPS, SERVICES), every daemon
// prometheus.sh starts and every Airflow component must be the component label
// of a long-running job (directly or through coveredBy), and every job must
// cover something the scripts start. docker-compose's config must have the
// same jobs, less the host-side exporters compose does not run.
func TestEveryLongRunningComponentIsScraped(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var started []string
	stack := read("deploy/local/stack.sh")
	for _, name := range []string{"CORE", "APPS", "SERVICES"} {
		started = append(started, shellArray(t, stack, name)...)
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*(?:\S+=\S+ )*daemon_up ([a-z-]+) `).FindAllStringSubmatch(read("deploy/local/prometheus.sh"), -1) {
		started = append(started, m[1])
	}
	started = append(started, shellArray(t, read("deploy/local/airflow.sh"), "COMPONENTS")...)
	if len(started) < 10 {
		t.Fatalf("found only %v in the stack scripts; did their layout change?", started)
	}

	jobs := scrapeJobs(t, read("deploy/prometheus/prometheus.yml"))
	byComponent := map[string][]string{}
	for job, labels := range jobs {
		if labels["oneshot"] != "true" {
			byComponent[labels["component"]] = append(byComponent[labels["component"]], job)
		}
	}
	used := map[string]bool{}
	for _, p := range started {
		c := p
		if cov, ok := coveredBy[p]; ok {
			c = cov
		}
		js, ok := byComponent[c]
		if !ok {
			t.Errorf("the stack scripts start %s, but no long-running job of deploy/prometheus/prometheus.yml has component %q", p, c)
			continue
		}
		for _, j := range js {
			used[j] = true
		}
	}
	for job, labels := range jobs {
		if labels["oneshot"] != "true" && !used[job] {
			t.Errorf("job %s (component %q) covers nothing the stack scripts start", job, labels["component"])
		}
	}

	// Compose runs no node, PostgreSQL or Kafka exporter of its own (cAdvisor
	// and its node exporter are the compose file's business).
	hostOnly := map[string]bool{"node": true, "postgres": true, "kafka": true}
	compose := scrapeJobs(t, read("deploy/prometheus/prometheus-compose.yml"))
	for job := range jobs {
		if _, ok := compose[job]; !ok && !hostOnly[job] {
			t.Errorf("deploy/prometheus/prometheus-compose.yml has no job %s", job)
		}
	}
}

// shellArray returns the words of the bash array assignment NAME=(...) in src.
func shellArray(t *testing.T, src, name string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `=\(([^)]*)\)`).FindStringSubmatch(src)
	if m == nil {
		t.Fatalf("no %s=(...) array", name)
	}
	return strings.Fields(m[1])
}

// scrapeJobs returns each job of a Prometheus config with the labels of its
// static targets.
func scrapeJobs(t *testing.T, src string) map[string]map[string]string {
	t.Helper()
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	jobs := map[string]map[string]string{}
	for _, sc := range cfg.ScrapeConfigs {
		labels := map[string]string{}
		for _, st := range sc.StaticConfigs {
			for k, v := range st.Labels {
				labels[k] = v
			}
		}
		jobs[sc.JobName] = labels
	}
	names := make([]string, 0, len(jobs))
	for n := range jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("jobs: %v", names)
	return jobs
}

// TestJMXExporterWatchesStorecastTopics: the broker's JMX exporter reads the
// log sizes of exactly Storecast's topic partitions, by exact bean names (a
// bean per partition of every topic a test left behind made a scrape take
// longer than Prometheus waits).
func TestJMXExporterWatchesStorecastTopics(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy/kafka/jmx-exporter.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		IncludeObjectNames []string `yaml:"includeObjectNames"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, n := range cfg.IncludeObjectNames {
		if tp, ok := strings.CutPrefix(n, "kafka.log:type=Log,name=Size,topic="); ok {
			got = append(got, strings.Replace(tp, ",partition=", "/", 1))
		}
		// A pattern walks every bean of its domain: none over the
		// per-partition domains.
		if (strings.HasPrefix(n, "kafka.log:") || strings.HasPrefix(n, "kafka.server:")) && strings.Contains(n, "*") {
			t.Errorf("jmx-exporter.yml includes the pattern %q", n)
		}
	}
	for _, s := range topics.DefaultNames().Specs() {
		for p := range s.Partitions {
			want = append(want, fmt.Sprintf("%s/%d", s.Name, p))
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("jmx-exporter.yml reads the log sizes of %v, want Storecast's topic partitions %v", got, want)
	}
}
