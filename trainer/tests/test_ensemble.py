"""Averaging boosters into one (ensemble.average), the trainer's ``members`` and its blend of the
older model (``older_weight``)."""

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


def test_weighted_average_of_members_with_their_own_starts() -> None:
    x, y = _rows()
    names = ["a", "b", "c", "d"]
    d = xgb.DMatrix(x, y, feature_names=names)
    # Fitted on different rows, as the older model of a blend is: each has its own start.
    newer, older = _fit(d, 0), _fit(xgb.DMatrix(x[:2000], y[:2000], feature_names=names), 1, base_score=7.0)
    want = 0.6 * newer.predict(d, output_margin=True) + 0.4 * older.predict(d, output_margin=True)
    merged = average([newer, older], [0.6, 0.4])
    assert merged.num_boosted_rounds() == 60
    np.testing.assert_allclose(merged.predict(d, output_margin=True), want, rtol=0, atol=1e-5)
    text = to_lightgbm_text(merged, names)
    np.testing.assert_allclose(lightgbm_text_predict(text, x), want, rtol=0, atol=1e-5)


def test_average_refuses_members_that_differ() -> None:
    x, y = _rows(500)
    d = xgb.DMatrix(x, y)
    with pytest.raises(EnsembleError, match="objective"):
        average([_fit(d, 0), _fit(d, 1, objective="reg:pseudohubererror")])
    with pytest.raises(EnsembleError, match="learner_model_param"):
        average([_fit(d, 0), _fit(xgb.DMatrix(x[:, :3], y), 1)])
    with pytest.raises(EnsembleError, match="no boosters"):
        average([])


@pytest.mark.parametrize("weights", [[0.5], [0.7, 0.4], [1.2, -0.2], [1.0, 0.0]])
def test_average_refuses_weights_that_are_not_a_mean(weights: list[float]) -> None:
    x, y = _rows(500)
    d = xgb.DMatrix(x, y)
    with pytest.raises(EnsembleError, match="positive numbers summing to 1"):
        average([_fit(d, 0), _fit(d, 1)], weights)


def test_members_average_boosters_with_their_own_seeds() -> None:
    first, last = parse_day("2015-01-01"), parse_day("2015-06-19")
    ex = filter_examples(decode_examples(synthetic(4, first, last)))
    w = train.validation_window(last, 42)
    val = ex.take(ex.date >= w.first)
    kw = {"max_depth": 4, "eta": 0.3, "num_boost_round": 60, "early_stopping_rounds": 10, "nthread": 1}
    one = train.fit_validate(train.training_rows(ex, w), val, train.TrainParams(members=1, **kw))  # type: ignore[arg-type]
    two = train.fit_validate(train.training_rows(ex, w), val, train.TrainParams(members=2, **kw))  # type: ignore[arg-type]
    # The inner fit is member 0 alone: it chooses the trees and forecasts the inner window.
    assert two.rounds == one.rounds
    assert two.booster.num_boosted_rounds() == one.rounds
    np.testing.assert_array_equal(two.pred, one.pred)
    # The outer fit and the refit fit member 0 and member 1 (seed + 1); combine averages them.
    d = xgb.DMatrix(val.x, feature_names=val.names)
    members, _ = train.refit(ex, train.TrainParams(members=2, **kw), one.rounds)  # type: ignore[arg-type]
    assert [m.num_boosted_rounds() for m in members] == [one.rounds, one.rounds]
    alone = train.TrainParams(older_weight=0)
    booster = train.combine(members, [], alone)
    assert booster.num_boosted_rounds() == 2 * one.rounds
    single = [train.refit(ex, train.TrainParams(members=1, seed=s, **kw), one.rounds)[0][0] for s in (42, 43)]  # type: ignore[arg-type]
    m0, m1 = (train.combine([m], [], alone).predict(d) for m in single)
    assert np.abs(m0 - m1).max() > 1e-3
    np.testing.assert_allclose(booster.predict(d), (m0 + m1) / 2, rtol=0, atol=1e-5)
    # With older members: the newer ones share 1 - older_weight, the older ones older_weight.
    blended = train.combine(members, single[:1], train.TrainParams(older_weight=0.3))
    assert blended.num_boosted_rounds() == 3 * one.rounds
    np.testing.assert_allclose(blended.predict(d), 0.35 * (m0 + m1) + 0.3 * m0, rtol=0, atol=1e-5)
    with pytest.raises(train.RequestError, match=r"members must be 1\.\.8"):
        train.TrainParams.from_request({"members": "9"})


def test_older_weight_blends_the_inner_model_into_the_scored_one() -> None:
    first, last = parse_day("2015-01-01"), parse_day("2015-06-19")
    ex = filter_examples(decode_examples(synthetic(4, first, last)))
    w = train.validation_window(last, 21)
    inner = train.inner_window(w, 21)
    kw = {
        "max_depth": 4,
        "eta": 0.3,
        "num_boost_round": 60,
        "early_stopping_rounds": 10,
        "nthread": 1,
        "members": 1,
    }
    args = (
        train.training_rows(ex, inner),
        train.asof_rows(ex, inner),
        train.training_rows(ex, w),
        ex.take(ex.date >= w.first),
    )
    alone = train.validate(*args, train.TrainParams(older_weight=0, **kw))  # type: ignore[arg-type]
    p = train.TrainParams(older_weight=0.4, **kw)  # type: ignore[arg-type]
    v = train.validate(*args, p)
    # The choices are the inner fit's, as without the blend; the scored model holds both models.
    assert (v.rounds, v.calibration) == (alone.rounds, alone.calibration)
    assert [m.num_boosted_rounds() for m in v.outer] == [v.rounds]
    assert v.booster.num_boosted_rounds() == 2 * v.rounds
    d = xgb.DMatrix(args[3].x, feature_names=args[3].names)
    # Off, the older model is left out.
    outer = train.combine(v.outer, [v.inner.booster], train.TrainParams(older_weight=0))
    assert outer.num_boosted_rounds() == v.rounds
    want = 0.6 * outer.predict(d) + 0.4 * v.inner.booster.predict(d)
    np.testing.assert_allclose(v.margin, want, rtol=0, atol=1e-5)
    np.testing.assert_allclose(alone.margin, outer.predict(d), rtol=0, atol=1e-6)
    with pytest.raises(train.RequestError, match=r"older_weight must be in \[0, 1\)"):
        train.TrainParams.from_request({"older_weight": "1"})
