"""What a training run logs to MLflow: parameters, metrics, the dataset description, feature list
and importance, the export and its golden rows, the validation model and plot, the native model;
and the registered version it becomes. The caller owns the active run (tracking.Tracker.start_run)."""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import xgboost as xgb

from .data import Examples, format_day
from .golden import CheckedExport, golden_manifest, write_rows_csv_gz
from .outcome import finite
from .plots import validation_plot
from .promotion import Decision, Window
from .request import Request
from .tracking import FEATURES, VALIDATION_MODEL, Tracker, window_params
from .train import TRANSFORM, Fit, TrainParams


@dataclass
class RunRecord:
    """Everything one successful training produced that the run records."""

    req: Request
    name: str
    params: TrainParams
    examples: Examples
    val: Examples
    window: Window
    val_mode: str
    fit: Fit
    final: xgb.Booster
    export: CheckedExport
    metrics: dict[str, float]
    dataset: dict[str, Any]
    trained_through: int
    topic: str


def log_run(tr: Tracker, run_id: str, r: RunRecord) -> str:
    """Log r into the active run and register its model; return the new version."""
    ex, fit, window = r.examples, r.fit, r.window
    mlflow.log_params(
        {
            **{k: str(v) for k, v in r.params.__dict__.items()},
            **window_params(window),
            "store": str(r.req.store or "all"),
            "start_date": format_day(r.req.start) if r.req.start is not None else "",
            "end_date": format_day(r.trained_through),
            "val_mode": r.val_mode,
            "feature_schema": ex.schema,
            "features": str(len(ex.names)),
            "target_transform": TRANSFORM,
            "topic": r.topic,
            "xgboost_version": xgb.__version__,
        }
    )
    mlflow.log_metrics(finite(r.metrics))
    for h, v in sorted(fit.per_horizon.items()):
        if math.isfinite(v):
            mlflow.log_metric("val_rmspe_by_horizon", v, step=h)
    for i, v in enumerate(fit.history):
        if i % 10 == 0 or i == len(fit.history) - 1:
            mlflow.log_metric("val_rmse_log1p", float(v), step=i)
    mlflow.log_dict(r.dataset, "dataset.json")
    mlflow.log_dict({"feature_names": ex.names, "feature_schema": ex.schema}, FEATURES)
    mlflow.log_dict(dict(sorted(fit.importance.items(), key=lambda kv: -kv[1])), "feature_importance.json")
    mlflow.log_dict({str(h): v for h, v in sorted(fit.per_horizon.items())}, "val_rmspe_by_horizon.json")
    with tempfile.TemporaryDirectory() as d:
        dp = Path(d)
        (dp / "model.txt").write_text(r.export.text)
        manifest = golden_manifest(r.export.text, ex.names, ex.schema, TRANSFORM, len(r.export.rows), r.final)
        (dp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        mlflow.log_artifact(str(dp / "model.txt"), "export")
        mlflow.log_artifact(str(dp / "manifest.json"), "export")
        write_rows_csv_gz(dp / "rows.csv.gz", ex.names, r.export.rows, r.export.margin)
        mlflow.log_artifact(str(dp / "rows.csv.gz"), "golden")
        mlflow.log_artifact(str(dp / "manifest.json"), "golden")
        fit.booster.save_model(str(dp / "model.json"))
        mlflow.log_artifact(str(dp / "model.json"), VALIDATION_MODEL.rsplit("/", 1)[0])
        validation_plot(
            dp / "validation.png",
            r.val.date,
            r.val.label,
            fit.pred,
            fit.per_horizon,
            f"{r.name}: validation {window.label()} (RMSPE {fit.metrics['val_rmspe']:.4f})",
        )
        mlflow.log_artifact(str(dp / "validation.png"), "validation")
    info = mlflow.xgboost.log_model(r.final, name="model", model_format="json")
    return tr.register(
        r.name,
        info.model_uri,
        run_id,
        f"request {r.req.id} by {r.req.requested_by or '?'}; validation {window.label()} ({r.val_mode})",
        getattr(info, "model_id", None),
    )


def log_decision(d: Decision, version: str) -> None:
    """Record the promotion decision on the active run."""
    mlflow.set_tags({"promotion": d.reason, "promoted": str(d.promote).lower(), "model_version": version})
    if d.champion_rmspe is not None:
        mlflow.log_metric("champion_val_rmspe_on_window", d.champion_rmspe)
