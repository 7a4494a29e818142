"""RMSPE against a hand-computed example, the time split, and the promotion rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import synthetic

from storecast_trainer import metrics, train
from storecast_trainer.data import decode_examples, filter_examples, parse_day
from storecast_trainer.promotion import Champion, Window, decide


def test_rmspe_hand_computed() -> None:
    y = np.array([100.0, 200.0, 0.0, 50.0])
    pred = np.array([110.0, 180.0, 999.0, 50.0])
    # Errors (days with sales > 0 only): 10/100 = 0.1, 20/200 = 0.1, 0/50 = 0.
    # mean of squares = (0.01 + 0.01 + 0) / 3; sqrt = 0.0816496...
    assert metrics.rmspe(y, pred) == pytest.approx(math.sqrt(0.02 / 3), rel=1e-12)
    assert metrics.rmspe(y, pred) == pytest.approx(0.08164965809, rel=1e-9)
    assert math.isnan(metrics.rmspe(np.zeros(2), np.ones(2)))


def test_other_metrics() -> None:
    y, p = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0])
    assert metrics.rmse(y, p) == pytest.approx(math.sqrt(1 / 3))
    assert metrics.mae(y, p) == pytest.approx(1 / 3)
    assert metrics.r2(y, p) == pytest.approx(1 - 1 / 2)
    assert metrics.per_horizon_rmspe(np.array([10.0, 10.0]), np.array([11.0, 10.0]), np.array([1, 2])) == {
        1: pytest.approx(0.1),
        2: 0.0,
    }


def test_validation_window_is_the_last_42_days() -> None:
    end = parse_day("2015-06-19")
    w = train.validation_window(end, 42)
    assert w.label() == "2015-05-09..2015-06-19@2015-05-08"
    assert w.last - w.first + 1 == 42
    assert w.as_of == w.first - 1
    # The benchmark's window (2015-05-08..2015-06-19 as of 2015-05-07) spans 43 days.
    assert train.validation_window(end, 43).label() == "2015-05-08..2015-06-19@2015-05-07"


def test_training_rows_never_reach_into_the_window() -> None:
    first, last = parse_day("2015-03-01"), parse_day("2015-06-19")
    ex = filter_examples(decode_examples(synthetic(3, first, last)))
    w = train.validation_window(last, 42)
    tr = train.training_rows(ex, w)
    assert len(tr) == 3 * (w.first - first)
    assert tr.date.max() == w.first - 1
    assert (tr.as_of < tr.date).all()
    # Validation rows must carry features as of a day before the window.
    bad = ex.take(ex.date >= w.first)
    with pytest.raises(ValueError, match="as of a day inside"):
        train.check_validation_rows(bad.take(bad.as_of >= w.first), w)
    train.check_validation_rows(bad.take(bad.as_of < w.first), w)


def test_fit_validate_and_refit_learn_the_signal() -> None:
    first, last = parse_day("2015-01-01"), parse_day("2015-06-19")
    ex = filter_examples(decode_examples(synthetic(4, first, last)))
    w = train.validation_window(last, 42)
    val = ex.take(ex.date >= w.first)
    p = train.TrainParams(max_depth=4, eta=0.3, num_boost_round=200, early_stopping_rounds=20, nthread=1)
    fit = train.fit_validate(train.training_rows(ex, w), val, p)
    assert 1 <= fit.rounds <= 200
    assert fit.metrics["val_rmspe"] < 0.1
    assert set(fit.per_horizon) <= set(range(1, 49))
    assert fit.importance["promo"] > 0
    # Early stopping watched the metric the window is scored with; the trees kept are the most
    # within tree_tolerance of its best.
    assert fit.history[fit.rounds - 1] == pytest.approx(fit.metrics["val_rmspe"], rel=1e-4)
    limit = min(fit.history) * (1 + p.tree_tolerance)
    assert fit.history[fit.rounds - 1] <= limit
    assert all(x > limit for x in fit.history[fit.rounds :])
    members, seconds = train.refit(ex, p, fit.rounds)
    assert [m.num_boosted_rounds() for m in members] == [fit.rounds] * p.members and seconds > 0


@pytest.mark.parametrize(
    ("history", "tolerance", "want"),
    [
        ([0.30, 0.20, 0.25], 0.0, 2),
        # A flat curve: the last tree within the tolerance of the best.
        ([0.30, 0.2000, 0.2001, 0.2002, 0.2100], 0.001, 4),
        ([0.30, 0.2000, 0.2001, 0.2002, 0.2100], 0.0, 2),
        # A later best wins outright.
        ([0.30, 0.20, 0.21, 0.19], 0.001, 4),
        ([0.5], 0.001, 1),
    ],
)
def test_chosen_trees_prefers_more_trees_on_a_flat_curve(
    history: list[float], tolerance: float, want: int
) -> None:
    assert train.chosen_trees(history, tolerance) == want


def test_params_from_request() -> None:
    p = train.TrainParams.from_request({"max_depth": "6", "eta": "0.05"})
    assert p.max_depth == 6 and p.eta == 0.05
    with pytest.raises(train.RequestError, match="unknown parameter"):
        train.TrainParams.from_request({"depth": "6"})
    with pytest.raises(train.RequestError, match="not a number"):
        train.TrainParams.from_request({"eta": "fast"})
    with pytest.raises(train.RequestError, match="val_days"):
        train.TrainParams.from_request({"val_days": "60"})
    with pytest.raises(train.RequestError, match="objective must be one of"):
        train.TrainParams.from_request({"objective": "reg:gamma"})
    sq = train.TrainParams.from_request({"objective": "reg:squarederror"})
    assert sq.xgb_params()["objective"] == "reg:squarederror" and "huber_slope" not in sq.xgb_params()


def test_pseudo_huber_starts_at_the_mean_label_and_learns() -> None:
    first, last = parse_day("2015-01-01"), parse_day("2015-06-19")
    ex = filter_examples(decode_examples(synthetic(4, first, last)))
    p = train.TrainParams(max_depth=4, eta=0.3, num_boost_round=100, early_stopping_rounds=20, nthread=1)
    assert p.objective == "reg:pseudohubererror"
    params = train.booster_params(p, ex)
    assert params["base_score"] == pytest.approx(np.mean(np.log1p(ex.label)))
    assert params["huber_slope"] == 0.15 and params["max_delta_step"] == 0.7
    w = train.validation_window(last, 42)
    fit = train.fit_validate(train.training_rows(ex, w), ex.take(ex.date >= w.first), p)
    assert fit.metrics["val_rmspe"] < 0.1
    # No rows: no mean to start from.
    assert train.booster_params(p, ex.take(ex.label < 0))["base_score"] == 0.0


W = Window(as_of=99, first=100, last=141)


@pytest.mark.parametrize(
    ("challenger", "champion", "promote", "why"),
    [
        (0.12, None, True, "no champion"),
        (0.12, Champion("3", W, 0.13), True, "beats"),
        (0.13, Champion("3", W, 0.12), False, "does not beat"),
        (0.12, Champion("3", W, 0.12), False, "does not beat"),  # a tie keeps the champion
        (0.12, Champion("3", Window(69, 70, 111), 0.10, rescored_rmspe=0.125), True, "beats"),
        (0.12, Champion("3", Window(69, 70, 111), 0.15, rescored_rmspe=0.11), False, "does not beat"),
        (0.12, Champion("3", Window(69, 70, 111), 0.10), False, "cannot be scored"),
        (0.12, Champion("3", Window(129, 130, 171), 0.2, rescored_rmspe=0.3), False, "cannot be scored"),
        (0.20, Champion("3", W, 0.10, same_features=False), True, "another feature schema"),
        (float("nan"), None, False, "no validation"),
    ],
)
def test_promotion_rule(challenger: float, champion: Champion | None, promote: bool, why: str) -> None:
    d = decide(challenger, W, champion)
    assert d.promote is promote
    assert why in d.reason


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ("", {}),
        ("members=2", {"members": "2"}),
        (" members = 2 , eta=0.1,", {"members": "2", "eta": "0.1"}),
    ],
)
def test_parse_params(spec: str, want: dict[str, str]) -> None:
    assert train.parse_params(spec) == want


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("members", "is not K=V"),
        ("=2", "is not K=V"),
        ("trees=2", "unknown parameter 'trees'"),
        ("members=two", "not a number"),
        ("members=9", "members must be"),
    ],
)
def test_parse_params_names_the_bad_item(spec: str, why: str) -> None:
    with pytest.raises(train.RequestError, match=why):
        train.parse_params(spec)


def test_request_params_override_the_defaults() -> None:
    defaults = train.parse_params("members=2,eta=0.1")
    assert train.request_params(defaults, None).members == 2
    p = train.request_params(defaults, {"eta": "0.05"})
    assert (p.members, p.eta) == (2, 0.05)
    assert train.request_params({}, {}) == train.TrainParams()
