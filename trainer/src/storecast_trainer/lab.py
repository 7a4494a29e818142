"""Feature and parameter experiments on examples computed offline, under the honest protocol.

``go run ./bench/featurelab -out DIR -snapshot val=AS_OF..LAST`` computes, with the Go features
package and without Kafka, the training examples (``examples_*.npy``) and the reported window's
feature snapshots (``val_*.npy``) the processors would emit. ``storecast-trainer lab DIR`` then runs
train.validate exactly as a training request does (inner window for every choice, the reported
window scored once) and prints one JSON line; with a tracking URI each experiment is also a run of
the MLflow experiment ``storecast-lab``, so that keeping or dropping a feature or a parameter is a
visible comparison (docs/decisions/0005-schema-f3.md).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from . import train
from .data import Examples, format_day
from .promotion import Window

EXPERIMENT = "storecast-lab"
COLUMNS = ("x", "store", "date", "as_of", "horizon", "label")


def load(folder: Path, name: str) -> Examples:
    """The arrays featurelab wrote under ``name`` (examples, or a snapshot's name), ordered by
    (date, store) as the pipeline orders what it reads (Rows.to_examples): row order decides which
    rows each tree samples, so the same examples give the same model."""
    meta = json.loads((folder / "meta.json").read_text())
    cols = {c: np.load(folder / f"{name}_{c}.npy") for c in COLUMNS}
    order = np.lexsort((cols["store"], cols["date"]))
    cols = {c: v[order] for c, v in cols.items()}
    return Examples(
        names=list(meta["names"]),
        schema=str(meta["schema"]),
        x=cols["x"].astype(np.float32, copy=False),
        store=cols["store"].astype(np.int64),
        date=cols["date"].astype(np.int64),
        as_of=cols["as_of"].astype(np.int64),
        horizon=cols["horizon"].astype(np.int64),
        label=cols["label"].astype(np.float64),
    )


def without(ex: Examples, drop: list[str]) -> Examples:
    """ex without the named features (unknown names are an error)."""
    unknown = sorted(set(drop) - set(ex.names))
    if unknown:
        raise ValueError(f"unknown features {unknown} (schema {ex.schema})")
    keep = [i for i, n in enumerate(ex.names) if n not in drop]
    out = ex.take(np.ones(len(ex), dtype=bool))
    out.x = np.ascontiguousarray(ex.x[:, keep])
    out.names = [ex.names[i] for i in keep]
    return out


def run(folder: Path, snapshot: str, params: dict[str, str], drop: list[str]) -> dict[str, Any]:
    """The honest protocol on featurelab's arrays: the reported window is the snapshot's days."""
    ex, val = without(load(folder, "examples"), drop), without(load(folder, snapshot), drop)
    if len(val) == 0:
        raise ValueError(f"snapshot {snapshot!r} in {folder} has no rows")
    p = train.TrainParams.from_request(params)
    window = Window(as_of=int(val.as_of.min()), first=int(val.date.min()), last=int(val.date.max()))
    inner = train.inner_window(window, window.last - window.first + 1)
    t0 = time.perf_counter()
    v = train.validate(
        train.training_rows(ex, inner), train.asof_rows(ex, inner), train.training_rows(ex, window), val, p
    )
    return {
        "schema": ex.schema,
        "features": len(ex.names),
        "dropped": drop,
        "params": {k: str(x) for k, x in asdict(p).items()},
        "val_window": window.label(),
        "inner_window": inner.label(),
        "trees": v.rounds,
        "inner_val_rmspe": round(v.inner_rmspe, 5),
        "inner_val_rmspe_uncalibrated": round(v.inner_rmspe_uncalibrated, 5),
        "calibration_factor": round(v.calibration, 5),
        "val_rmspe": round(v.metrics["val_rmspe"], 5),
        "interval_coverage_80": round(v.metrics["interval_coverage_80"], 4),
        "rmspe_by_horizon_week": {k: round(x, 5) for k, x in v.by_week.items()},
        "seconds": {k: round(x, 1) for k, x in v.seconds.items()},
        "total_seconds": round(time.perf_counter() - t0, 1),
        "last_day": format_day(window.last),
    }


def log_run(tracking_uri: str, name: str, r: dict[str, Any]) -> str:
    """Record one experiment as a run of EXPERIMENT; returns its id."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=name) as active:
        mlflow.log_params(
            {
                **r["params"],
                "schema": r["schema"],
                "features": r["features"],
                "dropped": ",".join(r["dropped"]) or "-",
                "val_window": r["val_window"],
                "inner_window": r["inner_window"],
                "protocol": train.PROTOCOL,
            }
        )
        mlflow.log_metrics(
            {
                "trees": r["trees"],
                "inner_val_rmspe": r["inner_val_rmspe"],
                "val_rmspe": r["val_rmspe"],
                "calibration_factor": r["calibration_factor"],
                "interval_coverage_80": r["interval_coverage_80"],
                **{f"val_rmspe_week_{k}": x for k, x in r["rmspe_by_horizon_week"].items()},
            }
        )
        return str(active.info.run_id)
