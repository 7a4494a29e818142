package systemtest

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// The compose checks run without a Docker engine: docker-compose.yml is
// loaded (interpolated, normalised, validated against the compose
// specification) by compose-spec's own loader, and the project it returns
// is checked against the list. nginx's config and the Dockerfiles
// are checked by `make test-compose` (nginx -t, hadolint).

// composeServices are the services the compose stack must have: every
// component of the system (issue 15, item 6).
var composeServices = []string{
	"kafka", "postgres", "mlflow", "trainer", "topics", "produce", "process", "sink", "serve", "champion",
	"prometheus", "grafana", "cadvisor", "node-exporter", "statsd-exporter", "pgadmin", "kafka-ui", "nginx", "airflow",
}

// imageUsers are the users the third-party images run as when the service
// sets none, and the folders that user may write (from each image's
// Dockerfile); volumes may be mounted only there.
var imageUsers = map[string]struct {
	user     string
	writable []string
}{
	"apache/kafka":                {"appuser (1000)", []string{"/var/lib/kafka/data"}},
	"postgres":                    {"root, dropping to postgres", []string{"/var/lib/postgresql/data"}},
	"prom/prometheus":             {"nobody (65534)", []string{"/prometheus"}},
	"grafana/grafana":             {"grafana (472)", []string{"/var/lib/grafana"}},
	"prom/node-exporter":          {"nobody (65534)", nil},
	"prom/statsd-exporter":        {"nobody (65534)", nil},
	"dpage/pgadmin4":              {"pgadmin (5050)", []string{"/var/lib/pgadmin"}},
	"ghcr.io/kafbat/kafka-ui":     {"kafkaui (100)", nil},
	"nginxinc/nginx-unprivileged": {"nginx (101)", nil},
	"ghcr.io/google/cadvisor":     {"root", nil},
	"apache/airflow":              {"airflow (50000)", []string{"/opt/airflow/logs"}},
	"storecast":                   {"", nil}, // built: its Dockerfile's USER
	"storecast-trainer":           {"", nil}, // built: its Dockerfile's USER
}

// rootImages run as root unless the service names a user.
var rootImages = map[string]bool{"postgres": true, "ghcr.io/google/cadvisor": true}

// requiredSecrets are the variables compose refuses to start without.
var requiredSecrets = []string{
	"STORECAST_PG_PASSWORD", "STORECAST_API_TOKEN", "GRAFANA_ADMIN_PASSWORD", "PGADMIN_EMAIL", "PGADMIN_PASSWORD",
	"AIRFLOW_FERNET_KEY", "AIRFLOW_SECRET_KEY",
}

func loadCompose(t *testing.T, env []string) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithEnv(env), cli.WithName("storecast"))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(t.Context())
}

// exampleEnv is deploy/docker/example.env with every empty value set.
func exampleEnv(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "deploy/docker/example.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var env []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, _ := strings.Cut(line, "=")
		if value != "" {
			t.Errorf("example.env: %s has a value (%q): no defaults for secrets", name, value)
		}
		env = append(env, name+"=test-value-"+strings.ToLower(name))
	}
	return env
}

func TestComposeNeedsEverySecret(t *testing.T) {
	t.Parallel()
	env := exampleEnv(t)
	var names []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	if !slices.Equal(slices.Sorted(slices.Values(names)), slices.Sorted(slices.Values(requiredSecrets))) {
		t.Errorf("example.env documents %v, want %v", names, requiredSecrets)
	}
	for i, name := range names {
		without := slices.Delete(slices.Clone(env), i, i+1)
		_, err := loadCompose(t, without)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s: load error = %v, want one naming it", name, err)
		}
	}
}

