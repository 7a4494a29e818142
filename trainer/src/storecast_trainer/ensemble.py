"""Averaging boosters into one: an ensemble served as a single model.

Boosters fitted on the same rows with different seeds make different errors; their average margin
forecasts better than any one of them (ADR 0005). ``average`` writes that average as one XGBoost
booster whose trees are all the members' trees with their leaves scaled by 1/K, so everything
downstream of a fit (the LightGBM export leaves serves, the golden rows, the importance, MLflow)
handles an ensemble exactly as a single booster.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import xgboost as xgb


class EnsembleError(ValueError):
    """The boosters cannot be averaged into one (different features, starts or shapes)."""


def _scaled_tree(tree: dict[str, Any], scale: float, tree_id: int) -> dict[str, Any]:
    t = dict(tree)
    leaf = [left == -1 for left in t["left_children"]]
    # A leaf's value is its split condition (XGBoost's JSON keeps it there and in base_weights).
    t["split_conditions"] = [
        c * scale if is_leaf else c for c, is_leaf in zip(t["split_conditions"], leaf, strict=True)
    ]
    t["base_weights"] = [w * scale for w in t["base_weights"]]
    t["id"] = tree_id
    return t


def average(boosters: Sequence[xgb.Booster]) -> xgb.Booster:
    """One booster whose margin is the mean of the boosters' margins.

    The members must share their features, objective and starting margin (base_score: the same
    rows give the same start, train.booster_params) and be single-target tree boosters; a single
    booster is returned as it is. Raises EnsembleError otherwise.
    """
    if not boosters:
        raise EnsembleError("no boosters to average")
    if len(boosters) == 1:
        return boosters[0]
    models = [json.loads(bytes(b.save_raw(raw_format="json"))) for b in boosters]
    first = models[0]["learner"]
    for i, m in enumerate(models[1:], start=1):
        learner = m["learner"]
        for key in ("feature_names", "objective", "learner_model_param"):
            if learner[key] != first[key]:
                raise EnsembleError(f"member {i} differs from member 0 in {key}")
    for i, m in enumerate(models):
        gb = m["learner"]["gradient_booster"]
        if gb.get("name") != "gbtree" or gb["model"]["gbtree_model_param"].get("num_parallel_tree") != "1":
            raise EnsembleError(f"member {i} is not a plain gbtree booster")
    scale = 1.0 / len(models)
    trees = [t for m in models for t in m["learner"]["gradient_booster"]["model"]["trees"]]
    # The models were decoded here for this merge: member 0's becomes the average.
    merged = models[0]
    model = merged["learner"]["gradient_booster"]["model"]
    model["trees"] = [_scaled_tree(t, scale, i) for i, t in enumerate(trees)]
    model["tree_info"] = [0] * len(trees)
    model["iteration_indptr"] = list(range(len(trees) + 1))
    model["gbtree_model_param"]["num_trees"] = str(len(trees))
    # Early stopping's attributes of member 0 do not describe the average.
    merged["learner"]["attributes"] = {}
    out = xgb.Booster()
    out.load_model(bytearray(json.dumps(merged).encode()))
    return out
