"""Export an XGBoost booster to LightGBM's v3 text model format, which leaves (Go) reads.

XGBoost and LightGBM trees differ in three ways that matter for exact parity:

* XGBoost sends a value left when ``x < t``; LightGBM (and leaves) when ``x <= t``. Both compare
  float32 feature values against float32 thresholds, so ``x < t`` equals ``x <= t'`` where ``t'``
  is the largest float32 below ``t``. leaves compares in float64, which is exact for float32
  values, as long as the caller rounds each feature to float32 first (model.Predict does).
* A missing value (NaN) follows XGBoost's ``default_left``. In LightGBM's ``decision_type`` that is
  missing type NaN (2 in bits 2-3) plus the default-left bit (bit 1).
* XGBoost adds a global ``base_score`` (in margin space); LightGBM has no such term, so it is folded
  into every leaf of the first tree.

Only identity-link objectives are exported (the margin is the prediction); the target transform
(log1p) is applied by the trainer and undone by the Go side, not by the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import xgboost as xgb

#: Objectives whose margin equals the prediction, so base_score is a margin as stored.
IDENTITY_OBJECTIVES = frozenset({"reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror"})

#: LightGBM decision_type bits (see LightGBM's tree.h): bit 0 categorical, bit 1 default left,
#: bits 2-3 the missing type (0 none, 1 zero, 2 NaN).
DECISION_DEFAULT_LEFT = 1 << 1
DECISION_MISSING_NAN = 2 << 2


class ExportError(ValueError):
    """The booster cannot be exported faithfully (unsupported objective, booster or split)."""


def float32_below(t: float) -> float:
    """Return the largest float32 strictly below ``t`` (``t`` a float32 value), as a Python float."""
    t32 = np.float32(t)
    if not np.isfinite(t32):
        raise ExportError(f"threshold {t!r} is not finite")
    return float(np.nextafter(t32, np.float32(-np.inf), dtype=np.float32))


def fmt(x: float) -> str:
    """Format a float so Go's strconv.ParseFloat(s, 64) returns exactly x (Python's repr is the
    shortest string that round-trips a float64)."""
    if not math.isfinite(x):
        raise ExportError(f"value {x!r} is not finite")
    r = repr(float(x))
    return "0" if r in ("0.0", "-0.0") else r


def fmt32(x: float) -> str:
    """Format a float32 value in its shortest form that reads back as the same float32."""
    if not math.isfinite(x):
        raise ExportError(f"value {x!r} is not finite")
    f = np.float32(x)
    if f == 0:
        return "0"
    pos = np.format_float_positional(f, unique=True, trim="-")
    sci = np.format_float_scientific(f, unique=True, trim="-")
    return pos if len(pos) <= len(sci) else sci


@dataclass(frozen=True)
class _Tree:
    """One XGBoost tree as read from its JSON."""

    left: list[int]
    right: list[int]
    feature: list[int]
    cond: list[float]
    default_left: list[int]
    split_type: list[int]


def parse_base_score(raw: str) -> float:
    """XGBoost's stored start (learner_model_param.base_score): "[8.5E0]" (XGBoost 3, one target)
    or "8.5E0"."""
    s = raw.strip()
    if s.startswith("["):
        parts = [p for p in s.strip("[]").split(",") if p.strip()]
        if len(parts) != 1:
            raise ExportError(f"base_score {raw!r}: want exactly one target")
        s = parts[0]
    return float(np.float32(float(s)))


def booster_json(booster: xgb.Booster) -> dict[str, Any]:
    """Return the booster's JSON model as a dict."""
    # orjson: a model of 1,400 trees is about 100 MB of JSON, and the json module takes seconds.
    return orjson.loads(bytes(booster.save_raw(raw_format="json")))


def booster_from_json(model: dict[str, Any]) -> xgb.Booster:
    """The booster of a JSON model (booster_json's form, edited)."""
    out = xgb.Booster()
    out.load_model(bytearray(orjson.dumps(model)))
    return out


def _trees(model: dict[str, Any]) -> tuple[list[_Tree], float, int]:
    learner = model["learner"]
    objective = learner["objective"]["name"]
    if objective not in IDENTITY_OBJECTIVES:
        raise ExportError(f"objective {objective!r} is not an identity-link regression objective")
    gb = learner["gradient_booster"]
    if gb.get("name") != "gbtree":
        raise ExportError(f"booster {gb.get('name')!r} is not gbtree")
    params = learner["learner_model_param"]
    if int(params.get("num_target", "1")) != 1 or int(params.get("num_class", "0")) > 1:
        raise ExportError("only single-target regression boosters are supported")
    num_feature = int(params["num_feature"])
    base = parse_base_score(params["base_score"])
    trees = []
    for t in gb["model"]["trees"]:
        if any(st != 0 for st in t["split_type"]):
            raise ExportError("categorical splits are not supported")
        if int(t["tree_param"].get("size_leaf_vector", "1")) > 1:
            raise ExportError("vector leaves are not supported")
        trees.append(
            _Tree(
                left=list(t["left_children"]),
                right=list(t["right_children"]),
                feature=list(t["split_indices"]),
                cond=[float(np.float32(c)) for c in t["split_conditions"]],
                default_left=list(t["default_left"]),
                split_type=list(t["split_type"]),
            )
        )
    if not trees:
        raise ExportError("booster has no trees")
    return trees, base, num_feature


