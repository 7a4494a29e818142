package systemtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestNginxLimits runs the compose stack's nginx config (Debian's nginx,
// its upstreams pointed at a stub) and checks the limits README's "Limits"
// section promises at the entry point: a request body over 16 MiB answers
// 413, and a client sending faster than 50 requests/s (after a burst of
// 100) gets 429 without the request reaching the API.
func TestNginxLimits(t *testing.T) {
	t.Parallel()
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if os.Getenv("STORECAST_INTEGRATION") == "1" {
			t.Fatal("nginx is required (STORECAST_INTEGRATION=1): apt-get install nginx-light (.ci/run does)")
		}
		t.Skip("nginx not installed")
	}
	var mu sync.Mutex
	reached := 0
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		reached++
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(upstream.Close)

	dir := t.TempDir()
	port := freePort(t)
	conf := nginxConfFor(t, upstream.URL, dir, port)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, nginx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path, "-g", "daemon off; master_process off;")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHTTP(t, base+"/nginx-health", &out)

	// Size: one byte over 16 MiB is refused before the API sees it.
	resp := post(t, base+"/v1/forecasts", bytes.Repeat([]byte("x"), 16<<20+1))
	if resp != http.StatusRequestEntityTooLarge {
		t.Errorf("POST /v1/forecasts with 16 MiB + 1: %d, want 413", resp)
	}

	// Rate: 400 requests at once from one client.
	mu.Lock()
	reached = 0
	mu.Unlock()
	codes := map[int]int{}
	var wg sync.WaitGroup
	var cmu sync.Mutex
	for range 8 {
		wg.Go(func() {
			for range 50 {
				c := post(t, base+"/predict", []byte(`{"store_id":1,"date":"2015-07-01"}`))
				cmu.Lock()
				codes[c]++
				cmu.Unlock()
			}
		})
	}
	wg.Wait()
	if codes[http.StatusTooManyRequests] == 0 {
		t.Errorf("400 requests at once: no 429 (codes %v)", codes)
	}
	if codes[http.StatusOK] < 100 {
		t.Errorf("400 requests at once: %d answered 200, want the burst of 100 at least (codes %v)", codes[http.StatusOK], codes)
	}
	mu.Lock()
	if reached != codes[http.StatusOK] {
		t.Errorf("the API saw %d requests, want only the %d nginx let through", reached, codes[http.StatusOK])
	}
	mu.Unlock()
}

// nginxConfFor rewrites deploy/docker/nginx/nginx.conf to run here: every
// upstream is the stub, it listens on port, writes under dir, needs no
// Docker DNS.
func nginxConfFor(t *testing.T, upstream, dir string, port int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy/docker/nginx/nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	s = regexp.MustCompile(`http://[a-z]+:\d+;`).ReplaceAllString(s, upstream+";")
	s = regexp.MustCompile(`(?m)^\s*resolver .*$`).ReplaceAllString(s, "")
	s = strings.Replace(s, "listen 8080;", fmt.Sprintf("listen 127.0.0.1:%d;", port), 1)
	s = strings.ReplaceAll(s, "/tmp/", dir+"/")
	s = strings.ReplaceAll(s, "access_log /dev/stdout;", "access_log off;")
	if !strings.Contains(s, upstream) || !strings.Contains(s, fmt.Sprint(port)) {
		t.Fatal("nginx.conf: could not rewrite its upstreams or listener")
	}
	return s
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func post(t *testing.T, url string, body []byte) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// waitHTTP waits until url answers 200 (nginx started), at most 20 s.
func waitHTTP(t *testing.T, url string, log *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within 20s: %v\n%s", url, err, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
