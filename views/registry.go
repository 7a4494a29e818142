package views

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/internal/platform/metrics"
	"github.com/storecast/storecast/model"
)

// AliasReader reads a registered model's aliases (mlflow.Client).
type AliasReader interface {
	AliasVersion(ctx context.Context, name, alias string) (string, error)
}

// ServedVersion returns the served version of the watched model, or ""
// (a model.Registry, through ServedBy).
type ServedVersion func() string

// ServedBy returns the ServedVersion of name in a model.Registry.
func ServedBy(r *model.Registry, name string) ServedVersion {
	return func() string {
		if m, ok := r.Get(name); ok {
			return m.Meta().Version
		}
		return ""
	}
}

// RegistryStatus is what the model registry said at the last check.
type RegistryStatus struct {
	Champion, Challenger string
	// InStep is true when the champion is the served version (or the
	// registry has no champion and nothing serves).
	InStep    bool
	CheckedAt time.Time
	// Err is why the last check failed (the versions are then from the
	// last good check).
	Err error
}

// RegistryWatch polls the model registry's champion and challenger of one
// model name and compares the champion with the served version, so that
// registry and serving never disagree silently.
//
// Metric: storecast_model_registry_diverged{name} is 1 while the
// registry's champion is not the served version (0 in step; unchanged
// while the registry cannot be read).
type RegistryWatch struct {
	name     string
	aliases  AliasReader
	served   ServedVersion
	every    time.Duration
	log      *slog.Logger
	diverged prometheus.Gauge

	mu sync.Mutex
	st RegistryStatus
}

// NewRegistryWatch watches the registered model name every interval
// (default 30 s) and registers its metric on reg.
func NewRegistryWatch(name string, aliases AliasReader, served ServedVersion, every time.Duration, log *slog.Logger, reg prometheus.Registerer) *RegistryWatch {
	if every <= 0 {
		every = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: prometheus.BuildFQName(metrics.Namespace, "model", "registry_diverged"),
		Help: "1 while the model registry's champion is not the served version of the model.",
	}, []string{"name"})
	reg.MustRegister(g)
	return &RegistryWatch{name: name, aliases: aliases, served: served, every: every, log: log, diverged: g.WithLabelValues(name)}
}

// Status returns the last check's result (zero before the first).
func (w *RegistryWatch) Status() RegistryStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.st
	st.InStep = st.Champion == w.served()
	return st
}

// Check reads the aliases once and updates the status and the metric.
func (w *RegistryWatch) Check(ctx context.Context) RegistryStatus {
	champion, err := w.aliases.AliasVersion(ctx, w.name, model.AliasChampion)
	var challenger string
	if err == nil {
		challenger, err = w.aliases.AliasVersion(ctx, w.name, model.AliasChallenger)
	}
	w.mu.Lock()
	w.st.CheckedAt, w.st.Err = time.Now().UTC(), err
	if err == nil {
		w.st.Champion, w.st.Challenger = champion, challenger
	}
	w.mu.Unlock()
	st := w.Status()
	if err != nil {
		w.log.Warn("model registry unreadable; serving goes on", "model", w.name, "err", err)
		return st
	}
	if st.InStep {
		w.diverged.Set(0)
	} else {
		w.diverged.Set(1)
		w.log.Warn("the registry's champion is not the served model", "model", w.name, "champion", st.Champion, "served", w.served())
	}
	return st
}

// Run checks every interval until ctx is done.
func (w *RegistryWatch) Run(ctx context.Context) error {
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		w.Check(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