def _tree_block(index: int, t: _Tree, add: float) -> str:
    """Render one tree in LightGBM's text format, with ``add`` added to every leaf value."""
    # Number XGBoost's internal nodes and leaves in depth-first (preorder) order: LightGBM's root
    # must be internal node 0; children are internal node indices, or ~leaf_index when negative.
    internal: dict[int, int] = {}
    leaves: dict[int, int] = {}
    stack = [0]
    while stack:
        nid = stack.pop()
        if t.left[nid] == -1:
            leaves[nid] = len(leaves)
        else:
            internal[nid] = len(internal)
            stack.append(t.right[nid])
            stack.append(t.left[nid])

    def child(nid: int) -> int:
        return ~leaves[nid] if nid in leaves else internal[nid]

    leaf_value = [0.0] * len(leaves)
    for nid, li in leaves.items():
        leaf_value[li] = t.cond[nid] + add
    # Leaf values are float32 in XGBoost: their shortest float32 form is within half a float32 ulp
    # (and a third of the size). The first tree's, with the base score added, keep float64 form.
    fmt_leaf = fmt if add else fmt32
    lines = [f"Tree={index}", f"num_leaves={len(leaves)}", "num_cat=0"]
    if internal:
        order = sorted(internal, key=internal.__getitem__)
        lines += [
            "split_feature=" + " ".join(str(t.feature[n]) for n in order),
            "split_gain=" + " ".join("0" for _ in order),
            "threshold=" + " ".join(fmt(float32_below(t.cond[n])) for n in order),
            "decision_type="
            + " ".join(
                str(DECISION_MISSING_NAN | (DECISION_DEFAULT_LEFT if t.default_left[n] else 0)) for n in order
            ),
            "left_child=" + " ".join(str(child(t.left[n])) for n in order),
            "right_child=" + " ".join(str(child(t.right[n])) for n in order),
        ]
    lines += [
        "leaf_value=" + " ".join(fmt_leaf(v) for v in leaf_value),
        "shrinkage=1",
    ]
    return "\n".join(lines) + "\n\n\n"


def to_lightgbm_text(booster: xgb.Booster, feature_names: Sequence[str], shift: float = 0.0) -> str:
    """Export ``booster`` as a LightGBM v3 text model over ``feature_names`` (in column order).

    The result predicts XGBoost's margin (``output_margin=True``) plus ``shift`` (a calibration
    factor c is shift log(c) on log1p(sales)) for float32-rounded inputs, with NaN as missing.
    Raises ExportError when the booster cannot be exported faithfully.
    """
    trees, base, num_feature = _trees(booster_json(booster))
    names = list(feature_names)
    if len(names) != num_feature:
        raise ExportError(f"booster has {num_feature} features, {len(names)} names given")
    for n in names:
        if not n or any(c.isspace() or c in "=[]:," for c in n):
            raise ExportError(f"feature name {n!r} cannot be written in LightGBM text")
    blocks = [_tree_block(i, t, base + shift if i == 0 else 0.0) for i, t in enumerate(trees)]
    header = [
        "tree",
        "version=v3",
        "num_class=1",
        "num_tree_per_iteration=1",
        "label_index=0",
        f"max_feature_idx={num_feature - 1}",
        "objective=regression",
        "feature_names=" + " ".join(names),
        "feature_infos=" + " ".join("none" for _ in names),
        "tree_sizes=" + " ".join(str(len(b.encode())) for b in blocks),
    ]
    return "\n".join(header) + "\n\n" + "".join(blocks) + "end of trees\n"


def lightgbm_text_predict(text: str, x: np.ndarray) -> np.ndarray:
    """Evaluate a LightGBM text model written by to_lightgbm_text with leaves' semantics (float64
    ``<=`` on float32-rounded inputs, NaN to the node's default side), vectorised over rows. The
    trainer uses it to check every export against XGBoost before publishing it."""
    trees: list[dict[str, str]] = []
    cur: dict[str, str] | None = None
    for line in text.split("\n"):
        if line.startswith("Tree="):
            cur = {}
            trees.append(cur)
        elif line.startswith("end of trees"):
            break
        elif cur is not None and "=" in line:
            k, v = line.split("=", 1)
            cur[k] = v
    xs = np.asarray(x, dtype=np.float32).astype(np.float64)
    n = xs.shape[0]
    rows = np.arange(n)
    out = np.zeros(n)
    for t in trees:
        leaf = np.array(t["leaf_value"].split(), dtype=np.float64)
        if int(t["num_leaves"]) == 1:
            out += leaf[0]
            continue
        feat = np.array(t["split_feature"].split(), dtype=np.int64)
        thr = np.array(t["threshold"].split(), dtype=np.float64)
        dleft = (np.array(t["decision_type"].split(), dtype=np.int64) & DECISION_DEFAULT_LEFT) != 0
        lc = np.array(t["left_child"].split(), dtype=np.int64)
        rc = np.array(t["right_child"].split(), dtype=np.int64)
        node = np.zeros(n, dtype=np.int64)
        active = np.ones(n, dtype=bool)
        while active.any():
            r, nd = rows[active], node[active]
            v = xs[r, feat[nd]]
            go_left = np.where(np.isnan(v), dleft[nd], v <= thr[nd])
            node[active] = np.where(go_left, lc[nd], rc[nd])
            active = node >= 0
        out += leaf[~node]
    return out
