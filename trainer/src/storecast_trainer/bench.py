"""bench/results/train.json: the summary ``storecast-trainer bench`` writes from an outcome."""

from __future__ import annotations

import math
import os
from typing import Any

from .outcome import Outcome


def machine() -> dict[str, Any]:
    """The machine's cores and load averages (training is CPU-bound: the numbers need them)."""
    one, five, fifteen = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "load_1m": round(one, 2),
        "load_5m": round(five, 2),
        "load_15m": round(fifteen, 2),
    }


def seconds_per_tree(timings: dict[str, float], trees: int, members: int) -> dict[str, float | None]:
    """Seconds per tree of the outer fit and the refit (each fits ``trees`` trees per member): the
    machine's speed during the run itself. On a shared machine it varies by tens of percent from
    one hour to the next, so train_seconds of two runs compare only at similar speeds. (The inner
    fit also grows the trees early stopping discards and scores every round: not comparable.)"""
    n = trees * members
    return {
        stage: round(timings[f"{stage}_seconds"] / n, 4) if n and f"{stage}_seconds" in timings else None
        for stage in ("outer_fit", "refit")
    }


def bench_summary(
    o: Outcome,
    *,
    read_seconds_incremental: float | None = None,
    load_before: dict[str, Any] | None = None,
    load_after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """bench/results/train.json from an outcome (null where a failed run measured nothing)."""

    def num(v: float | None, digits: int) -> float | None:
        return round(v, digits) if v is not None and math.isfinite(v) else None

    return {
        "rows": o.rows,
        "protocol": o.protocol,
        "val_window": o.val_window,
        "inner_window": o.inner_window,
        "val_rmspe": num(o.metrics.get("val_rmspe"), 5),
        "inner_val_rmspe": num(o.metrics.get("inner_val_rmspe"), 5),
        "trees": int(o.metrics["trees"]) if "trees" in o.metrics else None,
        "members": int(o.metrics.get("members", 1)),
        "older_weight": num(o.metrics.get("older_weight"), 3),
        "served_trees": int(o.metrics["served_trees"]) if "served_trees" in o.metrics else None,
        "calibration_factor": num(o.metrics.get("calibration_factor"), 5),
        "rmspe_by_horizon_week": {k: num(v, 5) for k, v in o.rmspe_by_horizon_week.items()},
        "rmspe_by_store_type": {k: num(v, 5) for k, v in o.rmspe_by_store_type.items()},
        "interval_coverage_80": num(o.metrics.get("interval_coverage_80"), 4),
        "intervals": o.intervals,
        "train_seconds": num(o.timings.get("train_seconds"), 2),
        "fit_seconds": num(o.timings.get("fit_seconds"), 2),
        "read_seconds": num(o.timings.get("read_seconds"), 2),
        "read_seconds_incremental": num(read_seconds_incremental, 3),
        "status": o.status,
        "reason": o.reason,
        "timings": {k: num(v, 2) for k, v in o.timings.items()},
        "seconds_per_tree": seconds_per_tree(
            o.timings, int(o.metrics.get("trees", 0)), int(o.metrics.get("members", 1))
        ),
        "machine": {"before": load_before, "after": load_after},
        "read": {k: v for k, v in o.read.items() if k not in ("offsets", "feature_names")},
        "note": (
            f"protocol {o.protocol}: early stopping (trees), calibration and interval quantiles are "
            "chosen on the inner window (feature snapshots as of the day before it; examples as of a "
            "day before it when the processor no longer holds that day); a model trained on every day "
            "before the reported window with those choices scores the reported window once (feature "
            "snapshots as of the day before it). "
            "train_seconds = read + inner fit + outer fit + intervals + refit on the whole range "
            "(fit_seconds without the read), nthread=2, hist; read_seconds is the read of the run "
            "(cache or full), read_seconds_incremental a second read right after it (no new data). "
            "train_cpu_seconds is the CPU time of the fits (all threads): on a busy shared machine it "
            "is the steadier measure; machine gives the load before and after the run, and "
            "seconds_per_tree the outer fit's and the refit's seconds per tree: the machine's speed "
            "during the run (members: boosters averaged into the outer fit's and the refit's models, each a "
            "fit there; the inner fit is member 0 alone). older_weight: the weight of the model fitted "
            "one stage earlier blended into the scored and the served model; served_trees: the trees "
            "of the registered model, what serving evaluates per forecast."
        ),
        "metrics": {k: num(v, 5) for k, v in o.metrics.items()},
    }
