"""Prometheus metrics of the worker, on their own registry (never the global one).

Metrics:

* ``storecast_trainer_runs_total{outcome}``: requests answered, by outcome (succeeded, failed).
* ``storecast_trainer_run_duration_seconds``: wall time of a request, read to publish.
* ``storecast_trainer_train_seconds``: read, fits and refit time of the last successful run.
* ``storecast_trainer_rows``: examples in the range of the last successful run.
* ``storecast_trainer_promotions_total{model}``: versions that became champion.
* ``storecast_trainer_champion_val_rmspe{model}``: validation RMSPE of each model's champion.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)

from .outcome import Outcome

NAMESPACE = "storecast"
SUBSYSTEM = "trainer"


class WorkerMetrics:
    """The worker's metrics on ``registry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        kw = {"namespace": NAMESPACE, "subsystem": SUBSYSTEM, "registry": self.registry}
        self.runs = Counter("runs", "Train requests answered, by outcome.", ["outcome"], **kw)
        self.duration = Histogram(
            "run_duration_seconds",
            "Wall time of a train request, from read to publish.",
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 2400),
            **kw,
        )
        self.train_seconds = Gauge(
            "train_seconds", "Read, fits and refit time of the last successful run.", **kw
        )
        self.rows = Gauge("rows", "Examples in the range of the last successful run.", **kw)
        self.promotions = Counter("promotions", "Versions that became champion.", ["model"], **kw)
        self.champion_rmspe = Gauge(
            "champion_val_rmspe", "Validation RMSPE of each registered model's champion.", ["model"], **kw
        )
        for outcome in ("succeeded", "failed"):
            self.runs.labels(outcome)

    def observe(self, o: Outcome) -> None:
        """Record one answered request."""
        self.runs.labels(o.status).inc()
        if "total_seconds" in o.timings:
            self.duration.observe(o.timings["total_seconds"])
        if o.status == "succeeded":
            self.train_seconds.set(o.timings.get("train_seconds", 0.0))
            self.rows.set(o.rows)

    def champion(self, model: str, val_rmspe: float) -> None:
        """Record a promotion."""
        self.promotions.labels(model).inc()
        self.champion_rmspe.labels(model).set(val_rmspe)

    def serve(self, addr: str) -> None:
        """Serve /metrics on host:port (loopback by default) in a background thread."""
        disable_created_metrics()
        host, _, port = addr.rpartition(":")
        start_http_server(int(port), addr=host or "127.0.0.1", registry=self.registry)
