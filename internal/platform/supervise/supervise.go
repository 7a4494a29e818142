// Package supervise keeps a long-running component alive: it runs it, and
// when it fails (a lost broker or database, a goka processor that gave up)
// it waits a capped, growing backoff and runs it again, until the context
// is done. Components that cannot be restarted in place (a goka processor
// or view runs only once) rebuild themselves inside the function they hand
// to Run.
//
// It is the first line of defence; the local stack's supervisor script
// (deploy/local/supervise.sh) and compose's restart policy are the second,
// for a process that exits anyway.
//
// # Metrics
//
//	storecast_component_restarts_total{component}  runs that failed and were started again
//	storecast_component_up{component}              1 while the component runs, 0 while it waits to restart
//	storecast_supervisor_restarts_total            times the process supervisor restarted the process (ProcessRestarts)
package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Policy is the restart backoff: the first restart waits Min, each next one
// twice as long up to Max; a run that lasted Stable or longer resets it.
type Policy struct {
	Min    time.Duration
	Max    time.Duration
	Stable time.Duration
}

// DefaultPolicy restarts after 1 s, doubling up to 10 s (a reconnect is cheap; a broker that is back is used within seconds), and forgets the
// failures after a minute of running.
var DefaultPolicy = Policy{Min: time.Second, Max: 10 * time.Second, Stable: time.Minute}

func (p Policy) withDefaults() Policy {
	if p.Min <= 0 {
		p.Min = DefaultPolicy.Min
	}
	if p.Max < p.Min {
		p.Max = max(DefaultPolicy.Max, p.Min)
	}
	if p.Stable <= 0 {
		p.Stable = DefaultPolicy.Stable
	}
	return p
}

// Next returns the wait before the restart that follows a run that lasted
// ran, given the previous wait (0 before the first restart).
func (p Policy) Next(prev, ran time.Duration) time.Duration {
	p = p.withDefaults()
	if prev == 0 || ran >= p.Stable {
		return p.Min
	}
	return min(2*prev, p.Max)
}

// Supervisor runs components under a Policy and counts their restarts.
type Supervisor struct {
	policy   Policy
	log      *slog.Logger
	restarts *prometheus.CounterVec
	up       *prometheus.GaugeVec
	// sleep waits d or until ctx is done (tests replace it).
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a Supervisor whose metrics are registered on reg (nil: not
// registered).
func New(p Policy, log *slog.Logger, reg prometheus.Registerer) (*Supervisor, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Supervisor{
		policy: p.withDefaults(),
		log:    log,
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "storecast", Subsystem: "component", Name: "restarts_total",
			Help: "Runs of a long-running component that failed and were started again in process.",
		}, []string{"component"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "storecast", Subsystem: "component", Name: "up",
			Help: "1 while the component runs, 0 while it waits to be restarted after a failure.",
		}, []string{"component"}),
		sleep: sleepCtx,
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{s.restarts, s.up} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("supervise metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Run runs run(ctx) until ctx is done, starting it again after every
// failure (an error, a panic is not caught) once the backoff has passed.
// A run that returns nil before ctx is done counts as a failure too: a
// long-running component never finishes on its own. Run returns nil when
// ctx is done.
func (s *Supervisor) Run(ctx context.Context, component string, run func(context.Context) error) error {
	restarts := s.restarts.WithLabelValues(component)
	up := s.up.WithLabelValues(component)
	log := s.log.With("component", component)
	var wait time.Duration
	for {
		start := time.Now()
		up.Set(1)
		err := run(ctx)
		up.Set(0)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("stopped on its own")
		}
		wait = s.policy.Next(wait, time.Since(start))
		restarts.Inc()
		log.Error("component failed; restarting", "err", err, "ran", time.Since(start).Round(time.Millisecond), "restart_in", wait)
		if s.sleep(ctx, wait) != nil {
			return nil
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ProcessRestarts returns the counter storecast_supervisor_restarts_total,
// started at n: how many times the process supervisor outside (the local
// stack's deploy/local/supervise.sh, which passes n in STORECAST_RESTARTS)
// started this process again after it exited.
func ProcessRestarts(n int) prometheus.Collector {
	c := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "storecast", Subsystem: "supervisor", Name: "restarts_total",
		Help: "Times the process supervisor restarted this process after it exited (STORECAST_RESTARTS).",
	})
	c.Add(float64(max(n, 0)))
	return c
}
