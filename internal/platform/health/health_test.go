package health

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRule walks the readiness rule through probe outcomes on a fake clock:
// down before the first success, up through failures shorter than the
// grace period, down once the last success is older than it, up again at
// the first success.
func TestRule(t *testing.T) {
	type step struct {
		at     time.Duration // since start
		probe  error         // outcome of a probe at that time (nil: success)
		noRun  bool          // only read the verdict
		wantUp bool
		want   string // substring of the verdict when down
	}
	boom := errors.New("boom")
	tests := []struct {
		name  string
		steps []step
	}{
		{"never up", []step{
			{at: 0, noRun: true, want: "no successful probe yet"},
			{at: time.Second, probe: boom, want: "boom"},
		}},
		{"blip inside grace", []step{
			{at: 0, wantUp: true},
			{at: 1 * time.Second, probe: boom, wantUp: true},
			{at: 9 * time.Second, probe: boom, wantUp: true},
			{at: 10 * time.Second, noRun: true, wantUp: true},
			{at: 10*time.Second + time.Millisecond, noRun: true, want: "no successful probe for"},
		}},
		{"down, then back", []step{
			{at: 0, wantUp: true},
			{at: 11 * time.Second, probe: boom, want: "boom"},
			{at: 12 * time.Second, wantUp: true},
			{at: 13 * time.Second, probe: boom, wantUp: true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			var next error
			d := NewDependency("kafka", func(context.Context) error { return next }, Config{Grace: 10 * time.Second},
				NewMetrics(reg), slog.New(slog.NewTextHandler(io.Discard, nil)))
			start := time.Unix(1_700_000_000, 0)
			for i, s := range tc.steps {
				d.now = func() time.Time { return start.Add(s.at) }
				if !s.noRun {
					next = s.probe
					d.probeOnce(context.Background())
				}
				err := d.Check(context.Background())
				if s.wantUp != (err == nil) {
					t.Fatalf("step %d at %s: verdict %v, want up=%v", i, s.at, err, s.wantUp)
				}
				if err != nil && !strings.Contains(err.Error(), s.want) {
					t.Fatalf("step %d: verdict %q does not say %q", i, err, s.want)
				}
				wantGauge := 0.0
				if s.wantUp {
					wantGauge = 1
				}
				if g := testutil.ToFloat64(d.up); g != wantGauge {
					t.Fatalf("step %d: storecast_dependency_up %v, want %v", i, g, wantGauge)
				}
			}
		})
	}
}

// TestRunProbesUntilCancelled: Run probes at its interval, and a probe
// that ignores nothing but its deadline is cut off at Timeout.
func TestRunProbesUntilCancelled(t *testing.T) {
	reg := prometheus.NewRegistry()
	calls := make(chan time.Duration, 100)
	d := NewDependency("slow", func(ctx context.Context) error {
		t0 := time.Now()
		<-ctx.Done()
		calls <- time.Since(t0)
		return ctx.Err()
	}, Config{Interval: 10 * time.Millisecond, Timeout: 20 * time.Millisecond, Grace: time.Hour},
		NewMetrics(reg), slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	// Four probes returned: the first three were counted before the fourth
	// began (a probe cut short by the cancel below is not counted).
	for range 4 {
		if took := <-calls; took > time.Second {
			t.Fatalf("a probe ran %s; its timeout is 20ms", took)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := d.Check(context.Background()); !errors.Is(err, ErrNeverUp) {
		t.Fatalf("verdict %v, want ErrNeverUp", err)
	}
	if n := testutil.ToFloat64(d.failures); n < 3 {
		t.Fatalf("failures %v, want >= 3", n)
	}
}