func TestComposeProject(t *testing.T) {
	t.Parallel()
	p, err := loadCompose(t, exampleEnv(t))
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	root := repoRoot(t)
	for _, name := range composeServices {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("service %s is missing", name)
		}
	}
	// nginx routes every UI and API of the list.
	conf, err := os.ReadFile(filepath.Join(root, "deploy/docker/nginx/nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, route := range []string{"location / ", "predict|v1/", "docs", "location ~ ^/train", "location /mlflow/", "location /grafana/", "location /airflow/"} {
		if !strings.Contains(string(conf), route) {
			t.Errorf("nginx.conf routes nothing at %q", route)
		}
	}
	ports := readmePorts(t)
	known := knownVariables(t)
	for name, s := range p.Services {
		job := s.Restart == "no"
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// Health: every long-running service has a healthcheck; jobs run once.
			if !job {
				if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
					t.Error("no healthcheck")
				}
				if s.Restart != "unless-stopped" && s.Restart != "always" {
					t.Errorf("restart = %q, want unless-stopped", s.Restart)
				}
			}
			// Dependencies wait on health, or on a job's success.
			for dep, d := range s.DependsOn {
				want := types.ServiceConditionHealthy
				if ds, ok := p.Services[dep]; ok && ds.Restart == "no" {
					want = types.ServiceConditionCompletedSuccessfully
				}
				if d.Condition != want {
					t.Errorf("depends_on %s: condition %q, want %q", dep, d.Condition, want)
				}
			}
			// Ports: loopback only, at a port the README lists.
			for _, port := range s.Ports {
				if port.HostIP != "127.0.0.1" {
					t.Errorf("port %s published on %q, want 127.0.0.1", port.Published, port.HostIP)
				}
				if what, ok := ports[port.Published]; !ok {
					t.Errorf("published port %s is not in README.md's Ports table", port.Published)
				} else if !strings.Contains(what, "compose") && !strings.Contains(what, name) && !portServes(name, what) {
					t.Errorf("published port %s: README says it is %q, not %s", port.Published, what, name)
				}
			}
			// Variables: every STORECAST_* one is read by the code.
			for k := range s.Environment {
				if strings.HasPrefix(k, "STORECAST_") && !known[k] {
					t.Errorf("environment %s is read by no Storecast code or script", k)
				}
			}
			// Images: pinned; non-root; volumes writable by the image's user.
			repo, tag := splitImage(s.Image)
			if !pinned(tag) {
				t.Errorf("image %q is not pinned to a version", s.Image)
			}
			info, ok := imageUsers[repo]
			if !ok {
				t.Errorf("image %s: add its user and writable folders to imageUsers", repo)
			}
			writable := info.writable
			if s.Build != nil {
				df := s.Build.Dockerfile
				if !filepath.IsAbs(df) {
					df = filepath.Join(s.Build.Context, df)
				}
				var user string
				user, writable = dockerfileUser(t, df)
				if user == "" || user == "root" || user == "0" || strings.HasPrefix(user, "0:") {
					t.Errorf("%s: the final stage runs as %q, want a non-root USER", df, user)
				}
			}
			root := rootImages[repo] && (s.User == "" || s.User == "root" || s.User == "0")
			if (root || s.Privileged) && s.Extensions["x-root"] == nil {
				t.Errorf("runs as root or privileged without an x-root justification")
			}
			for _, v := range s.Volumes {
				if v.Type != types.VolumeTypeVolume || v.ReadOnly {
					continue
				}
				if !slices.Contains(writable, v.Target) {
					t.Errorf("volume %s at %s: not a folder the image's user may write (%v)", v.Source, v.Target, writable)
				}
			}
		})
	}
}

// portServes reports whether the README's description names service.
func portServes(service, what string) bool {
	return strings.Contains(strings.ToLower(what), strings.ReplaceAll(service, "-", " "))
}

var tagVersion = regexp.MustCompile(`\d`)

func pinned(tag string) bool {
	return strings.HasPrefix(tag, "@sha256:") || (tag != "" && tag != "latest" && tagVersion.MatchString(tag)) || tag == "local"
}

