package publish_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/testkit"
	"github.com/storecast/storecast/publish"
	"github.com/storecast/storecast/topics"
)

func rows(from, n int) []topics.ForecastResult {
	out := make([]topics.ForecastResult, n)
	for i := range out {
		out[i] = topics.ForecastResult{V: 1, Store: from + i + 1, Date: asOfDay + 1, AsOf: asOfDay, Horizon: 1, Source: "test"}
	}
	return out
}

// stores returns the stores of the produced values in the order the
// producer acknowledged them.
func storesOf(t *testing.T, msgs []*sarama.ProducerMessage) []int {
	t.Helper()
	var out []int
	for _, m := range msgs {
		b, err := m.Value.Encode()
		if err != nil {
			t.Fatal(err)
		}
		var r topics.ForecastResult
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Store)
	}
	return out
}

// TestForecastLogHoldsThroughAnOutage: Kafka takes 3 forecasts, then fails
// everything for a while (an outage), then takes everything again. Every
// forecast is acknowledged exactly once, in the order served, and the
// metrics count the retries.
func TestForecastLogHoldsThroughAnOutage(t *testing.T) {
	var outage atomic.Bool
	var acked []*sarama.ProducerMessage
	f := testkit.NewFakeProducer(func(i int, m *sarama.ProducerMessage) error {
		if i == 3 {
			outage.Store(true)
		}
		if outage.Load() {
			if i >= 3+7*3 { // three failed attempts of the 7 held, then the broker is back
				outage.Store(false)
			} else {
				return sarama.ErrOutOfBrokers
			}
		}
		acked = append(acked, m)
		return nil
	})
	reg := prometheus.NewRegistry()
	fl := publish.NewForecastLog(f, publish.ForecastLogConfig{Topic: "t", Hold: 100, RetryMax: 20 * time.Millisecond},
		slog.New(slog.DiscardHandler), publish.NewForecastLogMetrics(reg))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fl.Run(ctx) }()

	if err := fl.Append(context.Background(), rows(0, 3)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "3 acknowledged", func() bool { return testkit.Metric(t, reg, "storecast_forecast_log_produced_total") == 3 })
	if err := fl.Append(context.Background(), rows(3, 7)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "10 acknowledged", func() bool { return testkit.Metric(t, reg, "storecast_forecast_log_produced_total") == 10 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := storesOf(t, acked)
	want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if len(got) != len(want) {
		t.Fatalf("acknowledged stores %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("acknowledged stores %v, want %v (in order, once each)", got, want)
		}
	}
	for name, want := range map[string]float64{
		"storecast_forecast_log_retried_total": 21, // 7 forecasts × 3 failed attempts
		"storecast_forecast_log_errors_total":  21,
		"storecast_forecast_log_queue_depth":   0,
	} {
		if got := testkit.Metric(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := testkit.Metric(t, reg, "storecast_forecast_log_dropped_total", "reason", "shutdown"); got != 0 {
		t.Errorf("dropped at shutdown %v, want 0", got)
	}
}

// TestForecastLogFull: with the hold full, Append waits and then refuses
// (ErrQueueFull, counted) — or, best effort, drops (counted) and succeeds.
func TestForecastLogFull(t *testing.T) {
	for _, bestEffort := range []bool{false, true} {
		reg := prometheus.NewRegistry()
		// No Run: nothing leaves the hold.
		fl := publish.NewForecastLog(testkit.NewFakeProducer(testkit.Succeed),
			publish.ForecastLogConfig{Topic: "t", Hold: 5, MaxWait: 20 * time.Millisecond, BestEffort: bestEffort},
			slog.New(slog.DiscardHandler), publish.NewForecastLogMetrics(reg))
		if err := fl.Append(context.Background(), rows(0, 5)); err != nil {
			t.Fatal(err)
		}
		err := fl.Append(context.Background(), rows(5, 2))
		if bestEffort {
			if err != nil {
				t.Fatalf("best effort: %v", err)
			}
			if got := testkit.Metric(t, reg, "storecast_forecast_log_dropped_total", "reason", "best_effort"); got != 2 {
				t.Errorf("best effort: dropped %v, want 2", got)
			}
			continue
		}
		if !errors.Is(err, publish.ErrQueueFull) {
			t.Fatalf("full hold: %v, want ErrQueueFull", err)
		}
		if got := testkit.Metric(t, reg, "storecast_forecast_log_refused_total"); got != 2 {
			t.Errorf("refused %v, want 2", got)
		}
		if got := testkit.Metric(t, reg, "storecast_forecast_log_queue_depth"); got != 5 {
			t.Errorf("held %v, want 5", got)
		}
	}
}

// TestForecastLogShutdown: on shutdown Run keeps producing what it holds;
// a broker that stays away makes it give up after the flush timeout and
// count what it lost; a permanent error drops one forecast at once.
func TestForecastLogShutdown(t *testing.T) {
	t.Run("flushes", func(t *testing.T) {
		var back atomic.Bool
		f := testkit.NewFakeProducer(func(int, *sarama.ProducerMessage) error {
			if !back.Load() {
				return sarama.ErrNotConnected
			}
			return nil
		})
		reg := prometheus.NewRegistry()
		fl := publish.NewForecastLog(f, publish.ForecastLogConfig{Topic: "t", Hold: 100, RetryMax: 10 * time.Millisecond, FlushTimeout: time.Minute},
			slog.New(slog.DiscardHandler), publish.NewForecastLogMetrics(reg))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- fl.Run(ctx) }()
		if err := fl.Append(context.Background(), rows(0, 10)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a failed attempt", func() bool { return testkit.Metric(t, reg, "storecast_forecast_log_errors_total") >= 10 })
		cancel() // SIGTERM while the broker is away
		select {
		case <-done:
			t.Fatal("Run returned while it still held forecasts and its flush timeout had not passed")
		case <-time.After(50 * time.Millisecond):
		}
		back.Store(true)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := testkit.Metric(t, reg, "storecast_forecast_log_produced_total"); got != 10 {
			t.Errorf("produced %v, want 10", got)
		}
	})
	t.Run("gives up", func(t *testing.T) {
		f := testkit.NewFakeProducer(func(i int, _ *sarama.ProducerMessage) error {
			if i == 0 {
				return sarama.ErrMessageSizeTooLarge // permanent
			}
			return sarama.ErrNotConnected
		})
		reg := prometheus.NewRegistry()
		fl := publish.NewForecastLog(f, publish.ForecastLogConfig{Topic: "t", Hold: 100, RetryMax: 10 * time.Millisecond, FlushTimeout: 100 * time.Millisecond},
			slog.New(slog.DiscardHandler), publish.NewForecastLogMetrics(reg))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- fl.Run(ctx) }()
		if err := fl.Append(context.Background(), rows(0, 4)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the failed attempts", func() bool { return testkit.Metric(t, reg, "storecast_forecast_log_errors_total") >= 4 })
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := testkit.Metric(t, reg, "storecast_forecast_log_dropped_total", "reason", "refused_by_kafka"); got != 1 {
			t.Errorf("dropped as refused %v, want 1", got)
		}
		if got := testkit.Metric(t, reg, "storecast_forecast_log_dropped_total", "reason", "shutdown"); got != 3 {
			t.Errorf("dropped at shutdown %v, want 3", got)
		}
	})
}

// waitFor polls cond every millisecond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
}
