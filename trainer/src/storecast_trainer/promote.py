"""Promote requests (topics.ActionPromote): make a registered version the champion, or roll back to
the previous one, through the same registry and ``models`` topic as a training's promotion.

1. publish TrainResult "running";
2. look the version up in MLflow's registry (one of this deployment's models; the version exists);
3. verify it as after training (verify()): its export's sha256 is the one recorded for the version
   and in its golden manifest; the export replays its golden rows within PARITY_TOLERANCE, here and,
   with --storecast-bin, through Go's leaves (the code serving loads models with); its features are
   the champion's (serving refuses a model of another feature schema);
4. move the champion alias (``previous`` keeps the champion before it) and tag the version;
5. publish its ModelEvent on ``models`` exactly as after training, then TrainResult "succeeded"
   (promoted). Any refusal or failure publishes "failed" with the reason; a refused version changes
   nothing in the registry or on the topic.

A request for the version that already is champion verifies it and publishes its event again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .data import parse_day
from .golden import go_parity_dir, read_rows_csv_gz, replay_parity
from .names import GLOBAL_MODEL
from .outcome import Outcome, finite
from .pipeline import from_mlflow
from .request import Request, RequestError
from .tracking import CURVES, DRIFT_BINS, FEATURES

if TYPE_CHECKING:
    from .pipeline import Trainer
    from .tracking import Tracker

log = logging.getLogger(__name__)


class RefusedError(RequestError):
    """The version may not become champion; the message says why."""


@dataclass
class Artifacts:
    """What a version's training run logged that promotion needs."""

    text: str
    manifest: dict[str, Any]
    rows: np.ndarray
    margin: np.ndarray
    feature_names: list[str]
    feature_schema: str
    intervals: dict[str, Any] | None
    feature_bins: list[dict[str, Any]] | None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def load_artifacts(d: Path) -> Artifacts:
    """Read a run's artifacts from d (export/, golden/, features.json, validation.json and, for
    runs that logged it, drift/feature_bins.json); RefusedError names what is missing."""
    try:
        text = (d / "export" / "model.txt").read_text()
        manifest = json.loads((d / "golden" / "manifest.json").read_text())
        names, rows, margin = read_rows_csv_gz(d / "golden" / "rows.csv.gz")
        features = json.loads((d / FEATURES).read_text())
    except (OSError, ValueError, KeyError) as e:
        raise RefusedError(f"the run's export or golden rows cannot be read: {e}") from e
    if names != features.get("feature_names"):
        raise RefusedError("the golden rows' columns are not the run's features")
    validation = _optional_json(d / "validation.json")
    bins = _optional_json(d / DRIFT_BINS)
    return Artifacts(
        text=text,
        manifest=manifest,
        rows=rows,
        margin=margin,
        feature_names=list(features["feature_names"]),
        feature_schema=str(features.get("feature_schema", "")),
        intervals=(validation or {}).get("intervals") or None,
        feature_bins=(bins or {}).get("feature_bins") or None,
    )


def _optional_json(p: Path) -> dict[str, Any] | None:
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def verify(
    a: Artifacts,
    recorded_sha: str,
    champion_features: list[str] | None,
    storecast_bin: str = "",
    golden_dir: Path | None = None,
) -> dict[str, float]:
    """The checks a version passes before it may become champion (see the module doc); returns the
    parity measured, raises RefusedError otherwise. golden_dir holds model.txt, rows.csv.gz and
    manifest.json for Go's check (needed with storecast_bin)."""
    sha = a.sha256
    if not recorded_sha:
        raise RefusedError("the version has no recorded sha256 (it was not registered by a training run)")
    if sha != recorded_sha or sha != a.manifest.get("sha256"):
        raise RefusedError(
            f"the export's sha256 {sha[:12]}… is not the one recorded for the version "
            f"({recorded_sha[:12]}…) and its golden manifest ({str(a.manifest.get('sha256', ''))[:12]}…)"
        )
    if champion_features is not None and champion_features != a.feature_names:
        raise RefusedError(
            f"its features ({a.feature_schema}, {len(a.feature_names)}) are not the champion's "
            f"({len(champion_features)}): serving would refuse it"
        )
    try:
        out = {"export_max_rel_diff": replay_parity(a.text, a.rows, a.margin)}
        if storecast_bin:
            if golden_dir is None:
                raise ValueError("Go's parity check needs the golden folder")
            out["go_parity_max_rel_diff"] = go_parity_dir(storecast_bin, golden_dir)
    except RuntimeError as e:
        raise RefusedError(str(e)) from e
    return out


