"""MLflow: one run per train request, the registered model and its aliases.

Registered model ``storecast-sales`` (``storecast-sales-store-{id}`` for one store). Every new
version gets alias ``challenger``; ``champion`` moves by the rule in promotion.py, or by a promote
request (promote.py); ``previous`` is the champion before the latest move (what a rollback
promotes).
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import xgboost as xgb
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from .promotion import ChampionRun, Window

log = logging.getLogger(__name__)

EXPERIMENT = "storecast-training"
CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS = "previous"

#: Artifact paths inside a run.
VALIDATION_MODEL = "validation_model/model.json"
FEATURES = "features.json"
#: The training distribution of each feature (drift.training_bins), published with the model.
DRIFT_BINS = "drift/feature_bins.json"
#: Run metrics logged per step (curves): the reported window's RMSPE by horizon, and the inner
#: window's RMSPE by trees (early stopping's metric; runs before it logged log-scale RMSE).
HORIZON_CURVE = "val_rmspe_by_horizon"
INNER_CURVE = "inner_val_rmspe_by_trees"
CURVES = (HORIZON_CURVE, INNER_CURVE, "inner_val_rmse_log1p")


def window_params(w: Window) -> dict[str, str]:
    """Run params that record a validation window."""
    from .data import format_day

    return {
        "val_window": w.label(),
        "val_as_of": format_day(w.as_of),
        "val_first": format_day(w.first),
        "val_last": format_day(w.last),
    }


def window_from_params(params: dict[str, str]) -> Window | None:
    """The validation window a run recorded, if any."""
    from .data import parse_day

    try:
        return Window(
            as_of=parse_day(params["val_as_of"]),
            first=parse_day(params["val_first"]),
            last=parse_day(params["val_last"]),
        )
    except (KeyError, ValueError):
        return None


class Tracker:
    """Talks to the MLflow tracking server."""

    def __init__(self, tracking_uri: str, experiment: str = EXPERIMENT) -> None:
        self.uri = tracking_uri
        mlflow.set_tracking_uri(tracking_uri)
        self.client = MlflowClient(tracking_uri)
        exp = self.client.get_experiment_by_name(experiment)
        self.experiment_id = exp.experiment_id if exp else self.client.create_experiment(experiment)

    def start_run(self, run_name: str, tags: dict[str, str]) -> mlflow.ActiveRun:
        """Start (and make active) a run in the training experiment."""
        return mlflow.start_run(experiment_id=self.experiment_id, run_name=run_name, tags=tags)

    def champion(self, name: str) -> ChampionRun | None:
        """The version aliased champion of ``name``, or None."""
        try:
            mv = self.client.get_model_version_by_alias(name, CHAMPION)
        except MlflowException as e:
            if e.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
                return None
            raise
        run = self.client.get_run(mv.run_id)
        names = None
        try:
            with tempfile.TemporaryDirectory() as d:
                p = self.client.download_artifacts(mv.run_id, FEATURES, d)
                names = json.loads(Path(p).read_text())["feature_names"]
        except (MlflowException, OSError, KeyError, ValueError) as e:
            log.warning("champion v%s: no feature list (%s)", mv.version, e)
        return ChampionRun(
            version=str(mv.version),
            run_id=mv.run_id,
            window=window_from_params(run.data.params),
            val_rmspe=float(run.data.metrics.get("val_rmspe", float("nan"))),
            feature_names=names,
            calibration=float(run.data.metrics.get("calibration_factor", 1.0)),
        )

    def validation_model(self, run_id: str) -> xgb.Booster | None:
        """The validation model a run logged (trained on days before its window), or None."""
        try:
            with tempfile.TemporaryDirectory() as d:
                p = self.client.download_artifacts(run_id, VALIDATION_MODEL, d)
                b = xgb.Booster()
                b.load_model(p)
                return b
        except (MlflowException, OSError, xgb.core.XGBoostError) as e:
            log.warning("run %s: no validation model (%s)", run_id, e)
            return None

    def register(self, name: str, model_uri: str, run_id: str, description: str, model_id: str | None) -> str:
        """Register model_uri as a new version of name; alias it challenger. Returns the version."""
        try:
            self.client.get_registered_model(name)
        except MlflowException:
            self.client.create_registered_model(
                name, description="Storecast daily sales forecast (XGBoost on log1p(sales)); see runs."
            )
        mv = self.client.create_model_version(
            name, model_uri, run_id=run_id, description=description, model_id=model_id
        )
        self.client.set_registered_model_alias(name, CHALLENGER, mv.version)
        return str(mv.version)

    def promote(self, name: str, version: str) -> str | None:
        """Move alias champion to version and alias previous to the champion before it (unless it
        is the same version); return that previous version, or None when there was none."""
        try:
            old: str | None = str(self.client.get_model_version_by_alias(name, CHAMPION).version)
        except MlflowException as e:
            if e.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
                raise
            old = None
        if old is not None and old != str(version):
            self.client.set_registered_model_alias(name, PREVIOUS, old)
        self.client.set_registered_model_alias(name, CHAMPION, version)
        return old

    def set_version_tags(self, name: str, version: str, tags: dict[str, Any]) -> None:
        """Tag a model version."""
        for k, v in tags.items():
            self.client.set_model_version_tag(name, version, k, str(v))
