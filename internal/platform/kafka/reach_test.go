package kafka_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/internal/testkit"
)

// TestReachable: the probe answers nil for topics the broker leads, names a
// topic it does not hold, and gives up on a silent address within its
// deadline.
func TestReachable(t *testing.T) {
	cfg := testkit.Kafka(t)
	names := testkit.Names(t, cfg)
	ctx := context.Background()

	// A topic created a moment ago can miss from metadata for a moment.
	probe := kafka.Reachable(cfg, string(names.ForecastResults), string(names.Models))
	for deadline := time.Now().Add(30 * time.Second); ; {
		err := probe(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reachable broker: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // polling with a deadline
	}
	err := kafka.Reachable(cfg, "no-such-topic-"+testkit.UniqueSuffix(t))(ctx)
	if err == nil || !strings.Contains(err.Error(), "no-such-topic") {
		t.Fatalf("missing topic: %v, want an error naming it", err)
	}

	// A listener that accepts and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	silent := kafka.Config{Brokers: []string{ln.Addr().String()}}
	pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if err := kafka.Reachable(silent)(pctx); err == nil {
		t.Fatal("a silent broker was reachable")
	}
	if took := time.Since(t0); took > 2*time.Second {
		t.Fatalf("the probe took %s with a 300ms deadline", took)
	}
}
