"""The LightGBM export must predict exactly what XGBoost predicts (up to float32 summation)."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from storecast_trainer.export import (
    ExportError,
    booster_json,
    float32_below,
    lightgbm_text_predict,
    to_lightgbm_text,
)


def _train(x: np.ndarray, y: np.ndarray, rounds: int = 3, **params: object) -> xgb.Booster:
    p = {
        "tree_method": "hist",
        "nthread": 1,
        "max_depth": 3,
        "eta": 1.0,
        "lambda": 0.0,
        "min_child_weight": 0,
    }
    p.update(params)
    return xgb.train(p, xgb.DMatrix(x, y), rounds)


def _split_conditions(b: xgb.Booster) -> list[float]:
    t = booster_json(b)["learner"]["gradient_booster"]["model"]["trees"][0]
    return [c for c, left in zip(t["split_conditions"], t["left_children"], strict=True) if left != -1]


def test_float32_below() -> None:
    assert float32_below(1.0) == float(np.nextafter(np.float32(1), np.float32(0)))
    assert float32_below(1.0) < 1.0
    assert np.float32(float32_below(1.0)) == float32_below(1.0)
    with pytest.raises(ExportError):
        float32_below(float("inf"))


def test_on_threshold_values_go_right() -> None:
    # y jumps at x = 2: XGBoost splits with x < 2 (a cut on an integer value).
    x = np.array([[0.0], [1.0], [2.0], [3.0]] * 10)
    y = (x[:, 0] >= 2).astype(float) * 10.0
    b = _train(x, y, rounds=1, max_depth=1, base_score=0.0)
    assert 2.0 in [float(np.float32(c)) for c in _split_conditions(b)]
    text = to_lightgbm_text(b, ["x"])
    probe = np.array([[1.0], [np.float32(float32_below(2.0))], [2.0], [3.0]])
    got = lightgbm_text_predict(text, probe)
    want = b.predict(xgb.DMatrix(probe), output_margin=True)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert got[2] > got[1], "x == threshold must take XGBoost's right branch"


@pytest.mark.parametrize("missing_high", [True, False])
def test_missing_values_follow_default_left(missing_high: bool) -> None:
    # Missing rows behave like high (or low) values, so XGBoost learns default right (or left).
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, size=(400, 2))
    y = (x[:, 0] > 5).astype(float)
    miss = rng.random(400) < 0.2
    y[miss] = 1.0 if missing_high else 0.0
    x[miss, 0] = np.nan
    b = _train(x, y, rounds=2, max_depth=2)
    tree = booster_json(b)["learner"]["gradient_booster"]["model"]["trees"][0]
    assert tree["default_left"][0] == (0 if missing_high else 1)
    text = to_lightgbm_text(b, ["a", "b"])
    probe = np.array([[np.nan, 1.0], [np.nan, 9.0], [1.0, np.nan], [9.0, 9.0]])
    np.testing.assert_allclose(
        lightgbm_text_predict(text, probe), b.predict(xgb.DMatrix(probe), output_margin=True), atol=1e-6
    )


def test_base_score_folds_into_first_tree() -> None:
    x = np.arange(20, dtype=float).reshape(-1, 1)
    y = 1000.0 + (x[:, 0] > 9)
    b = _train(x, y, rounds=2, base_score=1000.0)
    text = to_lightgbm_text(b, ["x"])
    got = lightgbm_text_predict(text, x)
    np.testing.assert_allclose(got, b.predict(xgb.DMatrix(x), output_margin=True), rtol=1e-7)
    assert got.min() > 999.0


def test_single_leaf_tree_and_random_model_parity() -> None:
    rng = np.random.default_rng(7)
    x = rng.integers(0, 6, size=(3000, 5)).astype(float)
    x[rng.random(x.shape) < 0.05] = np.nan
    y = np.nan_to_num(x).sum(axis=1) + rng.normal(size=3000)
    b = _train(x, y, rounds=30, max_depth=5, eta=0.3, gamma=1e9)  # gamma prunes every split: 1-leaf trees
    text = to_lightgbm_text(b, [f"f{i}" for i in range(5)])
    assert "num_leaves=1\n" in text
    b2 = _train(x, y, rounds=30, max_depth=5, eta=0.3)
    text2 = to_lightgbm_text(b2, [f"f{i}" for i in range(5)])
    for booster, t in ((b, text), (b2, text2)):
        np.testing.assert_allclose(
            lightgbm_text_predict(t, x), booster.predict(xgb.DMatrix(x), output_margin=True), atol=1e-4
        )


def test_refuses_what_it_cannot_export() -> None:
    x = np.array([[0.0], [1.0]] * 10)
    y = np.array([0.0, 1.0] * 10)
    with pytest.raises(ExportError, match="objective"):
        to_lightgbm_text(_train(x, y, objective="binary:logistic"), ["x"])
    with pytest.raises(ExportError, match="features"):
        to_lightgbm_text(_train(x, y), ["x", "y"])
    with pytest.raises(ExportError, match="name"):
        to_lightgbm_text(_train(x, y), ["bad name"])


def test_header_fields_leaves_requires() -> None:
    x = np.arange(10, dtype=float).reshape(-1, 1)
    text = to_lightgbm_text(_train(x, x[:, 0]), ["x"])
    head = text.split("\n\n", 1)[0].split("\n")
    fields = dict(line.split("=", 1) for line in head[1:])
    assert head[0] == "tree"
    assert fields["version"] == "v3"
    assert fields["num_class"] == fields["num_tree_per_iteration"] == "1"
    assert fields["max_feature_idx"] == "0"
    assert len(fields["tree_sizes"].split()) == 3
    assert text.endswith("end of trees\n")
