"""bench/results/train.json: the summary ``storecast-trainer bench`` writes from an outcome."""

from __future__ import annotations

import math
from typing import Any

from .outcome import Outcome


def bench_summary(o: Outcome) -> dict[str, Any]:
    """bench/results/train.json from an outcome (null where a failed run measured nothing)."""

    def num(v: float | None, digits: int) -> float | None:
        return round(v, digits) if v is not None and math.isfinite(v) else None

    return {
        "rows": o.rows,
        "train_seconds": num(o.timings.get("train_seconds"), 2),
        "val_rmspe": num(o.metrics.get("val_rmspe"), 5),
        "val_window": o.val_window,
        "status": o.status,
        "reason": o.reason,
        "timings": {k: num(v, 2) for k, v in o.timings.items()},
        "note": (
            "train_seconds = wall time of the validated fit (early stopping on the window) plus the "
            "refit on the whole range, nthread=2, hist; reading and decoding the topic are in timings. "
            "train_cpu_seconds is the CPU time of the same (all threads): on a busy shared machine it "
            "is the steadier measure."
        ),
        "metrics": {k: num(v, 5) for k, v in o.metrics.items()},
    }