def is_ours(name: str, suffix: str) -> bool:
    """Whether name is one of this deployment's registered models (names.model_name's shape)."""
    sfx = "-" + re.escape(suffix) if suffix else ""
    return re.fullmatch(re.escape(GLOBAL_MODEL) + r"(-store-[0-9]+)?" + sfx, name) is not None


def run(trainer: Trainer, req: Request) -> Outcome:
    """Serve one promote request end to end; never raises for the request's own failures."""
    t0 = time.perf_counter()
    name, version = req.model_name, req.model_version
    trainer.publish.result(req.id, Outcome(status="running", model_name=name, version=version))
    try:
        o = _promote(trainer, req)
    except RequestError as e:
        o = Outcome(status="failed", reason=f"v{version} not promoted: {e}", model_name=name, version=version)
    except Exception as e:
        log.exception("promote request %s failed", req.id)
        where = "mlflow unavailable" if from_mlflow(e) else "internal error"
        o = Outcome(
            status="failed",
            reason=f"{where}: {type(e).__name__}: {e}"[:1000],
            model_name=name,
            version=version,
        )
        if from_mlflow(e):
            trainer.forget_tracker()
    o.timings["total_seconds"] = time.perf_counter() - t0
    if trainer.metrics:
        trainer.metrics.runs.labels(o.status).inc()
    trainer.publish.result(req.id, o)
    log.info("promote request %s: %s %s v%s: %s", req.id, o.status, name, version, o.reason)
    return o


def _promote(trainer: Trainer, req: Request) -> Outcome:
    name, version = req.model_name, req.model_version
    if not is_ours(name, trainer.cfg.model_suffix):
        raise RefusedError(f"{name} is not one of this deployment's registered models")
    tr = trainer.tracker()
    if tr is None:
        raise RefusedError("promotion needs MLflow's registry and the trainer has no tracking URI")
    mv = _version(tr, name, version)
    run_ = tr.client.get_run(mv.run_id)
    champ = tr.champion(name)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for path, required in (
            ("export", True),
            ("golden", True),
            (FEATURES, True),
            ("validation.json", False),
            # A folder: MLflow downloads a nested file by its folder only.
            (DRIFT_BINS.rsplit("/", 1)[0], False),
        ):
            try:
                tr.client.download_artifacts(mv.run_id, path, str(d))
            except Exception as e:
                if required:
                    raise RefusedError(
                        f"run {mv.run_id} has no {path} artifact: {type(e).__name__}: {e}"
                    ) from e
                log.info("run %s: no %s artifact (%s); published without it", mv.run_id, path, e)
        a = load_artifacts(d)
        shutil.copy(d / "export" / "model.txt", d / "golden" / "model.txt")
        parity = verify(
            a,
            str((mv.tags or {}).get("sha256", "")),
            champ.feature_names if champ is not None and champ.version != version else None,
            trainer.cfg.storecast_bin,
            d / "golden",
        )
    params = run_.data.params
    try:
        trained_through = parse_day(params["end_date"])
    except (KeyError, ValueError) as e:
        raise RefusedError(f"the run records no end_date: {e}") from e
    metrics = {k: v for k, v in run_.data.metrics.items() if k not in CURVES}
    old = tr.promote(name, version)
    tr.set_version_tags(name, version, {"promoted_by": f"request {req.id} ({req.requested_by or '?'})"})
    trainer.publish.model(
        name,
        version,
        mv.run_id,
        metrics,
        a.feature_names,
        a.feature_schema,
        a.text.encode(),
        a.sha256,
        trained_through,
        intervals=a.intervals,
        feature_bins=a.feature_bins,
        protocol=params.get("protocol", ""),
    )
    val_rmspe = float(metrics.get("val_rmspe", math.nan))
    if trainer.metrics and math.isfinite(val_rmspe):
        trainer.metrics.champion(name, val_rmspe)
    if old == version:
        reason = f"v{version} already was the champion; verified and published again"
    else:
        reason = f"v{version} is the champion (previous: v{old})" if old else f"v{version} is the champion"
    return Outcome(
        status="succeeded",
        reason=reason,
        run_id=mv.run_id,
        model_name=name,
        version=version,
        promoted=True,
        metrics=finite({**metrics, **parity}),
        decision=reason,
    )


def _version(tr: Tracker, name: str, version: str) -> Any:
    """The registered version, or RefusedError when the registry has no such model or version."""
    from mlflow.exceptions import MlflowException

    try:
        return tr.client.get_model_version(name, version)
    except MlflowException as e:
        if e.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            raise RefusedError(f"{name} has no version {version} in MLflow's registry") from e
        raise
