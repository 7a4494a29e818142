// Package health runs dependency probes in the background so that a
// readiness endpoint reads a verdict instead of making a network round trip
// per request.
//
// The rule: a dependency is up from its first successful probe until it has
// had no successful probe for longer than its grace period. A probe runs
// every Interval with a deadline of Timeout, one at a time per dependency.
// So a dependency that is slow or unreachable for less than the grace
// period never flips readiness, one that stays unreachable is reported
// down at most Grace after its last success, and one that comes back is
// reported up by the first probe that succeeds (at most Interval + Timeout
// after it answers again).
//
// Metrics (registered on the injected registerer):
//
//	storecast_dependency_up{dependency}                     1 while up by the rule above
//	storecast_dependency_probe_failures_total{dependency}   probes that failed or timed out
//	storecast_dependency_last_success_timestamp_seconds{dependency}
package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Probe answers nil when the dependency works. It must honour ctx.
type Probe func(ctx context.Context) error

// Config sets the rule's timings for one dependency.
type Config struct {
	// Interval between the starts of two probes (default 1s).
	Interval time.Duration
	// Timeout of one probe (default 2s).
	Timeout time.Duration
	// Grace is how long the dependency may go without a successful probe
	// before it is reported down (default 15s).
	Grace time.Duration
}

func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Grace <= 0 {
		c.Grace = 15 * time.Second
	}
	return c
}

// ErrNeverUp is the verdict before the first successful probe.
var ErrNeverUp = errors.New("no successful probe yet")

// Dependency is one probed dependency and its verdict.
type Dependency struct {
	name  string
	probe Probe
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	mu       sync.Mutex
	lastGood time.Time
	lastErr  error

	up       prometheus.Gauge
	failures prometheus.Counter
	lastOK   prometheus.Gauge
}

// Metrics are the checker metrics of one registry, shared by its
// dependencies.
type Metrics struct {
	up       *prometheus.GaugeVec
	failures *prometheus.CounterVec
	lastOK   *prometheus.GaugeVec
}

// NewMetrics registers the dependency metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "storecast", Name: "dependency_up",
			Help: "1 while the dependency had a successful probe within its grace period.",
		}, []string{"dependency"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "storecast", Name: "dependency_probe_failures_total",
			Help: "Background probes of the dependency that failed or timed out.",
		}, []string{"dependency"}),
		lastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "storecast", Name: "dependency_last_success_timestamp_seconds",
			Help: "Unix time of the dependency's last successful probe.",
		}, []string{"dependency"}),
	}
	reg.MustRegister(m.up, m.failures, m.lastOK)
	return m
}

// NewDependency returns a dependency named name (a metric label and the
// name /ready reports) probed by probe. Run starts the probing.
func NewDependency(name string, probe Probe, cfg Config, m *Metrics, log *slog.Logger) *Dependency {
	return &Dependency{
		name: name, probe: probe, cfg: cfg.withDefaults(), log: log.With("dependency", name), now: time.Now,
		lastErr:  ErrNeverUp,
		up:       m.up.WithLabelValues(name),
		failures: m.failures.WithLabelValues(name),
		lastOK:   m.lastOK.WithLabelValues(name),
	}
}

// Name returns the dependency's name.
func (d *Dependency) Name() string { return d.name }

// Grace returns the grace period of the rule.
func (d *Dependency) Grace() time.Duration { return d.cfg.Grace }

// Run probes until ctx is done; it returns nil then.
func (d *Dependency) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	for {
		d.probeOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (d *Dependency) probeOnce(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	err := d.probe(pctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	now := d.now()
	d.mu.Lock()
	wasDown := d.verdictLocked(now) != nil
	wasFailing := d.lastErr != nil
	if err == nil {
		d.lastGood, d.lastErr = now, nil
	} else {
		d.lastErr = err
	}
	down := d.verdictLocked(now)
	d.mu.Unlock()
	if err == nil {
		d.lastOK.Set(float64(now.UnixNano()) / 1e9)
	} else {
		d.failures.Inc()
	}
	d.setUp(down == nil)
	switch {
	case wasDown && down == nil:
		d.log.Info("dependency up")
	case !wasDown && down != nil:
		d.log.Error("dependency down", "err", down)
	case !wasFailing && err != nil && down == nil:
		d.log.Warn("dependency probe failed; still up within the grace period", "err", err, "grace", d.cfg.Grace)
	}
}

func (d *Dependency) setUp(up bool) {
	if up {
		d.up.Set(1)
	} else {
		d.up.Set(0)
	}
}

// Check returns nil while the dependency is up by the rule, else why not.
// It reads the last probes' outcome only; it never waits.
func (d *Dependency) Check(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.verdictLocked(d.now())
	d.setUp(err == nil)
	return err
}

func (d *Dependency) verdictLocked(now time.Time) error {
	if d.lastGood.IsZero() {
		if d.lastErr != nil && !errors.Is(d.lastErr, ErrNeverUp) {
			return fmt.Errorf("%s: %w (%w)", d.name, ErrNeverUp, d.lastErr)
		}
		return fmt.Errorf("%s: %w", d.name, ErrNeverUp)
	}
	if since := now.Sub(d.lastGood); since > d.cfg.Grace {
		return fmt.Errorf("%s: no successful probe for %s (grace %s): %w", d.name, since.Round(100*time.Millisecond), d.cfg.Grace, d.lastErr)
	}
	return nil
}
