package benchkit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestOpenLoopShowsOverload: a server that answers 200 requests/s, loaded
// open loop at 1,000/s, shows as growing latency and ~200 answers/s, never
// as an empty (0 ms) measurement.
func TestOpenLoopShowsOverload(t *testing.T) {
	const service = 5 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(service) // the server's cost per request, not synchronisation
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	l := Load{Host: host, Conns: 1, Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond, Rate: 1000,
		Request: func(buf []byte, _ int) []byte {
			return append(buf, "GET / HTTP/1.1\r\nHost: "+host+"\r\n\r\n"...)
		}}
	r, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests < 150 {
		t.Fatalf("%d requests measured, want the window's ~200 scheduled ones", r.Requests)
	}
	if p50 := r.Percentile(0.5); p50 < 50 {
		t.Errorf("p50 %.1f ms: an overloaded open loop queues (want >= 50 ms)", p50)
	}
	if rps := r.RPS(l.Duration); rps > 400 {
		t.Errorf("%.0f answers/s from a server that answers at most 200/s", rps)
	}
	if r.Span <= l.Duration {
		t.Errorf("span %s: the window's requests are answered after it", r.Span)
	}
}