// splitImage splits "repo:tag" (a registry host may hold a port).
func splitImage(image string) (repo, tag string) {
	if i := strings.Index(image, "@"); i >= 0 {
		return image[:i], image[i:]
	}
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return image, ""
	}
	return image[:i], image[i+1:]
}

// dockerfileUser returns the final stage's USER and the folders it chowns
// to it (RUN chown, COPY --chown), and checks every FROM is pinned.
func dockerfileUser(t *testing.T, path string) (user string, writable []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	chown := regexp.MustCompile(`chown\s+(?:-R\s+)?\S+\s+(/\S+)`)
	copyChown := regexp.MustCompile(`^COPY\s+.*--chown=\S+\s+.*\s(/\S+)$`)
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "FROM "):
			user, writable = "", nil
			image := strings.Fields(line)[1]
			if _, tag := splitImage(image); !pinned(tag) && !tagVersion.MatchString(image) {
				t.Errorf("%s: %q is not pinned", path, line)
			}
		case strings.HasPrefix(line, "USER "):
			user = strings.TrimSpace(strings.TrimPrefix(line, "USER "))
		case copyChown.MatchString(line):
			writable = append(writable, copyChown.FindStringSubmatch(line)[1])
		}
		for _, m := range chown.FindAllStringSubmatch(line, -1) {
			writable = append(writable, m[1])
		}
	}
	return user, writable
}

// readmePorts returns README.md's Ports table: port → service.
func readmePorts(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## Ports\n")
	if i < 0 {
		t.Fatal(`README.md has no "## Ports" section`)
	}
	s = s[i+1:]
	if j := strings.Index(s[3:], "\n## "); j >= 0 {
		s = s[:j+3]
	}
	row := regexp.MustCompile(`(?m)^\| (\d+) \| (.+) \|$`)
	out := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(s, -1) {
		if _, err := strconv.Atoi(m[1]); err == nil {
			out[m[1]] = m[2]
		}
	}
	if len(out) == 0 {
		t.Fatal("README.md's Ports table has no rows")
	}
	return out
}

// knownVariables are the STORECAST_* variables some code reads: the Go
// commands' env twins, the trainer's and the stack scripts'.
func knownVariables(t *testing.T) map[string]bool {
	t.Helper()
	root := repoRoot(t)
	name := regexp.MustCompile(`STORECAST_[A-Z0-9_]+`)
	envTag := regexp.MustCompile(`env:"(STORECAST_[A-Z0-9_]+)"`)
	known := map[string]bool{}
	walk := func(dir string, match func(path string) bool, re *regexp.Regexp, group int) {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == ".venv" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if d.IsDir() || !match(path) {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				known[m[group]] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	walk("cmd", func(p string) bool { return strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") }, envTag, 1)
	walk("trainer/src", func(p string) bool { return strings.HasSuffix(p, ".py") }, name, 0)
	walk("deploy/local", func(p string) bool { return strings.HasSuffix(p, ".sh") }, name, 0)
	if len(known) < 10 {
		t.Fatalf("found only %d STORECAST_ variables in the code: the scan is broken", len(known))
	}
	return known
}

// TestComposeChampionJobHasItsScripts keeps the trainer image in step with
// deploy/local/champion.sh, which compose's champion job runs unchanged:
// every deploy/local file it uses must be copied into the image.
func TestComposeChampionJobHasItsScripts(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	script, err := os.ReadFile(filepath.Join(root, "deploy/local/champion.sh"))
	if err != nil {
		t.Fatal(err)
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "deploy/docker/trainer.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{"lib.sh": true}
	for _, m := range regexp.MustCompile(`\$LOCAL_DIR/([A-Za-z0-9_.-]+)`).FindAllStringSubmatch(string(script), -1) {
		used[m[1]] = true
	}
	for f := range used {
		if !strings.Contains(string(dockerfile), "deploy/local/"+f) {
			t.Errorf("champion.sh uses deploy/local/%s, which trainer.Dockerfile does not copy", f)
		}
	}
}
