package supervise

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestPolicyNext(t *testing.T) {
	t.Parallel()
	p := Policy{Min: time.Second, Max: 8 * time.Second, Stable: time.Minute}
	cases := []struct {
		name      string
		prev, ran time.Duration
		want      time.Duration
	}{
		{"first restart waits Min", 0, time.Second, time.Second},
		{"doubles", time.Second, time.Second, 2 * time.Second},
		{"doubles again", 4 * time.Second, 0, 8 * time.Second},
		{"capped at Max", 8 * time.Second, time.Second, 8 * time.Second},
		{"a stable run resets", 8 * time.Second, time.Minute, time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := p.Next(c.prev, c.ran); got != c.want {
				t.Errorf("Next(%v, %v) = %v, want %v", c.prev, c.ran, got, c.want)
			}
		})
	}
	if got := (Policy{}).Next(0, 0); got != DefaultPolicy.Min {
		t.Errorf("zero policy: Next = %v, want the default %v", got, DefaultPolicy.Min)
	}
}

func TestRunRestartsUntilCancelled(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	s, err := New(Policy{Min: time.Second, Max: 4 * time.Second, Stable: time.Hour}, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	runs := 0
	err = s.Run(ctx, "features", func(context.Context) error {
		runs++
		switch runs {
		case 1:
			return errors.New("kafka: client has run out of available brokers")
		case 2, 3, 4:
			return nil // a component that stops on its own is restarted too
		default:
			cancel()
			return context.Canceled
		}
	})
	if err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	if runs != 5 {
		t.Errorf("runs = %d, want 5", runs)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	if len(waits) != len(want) {
		t.Fatalf("waits = %v, want %v", waits, want)
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Errorf("wait %d = %v, want %v", i, waits[i], want[i])
		}
	}
	if got := testutil.ToFloat64(s.restarts.WithLabelValues("features")); got != 4 {
		t.Errorf("restarts_total = %v, want 4", got)
	}
	if got := testutil.ToFloat64(s.up.WithLabelValues("features")); got != 0 {
		t.Errorf("up = %v after Run returned, want 0", got)
	}
}

func TestRunStopsDuringBackoff(t *testing.T) {
	t.Parallel()
	s, err := New(DefaultPolicy, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The context is cancelled while Run waits its backoff (an hour).
	s.sleep = func(ctx context.Context, _ time.Duration) error {
		cancel()
		return sleepCtx(ctx, time.Hour)
	}
	runs := 0
	err = s.Run(ctx, "view", func(context.Context) error {
		runs++
		return errors.New("broken")
	})
	if err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if runs != 1 {
		t.Errorf("runs = %d, want 1 (no run after cancel)", runs)
	}
}

func TestNewRegistersOnce(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if _, err := New(DefaultPolicy, nil, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := New(DefaultPolicy, nil, reg); err == nil {
		t.Error("second New on the same registry: want a duplicate-registration error")
	}
}
