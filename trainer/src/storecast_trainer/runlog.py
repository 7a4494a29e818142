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

from . import drift
from .data import Examples, format_day
from .golden import CheckedExport, golden_manifest, write_rows_csv_gz
from .outcome import finite
from .plots import importance_plot, residual_plot, validation_plot
from .promotion import Decision, Window
from .request import Request
from .tracking import (
    DRIFT_BINS,
    FEATURES,
    HORIZON_CURVE,
    INNER_CURVE,
    VALIDATION_MODEL,
    Tracker,
    window_params,
)
from .train import INTERVAL_METHOD, PROTOCOL, TRANSFORM, TrainParams, Validation, horizon_week


@dataclass
class RunRecord:
    """Everything one successful training produced that the run records."""

    req: Request
    name: str
    params: TrainParams
    examples: Examples
    val: Examples
    window: Window
    inner: Window
    val_mode: str
    validation: Validation
    final: xgb.Booster
    export: CheckedExport
    metrics: dict[str, float]
    dataset: dict[str, Any]
    trained_through: int
    topic: str


def log_run(tr: Tracker, run_id: str, r: RunRecord) -> str:
    """Log r into the active run and register its model; return the new version."""
    ex, v, window = r.examples, r.validation, r.window
    fit = v.inner
    mlflow.log_params(
        {
            **{k: str(x) for k, x in r.params.__dict__.items()},
            **window_params(window),
            "protocol": PROTOCOL,
            "inner_window": r.inner.label(),
            "inner_first": format_day(r.inner.first),
            "inner_last": format_day(r.inner.last),
            "inner_as_of": format_day(r.inner.as_of),
            "inner_val_mode": str(r.dataset.get("inner_val_mode", "")),
            "trees": str(v.rounds),
            "calibration_factor": f"{v.calibration:.6f}",
            "interval_method": INTERVAL_METHOD,
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
    for h, x in sorted(v.per_horizon.items()):
        if math.isfinite(x):
            mlflow.log_metric(HORIZON_CURVE, x, step=h)
    for i, x in enumerate(fit.history):
        if i % 10 == 0 or i == len(fit.history) - 1:
            mlflow.log_metric(INNER_CURVE, float(x), step=i + 1)
    mlflow.log_dict(validation_summary(r), "validation.json")
    mlflow.log_dict(r.dataset, "dataset.json")
    mlflow.log_dict({"feature_names": ex.names, "feature_schema": ex.schema}, FEATURES)
    # Logged for every version, so a later promote request (promote.py) publishes the same bins.
    mlflow.log_dict({"feature_bins": drift.training_bins(ex.x, ex.names)}, DRIFT_BINS)
    importance = gain_importance(r.final, ex.names)
    mlflow.log_dict(dict(sorted(importance.items(), key=lambda kv: -kv[1])), "feature_importance.json")
    mlflow.log_dict(training_config(r), "config.json")
    mlflow.log_dict({str(h): x for h, x in sorted(v.per_horizon.items())}, "val_rmspe_by_horizon.json")
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
        v.booster.save_model(str(dp / "model.json"))
        mlflow.log_artifact(str(dp / "model.json"), VALIDATION_MODEL.rsplit("/", 1)[0])
        validation_plot(
            dp / "validation.png",
            r.val.date,
            r.val.label,
            v.pred,
            v.per_horizon,
            f"{r.name}: validation {window.label()} (RMSPE {v.metrics['val_rmspe']:.4f}, {PROTOCOL})",
        )
        mlflow.log_artifact(str(dp / "validation.png"), "validation")
        importance_plot(dp / "feature_importance.png", importance, f"{r.name}: feature importance (gain)")
        mlflow.log_artifact(str(dp / "feature_importance.png"), "validation")
        st = r.val.x[:, ex.names.index("store_type")] if "store_type" in ex.names else None
        residual_plot(
            dp / "residuals.png",
            r.val.label,
            v.pred,
            horizon_week(r.val.horizon),
            st,
            f"{r.name}: relative residuals on {window.label()}",
        )
        mlflow.log_artifact(str(dp / "residuals.png"), "validation")
    info = mlflow.xgboost.log_model(r.final, name="model", model_format="json")
    return tr.register(
        r.name,
        info.model_uri,
        run_id,
        f"request {r.req.id} by {r.req.requested_by or '?'}; validation {window.label()} ({r.val_mode})",
        getattr(info, "model_id", None),
    )


def gain_importance(booster: xgb.Booster, names: list[str]) -> dict[str, float]:
    """Each feature's share of the booster's total gain (0 for features never split on)."""
    gain = booster.get_score(importance_type="total_gain")
    total = sum(gain.values()) or 1.0
    return {n: gain.get(n, 0.0) / total for n in names}


def training_config(r: RunRecord) -> dict[str, Any]:
    """The full training configuration: parameters, XGBoost's booster params, windows, protocol."""
    return {
        "params": dict(r.params.__dict__),
        "xgboost_params": r.params.xgb_params(),
        "xgboost_version": xgb.__version__,
        "protocol": PROTOCOL,
        "val_window": r.window.label(),
        "inner_window": r.inner.label(),
        "trees": r.validation.rounds,
        "calibration_factor": r.validation.calibration,
        "interval_method": INTERVAL_METHOD,
        "target_transform": TRANSFORM,
        "feature_schema": r.examples.schema,
        "feature_names": r.examples.names,
        "topic": r.topic,
        "request": {"id": r.req.id, "store": r.req.store, "start": r.req.start, "end": r.req.end},
    }


def serving_manifest(v: Validation) -> dict[str, Any]:
    """What serving needs besides the trees: the protocol, trees, calibration (already folded into
    the export's margin) and the prediction intervals."""
    return {
        "protocol": PROTOCOL,
        "trees": v.rounds,
        "calibration_factor": v.calibration,
        "calibration_folded": True,
        "intervals": v.intervals.to_json(),
    }


def validation_summary(r: RunRecord) -> dict[str, Any]:
    """The honest protocol's record: windows, trees, calibration, scores per week and store type."""
    v = r.validation
    return {
        "protocol": PROTOCOL,
        "val_window": r.window.label(),
        "inner_window": r.inner.label(),
        "trees": v.rounds,
        "calibration_factor": v.calibration,
        "inner_val_rmspe": v.inner_rmspe,
        "inner_val_rmspe_uncalibrated": v.inner_rmspe_uncalibrated,
        "val_rmspe": v.metrics["val_rmspe"],
        "rmspe_by_horizon_week": v.by_week,
        "rmspe_by_store_type": v.by_store_type,
        "interval_coverage_80": v.metrics["interval_coverage_80"],
        "intervals": v.intervals.to_json(),
    }


def log_decision(d: Decision, name: str, version: str) -> None:
    """Record the promotion decision and the registered version (models:/NAME/VERSION) on the
    active run."""
    mlflow.set_tags(
        {
            "promotion": d.reason,
            "promoted": str(d.promote).lower(),
            "model_version": version,
            "registered_model": name,
            "model_version_uri": f"models:/{name}/{version}",
        }
    )
    if d.champion_rmspe is not None:
        mlflow.log_metric("champion_val_rmspe_on_window", d.champion_rmspe)
