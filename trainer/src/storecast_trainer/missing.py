"""Missing features in the matrices XGBoost trains on, and where the fitted trees send them.

A feature is missing (NaN) when it cannot be computed: a store's first weeks have no sales means, a
distance search met an unknown day (ADR 0005). Four rows in five miss at least one feature, and
XGBoost then builds its histograms on its sparse path. ``dense`` puts ``MISSING``, a value below
any a feature takes, in their place, so that the training matrices are dense (its faster path:
0.086 s per tree against 0.097 on 760,000 rows of 58 features); ``missing_left`` then sends NaN
where the fitted trees send that value, left at every split (it is below every split condition),
so that the model predicts on rows with NaN (validation, the golden rows, Go's leaves) exactly as
on the dense rows it was trained on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xgboost as xgb

from .export import booster_from_json, booster_json

#: What a missing feature becomes in a training matrix: below every value a feature takes.
MISSING = np.float32(-1e9)


def dense(x: np.ndarray) -> np.ndarray:
    """``x`` with MISSING in place of NaN; a value at or below MISSING is an error (it would be
    mistaken for a missing one)."""
    if (x <= MISSING).any():
        raise ValueError(f"a feature value is at or below {MISSING}, the value that stands for missing")
    return np.where(np.isnan(x), MISSING, x)


def missing_left(booster: xgb.Booster) -> xgb.Booster:
    """The booster with NaN sent left at every split, where a model fitted on ``dense`` rows sends
    MISSING: on rows with NaN it then predicts what the fitted model predicts on their dense form."""
    return booster_from_json(send_left(booster_json(booster)))


def send_left(model: dict[str, Any]) -> dict[str, Any]:
    """``missing_left`` on a booster's JSON model (export.booster_json), edited in place."""
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        tree["default_left"] = [1] * len(tree["default_left"])
    return model
