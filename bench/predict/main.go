// Command predict measures the forecast API from a second process on
// loopback: single POST /predict calls over many keep-alive connections
// (rps, p50_ms, p99_ms) and whole-chain POST /v1/forecasts batches
// (batch_rows_per_s). It writes bench/results/predict.json and prints a
// summary. It is a measurement, not a test.
//
// With -serve it starts `storecast serve` itself (on free loopback ports,
// against the stack in the environment) and waits for /ready; otherwise it
// loads the server at -url, which must be ready.
//
// The load generator speaks HTTP/1.1 directly over TCP with pre-built
// requests, so it spends as little CPU as possible on the machine it shares
// with the server.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

type result struct {
	RPS           float64 `json:"rps"`
	P50ms         float64 `json:"p50_ms"`
	P99ms         float64 `json:"p99_ms"`
	P999ms        float64 `json:"p999_ms"`
	MaxMs         float64 `json:"max_ms"`
	BatchRowsPerS float64 `json:"batch_rows_per_s"`
	Connections   int     `json:"connections"`
	DurationS     float64 `json:"duration_s"`
	Requests      int64   `json:"requests"`
	Errors        int64   `json:"errors"`
	BatchRows     int     `json:"batch_rows"`
	BatchRuns     int     `json:"batch_runs"`
	BatchSecondsP float64 `json:"batch_seconds_per_run"`
	ModelVersion  string  `json:"model_version"`
	AsOf          string  `json:"as_of"`
	Stores        int     `json:"stores"`
	CPUs          int     `json:"cpus"`
	At            string  `json:"at"`
	Note          string  `json:"note"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-predict:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		target   = flag.String("url", "http://127.0.0.1:4242", "forecast API base URL (ignored with -serve)")
		serve    = flag.String("serve", "", "path of the storecast binary to start as the server (empty: use -url)")
		conns    = flag.Int("c", 64, "concurrent keep-alive connections for /predict")
		duration = flag.Duration("d", 10*time.Second, "measured duration of the /predict load")
		warmup   = flag.Duration("warmup", 2*time.Second, "unmeasured load before the measurement")
		batches  = flag.Int("batches", 5, "whole-chain /v1/forecasts runs")
		days     = flag.Int("days", 42, "days per store in a batch")
		out      = flag.String("out", "bench/results/predict.json", "result file")
		readyFor = flag.Duration("ready-timeout", 5*time.Minute, "how long to wait for the server's /ready")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	base := *target
	if *serve != "" {
		addr, cleanup, err := startServer(ctx, *serve)
		if err != nil {
			return err
		}
		defer cleanup()
		base = "http://" + addr
	}
	if err := waitReady(ctx, base, *readyFor); err != nil {
		return err
	}

	// Discover the as-of day, the stores and the model with one batch.
	probe, err := postForecasts(base, `{}`)
	if err != nil {
		return fmt.Errorf("probe /v1/forecasts: %w", err)
	}
	asOf, err := time.Parse("2006-01-02", probe.AsOf)
	if err != nil {
		return fmt.Errorf("as_of %q: %w", probe.AsOf, err)
	}
	stores := map[int]bool{}
	for _, r := range probe.Forecasts {
		stores[r.StoreID] = true
	}
	ids := make([]int, 0, len(stores))
	for id := range stores {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	fmt.Printf("server ready: as_of %s, %d stores, model %s %s\n", probe.AsOf, len(ids), probe.ModelName, probe.ModelVersion)

	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	reqs := buildPredicts(u.Host, ids, asOf, 8192)
	res := result{Connections: *conns, DurationS: duration.Seconds(), ModelVersion: probe.ModelVersion, AsOf: probe.AsOf,
		Stores: len(ids), CPUs: runtime.NumCPU(), At: time.Now().UTC().Format(time.RFC3339),
		Note: "load generator, server and Kafka share this machine's cores; numbers are noisy when other work runs"}

	// /predict under load.
	lat, n, errs, err := load(ctx, u.Host, reqs, *conns, *warmup, *duration)
	if err != nil {
		return err
	}
	res.Requests, res.Errors = n, errs
	res.RPS = float64(n) / duration.Seconds()
	slices.Sort(lat)
	res.P50ms, res.P99ms, res.P999ms = pct(lat, 0.50), pct(lat, 0.99), pct(lat, 0.999)
	if len(lat) > 0 {
		res.MaxMs = ms(lat[len(lat)-1])
	}
	fmt.Printf("/predict: %d connections, %.0f rps, p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, %d errors\n",
		*conns, res.RPS, res.P50ms, res.P99ms, res.P999ms, res.Errors)

	// Whole-chain batches.
	body := fmt.Sprintf(`{"start_date":%q,"end_date":%q}`, asOf.AddDate(0, 0, 1).Format("2006-01-02"), asOf.AddDate(0, 0, *days).Format("2006-01-02"))
	var total time.Duration
	for i := 0; i < *batches; i++ {
		start := time.Now()
		b, err := postForecasts(base, body)
		if err != nil {
			return fmt.Errorf("batch %d: %w", i, err)
		}
		total += time.Since(start)
		res.BatchRows = len(b.Forecasts)
	}
	res.BatchRuns = *batches
	res.BatchSecondsP = total.Seconds() / float64(*batches)
	res.BatchRowsPerS = float64(res.BatchRows**batches) / total.Seconds()
	fmt.Printf("/v1/forecasts: %d rows per run, %.3f s per run, %.0f rows/s\n", res.BatchRows, res.BatchSecondsP, res.BatchRowsPerS)

	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s (targets: rps >= 10000, p99_ms <= 5, batch_rows_per_s >= 50000)\n", *out)
	if res.Errors > 0 {
		return fmt.Errorf("%d requests failed", res.Errors)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return ms(sorted[i])
}

type forecasts struct {
	AsOf         string `json:"as_of"`
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	Count        int    `json:"count"`
	Forecasts    []struct {
		StoreID int `json:"store_id"`
	} `json:"forecasts"`
}

func postForecasts(base, body string) (*forecasts, error) {
	resp, err := http.Post(base+"/v1/forecasts", "application/json", bytes.NewBufferString(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var f forecasts
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// buildPredicts returns n complete HTTP/1.1 requests for random stores,
// days 1..48 ahead and random known inputs.
func buildPredicts(host string, stores []int, asOf time.Time, n int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([][]byte, n)
	for i := range out {
		d := asOf.AddDate(0, 0, 1+rng.IntN(48))
		body := fmt.Sprintf(`{"store_id":%d,"date":%q,"promo":%d,"stateholiday":"0","schoolholiday":%d}`,
			stores[rng.IntN(len(stores))], d.Format("2006-01-02"), rng.IntN(2), rng.IntN(2))
		out[i] = []byte(fmt.Sprintf("POST /predict HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", host, len(body), body))
	}
	return out
}

// load runs conns connections, each sending requests back to back; it
// returns the latencies measured after warmup for duration.
func load(ctx context.Context, host string, reqs [][]byte, conns int, warmup, duration time.Duration) ([]time.Duration, int64, int64, error) {
	start := time.Now()
	measureFrom, measureTo := start.Add(warmup), start.Add(warmup+duration)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		all     []time.Duration
		n, errs int64
		firstE  error
	)
	for c := 0; c < conns; c++ {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1<<16)
			var cn, ce int64
			err := connLoop(ctx, host, reqs, c, measureFrom, measureTo, &lat, &cn, &ce)
			mu.Lock()
			all = append(all, lat...)
			n += cn
			errs += ce
			if err != nil && firstE == nil {
				firstE = err
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, n, errs, firstE
}

func connLoop(ctx context.Context, host string, reqs [][]byte, seed int, from, to time.Time, lat *[]time.Duration, n, errs *int64) error {
	conn, err := net.Dial("tcp", host)
	if err != nil {
		return err
	}
	defer conn.Close()
	r := bufio.NewReaderSize(conn, 16<<10)
	i := seed * 131
	for ctx.Err() == nil {
		t0 := time.Now()
		if t0.After(to) {
			return nil
		}
		if _, err := conn.Write(reqs[i%len(reqs)]); err != nil {
			return err
		}
		i++
		status, err := readResponse(r)
		if err != nil {
			return err
		}
		t1 := time.Now()
		if t0.After(from) && t1.Before(to) {
			*lat = append(*lat, t1.Sub(t0))
			*n++
			if status != 200 {
				*errs++
			}
		}
	}
	return nil
}

// readResponse reads one HTTP/1.1 response with a Content-Length body.
func readResponse(r *bufio.Reader) (int, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		h, err := r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			break
		}
		if len(h) > 16 && bytes.EqualFold(h[:15], []byte("Content-Length:")) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(h[15:])))
			if err != nil {
				return 0, fmt.Errorf("bad content length %q", h)
			}
		}
	}
	if length < 0 {
		return 0, errors.New("response without Content-Length")
	}
	if _, err := r.Discard(length); err != nil {
		return 0, err
	}
	return status, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startServer runs `storecast serve` on free loopback ports.
func startServer(ctx context.Context, bin string) (string, func(), error) {
	fp, err := freePort()
	if err != nil {
		return "", nil, err
	}
	tp, err := freePort()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "bench-predict-*")
	if err != nil {
		return "", nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", fp)
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "serve", "--forecast-addr", addr, "--train-addr", fmt.Sprintf("127.0.0.1:%d", tp),
		"--storage-dir", filepath.Join(dir, "views"))
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
		_ = os.RemoveAll(filepath.Join(dir, "views"))
	}, nil
}

func waitReady(ctx context.Context, base string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/ready")
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
