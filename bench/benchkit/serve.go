package benchkit

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// FreePort returns a loopback port nothing listens on now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// StartServe runs `storecast serve` (bin) on free loopback ports, with its
// views in memory and no dashboard, every forecast it serves logged to
// logTopic (a sandbox topic: never the user's forecast_results), its own
// log in a file under a temporary folder named for part; extra are more
// serve flags. It returns the forecast API's address and a function that
// stops the server.
func StartServe(ctx context.Context, bin, part, logTopic string, extra ...string) (string, func(), error) {
	fp, err := FreePort()
	if err != nil {
		return "", nil, err
	}
	tp, err := FreePort()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", part+"-*")
	if err != nil {
		return "", nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", fp)
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return "", nil, err
	}
	args := append([]string{"serve", "--forecast-addr", addr, "--train-addr", fmt.Sprintf("127.0.0.1:%d", tp),
		"--storage-dir", "", "--dashboard-addr", "", "--forecast-log-topic", logTopic}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	fmt.Printf("started %s serve on %s (log %s)\n", bin, addr, logf.Name())
	return addr, func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		_ = logf.Close()
	}, nil
}

// WaitReady polls base/ready until it answers 200, ctx is done or timeout
// passes.
func WaitReady(ctx context.Context, base string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/ready", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = string(b)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready after %s (a trained model and replayed data are needed: `make up DATA=../shared/data/rossmann`): %s", base, timeout, last)
}
