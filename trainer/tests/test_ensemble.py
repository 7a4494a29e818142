"""Averaging boosters into one (ensemble.average) and the trainer's ``members``."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb
from conftest import synthetic

from storecast_trainer import train
from storecast_trainer.data import decode_examples, filter_examples, parse_day
from storecast_trainer.ensemble import EnsembleError, average
from storecast_trainer.export import lightgbm_text_predict, to_lightgbm_text


def _rows(n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((n, 4)).astype(np.float32)
    x[rng.random(n) < 0.1, 2] = np.nan
    return x, 8 + x[:, 0] * 2 + np.nan_to_num(x[:, 2]) + rng.normal(scale=0.1, size=n)


def _fit(d: xgb.DMatrix, seed: int, **kw: object) -> xgb.Booster:
    params = {"max_depth": 4, "eta": 0.3, "subsample": 0.7, "base_score": 8.0, "seed": seed, **kw}
    return xgb.train(params, d, num_boost_round=30)


@pytest.mark.parametrize("members", [2, 3])
def test_average_predicts_the_members_mean(members: int) -> None:
    x, y = _rows()
    d = xgb.DMatrix(x, y, feature_names=["a", "b", "c", "d"])
    boosters = [_fit(d, seed) for seed in range(members)]
    mean = np.mean([b.predict(d, output_margin=True) for b in boosters], axis=0)
    merged = average(boosters)
    assert merged.num_boosted_rounds() == 30 * members
    assert merged.feature_names == ["a", "b", "c", "d"]
    np.testing.assert_allclose(merged.predict(d, output_margin=True), mean, rtol=0, atol=1e-5)
    # The members differ (else averaging would not be worth a fit each).
    assert np.abs(boosters[0].predict(d) - boosters[1].predict(d)).max() > 1e-3
    # Served as one LightGBM text model, as a single booster is.
    text = to_lightgbm_text(merged, ["a", "b", "c", "d"])
    np.testing.assert_allclose(lightgbm_text_predict(text, x), mean, rtol=0, atol=1e-5)


def test_average_of_one_is_the_booster() -> None:
    x, y = _rows(500)
    b = _fit(xgb.DMatrix(x, y), 0)
    assert average([b]) is b


@pytest.mark.parametrize(
    ("other", "what"),
    [
        ({"base_score": 7.0}, "learner_model_param"),
        ({"objective": "reg:pseudohubererror"}, "objective"),
    ],
)
def test_average_refuses_members_that_differ(other: dict[str, object], what: str) -> None:
    x, y = _rows(500)
    d = xgb.DMatrix(x, y)
    with pytest.raises(EnsembleError, match=what):
        average([_fit(d, 0), _fit(d, 1, **other)])
    with pytest.raises(EnsembleError, match="no boosters"):
        average([])


def test_members_average_boosters_with_their_own_seeds() -> None:
    first, last = parse_day("2015-01-01"), parse_day("2015-06-19")
    ex = filter_examples(decode_examples(synthetic(4, first, last)))
    w = train.validation_window(last, 42)
    val = ex.take(ex.date >= w.first)
    kw = {"max_depth": 4, "eta": 0.3, "num_boost_round": 60, "early_stopping_rounds": 10, "nthread": 1}
    one = train.fit_validate(train.training_rows(ex, w), val, train.TrainParams(**kw))  # type: ignore[arg-type]
    two = train.fit_validate(train.training_rows(ex, w), val, train.TrainParams(members=2, **kw))  # type: ignore[arg-type]
    # Member 0 is the single model: it chooses the trees; the model holds both members' trees.
    assert two.rounds == one.rounds
    assert two.booster.num_boosted_rounds() == 2 * one.rounds
    assert two.metrics["val_rmspe"] < 0.1
    assert not np.allclose(two.pred, one.pred)
    booster, _ = train.refit(ex, train.TrainParams(members=2, **kw), one.rounds)  # type: ignore[arg-type]
    assert booster.num_boosted_rounds() == 2 * one.rounds
    with pytest.raises(train.RequestError, match=r"members must be 1\.\.8"):
        train.TrainParams.from_request({"members": "9"})
