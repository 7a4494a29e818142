"""Averaging boosters into one: an ensemble served as a single model.

Boosters fitted on the same rows with different seeds, or on rows ending at different days, make
different errors; their (weighted) average margin forecasts better than any one of them (ADR 0005).
``average`` writes that average as one XGBoost booster whose trees are all the members' trees with
each member's leaves scaled by its weight and whose start is the weighted mean of theirs, so
everything downstream of a fit (the LightGBM export leaves serves, the golden rows, the importance,
MLflow) handles an ensemble exactly as a single booster.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import xgboost as xgb

from .export import booster_from_json, booster_json, parse_base_score


class EnsembleError(ValueError):
    """The boosters cannot be averaged into one (different features, objectives or shapes)."""


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


def _shape(learner: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in learner["learner_model_param"].items() if k != "base_score"}


def _weights(n: int, weights: Sequence[float] | None) -> list[float]:
    w = [1.0 / n] * n if weights is None else [float(x) for x in weights]
    if len(w) != n or any(not x > 0 for x in w) or not math.isclose(sum(w), 1.0):
        raise EnsembleError(f"weights {w} are not {n} positive numbers summing to 1")
    return w


def average(boosters: Sequence[xgb.Booster], weights: Sequence[float] | None = None) -> xgb.Booster:
    """One booster whose margin is the mean of the boosters' margins, weighted by ``weights``
    (positive, summing to 1; equal by default): every member's trees with their leaves scaled by
    its weight, starting at the weighted mean of the members' starts (base_score).

    The members must share their features and objective and be single-target tree boosters; a
    single booster is returned as it is. Raises EnsembleError otherwise.
    """
    if not boosters:
        raise EnsembleError("no boosters to average")
    _weights(len(boosters), weights)
    if len(boosters) == 1:
        return boosters[0]
    return booster_from_json(merge([booster_json(b) for b in boosters], weights))


def merge(models: Sequence[dict[str, Any]], weights: Sequence[float] | None = None) -> dict[str, Any]:
    """``average`` on the boosters' JSON models (export.booster_json), for a caller that edits the
    merged model further before loading it: one decode and one encode for the whole ensemble.
    models[0] becomes the average (the others are left as they are)."""
    if not models:
        raise EnsembleError("no models to average")
    w = _weights(len(models), weights)
    first = models[0]["learner"]
    for i, m in enumerate(models[1:], start=1):
        learner = m["learner"]
        for key in ("feature_names", "objective"):
            if learner[key] != first[key]:
                raise EnsembleError(f"member {i} differs from member 0 in {key}")
        if _shape(learner) != _shape(first):
            raise EnsembleError(f"member {i} differs from member 0 in learner_model_param")
    for i, m in enumerate(models):
        gb = m["learner"]["gradient_booster"]
        if gb.get("name") != "gbtree" or gb["model"]["gbtree_model_param"].get("num_parallel_tree") != "1":
            raise EnsembleError(f"member {i} is not a plain gbtree booster")
    learners = [(m["learner"], wi) for m, wi in zip(models, w, strict=True)]
    trees = [(t, wi) for lr, wi in learners for t in lr["gradient_booster"]["model"]["trees"]]
    start = sum(wi * parse_base_score(lr["learner_model_param"]["base_score"]) for lr, wi in learners)
    merged = models[0]
    merged["learner"]["learner_model_param"]["base_score"] = f"[{start:.9E}]"
    model = merged["learner"]["gradient_booster"]["model"]
    model["trees"] = [_scaled_tree(t, wi, i) for i, (t, wi) in enumerate(trees)]
    model["tree_info"] = [0] * len(trees)
    model["iteration_indptr"] = list(range(len(trees) + 1))
    model["gbtree_model_param"]["num_trees"] = str(len(trees))
    # Early stopping's attributes of member 0 do not describe the average.
    merged["learner"]["attributes"] = {}
    return merged
