package benchkit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Load is an HTTP/1.1 load on one server over keep-alive connections,
// spoken directly over TCP with requests the caller builds, so the load
// generator spends as little CPU as possible on the machine it shares with
// the server.
type Load struct {
	// Host is the server's host:port.
	Host string
	// Conns is the number of connections.
	Conns int
	// Warmup is unmeasured load before Duration is measured.
	Warmup, Duration time.Duration
	// Rate 0 sends back to back on each connection (closed loop); > 0 sends
	// on a schedule of Rate requests/s over all connections (open loop),
	// timing each request from its scheduled start.
	Rate float64
	// Request appends request i (a complete HTTP/1.1 request) to buf.
	Request func(buf []byte, i int) []byte
	// Body, when set, sees every response's status and body (the body is
	// only valid during the call) and reports whether a non-200 answer is
	// a correct one (counted in Result.Expected, not in Errors). It must be
	// safe for concurrent use.
	Body func(status int, body []byte) (expected bool)
}

// Result is what a Load measured after its warmup.
type Result struct {
	// Latencies sorted ascending.
	Latencies []time.Duration
	// Requests answered in the measured window; Errors of them not 200
	// and not Expected (see Load.Body).
	Requests, Errors, Expected int64
	// Statuses counts the measured answers by status.
	Statuses map[int]int64
	// Span is from the end of the warmup to the last measured answer: in
	// an open loop the server may answer the window's requests long after
	// the window when it cannot keep up.
	Span time.Duration
}

// RPS is the measured requests per second: over d, or over Span when the
// answers took longer.
func (r *Result) RPS(d time.Duration) float64 { return float64(r.Requests) / max(d, r.Span).Seconds() }

// Percentile returns the p-quantile latency in milliseconds (0 when none).
func (r *Result) Percentile(p float64) float64 {
	if len(r.Latencies) == 0 {
		return 0
	}
	return Millis(r.Latencies[int(p*float64(len(r.Latencies)-1))])
}

// Millis converts d to float milliseconds.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Run runs the load and returns its measurement.
func (l Load) Run(ctx context.Context) (*Result, error) {
	start := time.Now()
	from, to := start.Add(l.Warmup), start.Add(l.Warmup+l.Duration)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		res    = &Result{Statuses: map[int]int64{}}
		firstE error
	)
	var interval time.Duration
	if l.Rate > 0 {
		interval = time.Duration(float64(l.Conns) / l.Rate * float64(time.Second))
	}
	for c := range l.Conns {
		wg.Go(func() {
			part := &Result{Latencies: make([]time.Duration, 0, 1<<16), Statuses: map[int]int64{}}
			err := l.conn(ctx, c, start, interval, from, to, part)
			mu.Lock()
			defer mu.Unlock()
			res.Latencies = append(res.Latencies, part.Latencies...)
			res.Requests += part.Requests
			res.Errors += part.Errors
			res.Expected += part.Expected
			for s, n := range part.Statuses {
				res.Statuses[s] += n
			}
			res.Span = max(res.Span, part.Span)
			if err != nil && firstE == nil {
				firstE = err
			}
		})
	}
	wg.Wait()
	slices.Sort(res.Latencies)
	return res, firstE
}

// conn sends requests on one connection: back to back (interval 0) or one
// per interval from a schedule spread over the connections.
func (l Load) conn(ctx context.Context, seed int, start time.Time, interval time.Duration, from, to time.Time, res *Result) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", l.Host)
	if err != nil {
		return err
	}
	defer conn.Close()
	// A server that stops answering fails the load instead of hanging it.
	if err := conn.SetDeadline(to.Add(max(l.Duration, time.Minute))); err != nil {
		return err
	}
	r := bufio.NewReaderSize(conn, 16<<10)
	i := seed * 131
	next := start
	if interval > 0 {
		next = start.Add(time.Duration(seed) * interval / time.Duration(max(l.Conns, 1)))
	}
	var req, body []byte
	for ctx.Err() == nil {
		t0 := time.Now()
		if interval > 0 {
			if wait := next.Sub(t0); wait > 0 {
				time.Sleep(wait)
			}
			t0 = next
			next = next.Add(interval)
		}
		if t0.After(to) {
			return nil
		}
		req = l.Request(req[:0], i)
		if _, err := conn.Write(req); err != nil {
			return err
		}
		i++
		var status int
		status, body, err = readResponse(r, body[:0], l.Body != nil)
		if err != nil {
			return err
		}
		t1 := time.Now()
		expected := false
		if l.Body != nil {
			expected = l.Body(status, body)
		}
		// Closed loop: the answers within the window. Open loop: the
		// requests scheduled within it, however late they are answered
		// (an overloaded server shows as latency, not as fewer samples).
		if t0.After(from) && (interval > 0 || t1.Before(to)) {
			res.Span = max(res.Span, t1.Sub(from))
			res.Latencies = append(res.Latencies, t1.Sub(t0))
			res.Requests++
			res.Statuses[status]++
			switch {
			case status == 200:
			case expected:
				res.Expected++
			default:
				res.Errors++
			}
		}
	}
	return nil
}

// readResponse reads one HTTP/1.1 response with a Content-Length body,
// appending the body to buf when keep is set.
func readResponse(r *bufio.Reader, buf []byte, keep bool) (int, []byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, buf, err
	}
	if len(line) < 12 {
		return 0, buf, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, buf, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		h, err := r.ReadSlice('\n')
		if err != nil {
			return 0, buf, err
		}
		if len(h) <= 2 {
			break
		}
		if len(h) > 16 && bytes.EqualFold(h[:15], []byte("Content-Length:")) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(h[15:])))
			if err != nil {
				return 0, buf, fmt.Errorf("bad content length %q", h)
			}
		}
	}
	if length < 0 {
		return 0, buf, errors.New("response without Content-Length")
	}
	if !keep {
		_, err := r.Discard(length)
		return status, buf, err
	}
	buf = slices.Grow(buf, length)[:length]
	_, err = io.ReadFull(r, buf)
	return status, buf, err
}
