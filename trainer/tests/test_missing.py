"""Dense training matrices and the trees' direction for NaN (missing.py)."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from storecast_trainer.export import lightgbm_text_predict, to_lightgbm_text
from storecast_trainer.missing import MISSING, dense, missing_left


def _rows(n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 3)).astype(np.float32) * 50
    gone = rng.random(n) < 0.2
    x[gone, 1] = np.nan
    # Missing says something: those rows sell more, whatever the value of feature 0.
    y = 8 + x[:, 0] / 100 + np.where(gone, 0.5, np.nan_to_num(x[:, 1]) / 200)
    return x, y


def test_dense_puts_missing_in_place_of_nan_and_refuses_values_as_low() -> None:
    x = np.array([[1.0, np.nan], [-126.0, 3.0]], dtype=np.float32)
    np.testing.assert_array_equal(dense(x), [[1.0, MISSING], [-126.0, 3.0]])
    assert np.isnan(x[0, 1])  # the input is left as it was
    with pytest.raises(ValueError, match="stands for missing"):
        dense(np.array([[MISSING]], dtype=np.float32))


def test_missing_left_predicts_on_nan_rows_what_the_fit_predicts_on_their_dense_form() -> None:
    x, y = _rows()
    names = ["a", "b", "c"]
    fitted = xgb.train(
        {"max_depth": 5, "eta": 0.3, "base_score": 8.0, "max_bin": 64, "nthread": 1},
        xgb.QuantileDMatrix(dense(x), y, feature_names=names, max_bin=64),
        num_boost_round=40,
    )
    on_dense = fitted.predict(xgb.DMatrix(dense(x), feature_names=names), output_margin=True)
    patched = missing_left(fitted)
    on_nan = patched.predict(xgb.DMatrix(x, feature_names=names), output_margin=True)
    np.testing.assert_array_equal(on_nan, on_dense)
    # The fit learned what a missing value says (rows without feature 1 sell more).
    gone = np.isnan(x[:, 1])
    assert on_nan[gone].mean() - 8 > 0.3
    # Without the patch XGBoost sends NaN right at every split: another model.
    unpatched = fitted.predict(xgb.DMatrix(x, feature_names=names), output_margin=True)
    assert np.abs(unpatched - on_dense).max() > 0.1
    # Go serves the LightGBM export: NaN follows the same direction there.
    served = lightgbm_text_predict(to_lightgbm_text(patched, names), x)
    np.testing.assert_allclose(served, on_dense, rtol=0, atol=1e-5)
