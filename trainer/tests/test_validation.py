"""The honest protocol: every choice on the inner window, the reported window scored once."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from conftest import synthetic

from storecast_trainer import metrics, train
from storecast_trainer.data import Examples, decode_examples, filter_examples, parse_day
from storecast_trainer.export import lightgbm_text_predict, to_lightgbm_text


def test_inner_window_ends_before_the_reported_one() -> None:
    w = train.validation_window(parse_day("2015-06-19"), 43)
    inner = train.inner_window(w, 43)
    assert w.label() == "2015-05-08..2015-06-19@2015-05-07"
    assert inner.label() == "2015-03-26..2015-05-07@2015-03-25"
    assert inner.last == w.as_of and inner.last < w.first


@pytest.mark.parametrize(("h", "week"), [(1, 1), (7, 1), (8, 2), (14, 2), (42, 6), (43, 7), (48, 7)])
def test_horizon_week(h: int, week: int) -> None:
    assert int(train.horizon_week(np.array([h]))[0]) == week


def test_calibration_factor_minimises_rmspe() -> None:
    rng = np.random.default_rng(3)
    y = rng.uniform(1000, 9000, 500)
    pred = y * rng.lognormal(0.02, 0.1, 500)
    c = train.calibration_factor(y, pred)
    best = metrics.rmspe(y, c * pred)
    for d in (-0.01, -0.001, 0.001, 0.01):
        assert best < metrics.rmspe(y, (c + d) * pred)
    assert train.calibration_factor(np.array([100.0]), np.array([200.0])) == pytest.approx(0.5)
    assert train.calibration_factor(np.zeros(2), np.ones(2)) == 1.0


def test_conformal_intervals_cover_their_level() -> None:
    rng = np.random.default_rng(4)
    n = 20_000
    horizon = rng.integers(1, 49, n)
    date = rng.integers(0, 400, n)  # many days: every horizon week is its own band
    margin = rng.uniform(7, 9, n)
    # Residuals widen with the horizon.
    y = np.expm1(margin + rng.normal(0, 0.05 + 0.005 * horizon))
    h = n // 2
    iv = train.conformal_intervals(y[:h], margin[:h], horizon[:h], date[:h], 0.8)
    assert set(iv.low) == set(range(1, 8))
    assert iv.high[7] - iv.low[7] > iv.high[2] - iv.low[2] > iv.high[1] - iv.low[1]
    lo, hi = iv.bounds(margin[h:], horizon[h:])
    cover = np.mean((y[h:] >= lo) & (y[h:] <= hi))
    assert 0.77 < cover < 0.83
    j = iv.to_json()
    assert j["low"][0] == iv.low[1] and j["high"][6] == iv.high[7] and j["week_days"] == 7
    assert j["method"] == "conformal-log-residual-quantiles-by-horizon-band"


@pytest.mark.parametrize(
    ("days", "as_ofs", "bands"),
    [
        # A window of 42 days forecast as of the day before it: horizon h on day h.
        (42, 1, [[1, 2, 3], [4, 5, 6, 7]]),
        (48, 1, [[1, 2, 3], [4, 5, 6, 7]]),
        (30, 1, [[1, 2, 3, 4, 5, 6, 7]]),  # weeks 4-5 have 9 days: they join the band before them
        (14, 1, [[1, 2, 3, 4, 5, 6, 7]]),  # too few days for one band: one band of every week
        # Two windows (as of days 100 apart): 14 days a week, bands of two weeks.
        (48, 2, [[1, 2], [3, 4], [5, 6, 7]]),
    ],
)
def test_horizon_bands_hold_enough_days(days: int, as_ofs: int, bands: list[list[int]]) -> None:
    horizon = np.tile(np.repeat(np.arange(1, days + 1), 50), as_ofs)
    as_of = np.repeat(np.arange(as_ofs) * 100, days * 50)
    assert train.horizon_bands(train.horizon_week(horizon), as_of + horizon, 21) == bands


def test_conformal_intervals_share_a_band() -> None:
    rng = np.random.default_rng(5)
    horizon = np.repeat(np.arange(1, 43), 200)
    margin = rng.uniform(7, 9, horizon.size)
    y = np.expm1(margin + rng.normal(0, 0.1, horizon.size))
    iv = train.conformal_intervals(y, margin, horizon, 1000 + horizon, 0.8)
    assert iv.low[1] == iv.low[2] == iv.low[3] != iv.low[4] == iv.low[7]
    # Each band's quantiles are those of its rows.
    r = np.log1p(y) - margin
    assert iv.high[2] == pytest.approx(np.quantile(r[horizon <= 21], 0.9))


def _split() -> tuple[Examples, Examples, Examples, Examples]:
    first, last = parse_day("2015-01-01"), parse_day("2015-06-19")
    ex = filter_examples(decode_examples(synthetic(4, first, last)))
    w = train.validation_window(last, 30)
    inner = train.inner_window(w, 30)
    in_window = (ex.date >= inner.first) & (ex.date <= inner.last) & (ex.as_of < inner.first)
    return (
        train.training_rows(ex, inner),
        ex.take(in_window),
        train.training_rows(ex, w),
        ex.take(ex.date >= w.first),
    )


def test_choices_never_see_the_reported_window() -> None:
    inner_train, inner_val, outer_train, val = _split()
    p = train.TrainParams(max_depth=4, eta=0.3, num_boost_round=200, early_stopping_rounds=20, nthread=1)
    a = train.validate(inner_train, inner_val, outer_train, val, p)
    # The same data with the reported window's labels scaled: every choice stays, only the score moves.
    moved = val.take(np.ones(len(val), bool))
    moved.label = val.label * 1.5
    b = train.validate(inner_train, inner_val, outer_train, moved, p)
    assert (a.rounds, a.calibration, a.intervals) == (b.rounds, b.calibration, b.intervals)
    assert a.metrics["val_rmspe"] < 0.1 < b.metrics["val_rmspe"]
    # The scored model learned from days before the window only, with the inner window's trees:
    # the outer fit's members and (older_weight) the inner fit's member 0.
    assert [m.num_boosted_rounds() for m in a.outer] == [a.rounds] * p.members
    assert a.booster.num_boosted_rounds() == (p.members + 1) * a.rounds
    assert a.inner_rmspe <= a.inner_rmspe_uncalibrated
    assert set(a.by_week) <= {str(k) for k in range(1, 8)}
    assert 0 < a.metrics["interval_coverage_80"] <= 1
    np.testing.assert_allclose(a.pred, a.calibration * np.expm1(a.margin))


def test_export_folds_the_calibration_shift() -> None:
    inner_train, _, _, val = _split()
    b = xgb.train(
        {"max_depth": 3, "eta": 0.3, "nthread": 1},
        xgb.DMatrix(inner_train.x, np.log1p(inner_train.label), feature_names=inner_train.names),
        20,
    )
    shift = math.log(0.985)
    text = to_lightgbm_text(b, val.names, shift)
    margin = b.predict(xgb.DMatrix(val.x, feature_names=val.names), output_margin=True)
    np.testing.assert_allclose(lightgbm_text_predict(text, val.x), margin + shift, rtol=1e-5)


def test_plots_are_written(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from storecast_trainer.plots import importance_plot, residual_plot

    importance_plot(tmp_path / "i.png", {"a": 0.7, "b": 0.3}, "t")
    y = np.array([100.0, 200.0, 300.0, 400.0])
    residual_plot(tmp_path / "r.png", y, y * 1.1, np.array([1, 1, 2, 7]), np.array([0, 1, 0, 3.0]), "t")
    assert (tmp_path / "i.png").stat().st_size > 1000 and (tmp_path / "r.png").stat().st_size > 1000


def test_go_parity_runs_the_storecast_binary(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import stat

    from storecast_trainer.golden import export_checked, go_parity

    inner_train, _, _, val = _split()
    b = xgb.train(
        {"max_depth": 3, "eta": 0.3, "nthread": 1},
        xgb.DMatrix(inner_train.x, np.log1p(inner_train.label), feature_names=inner_train.names),
        10,
    )
    checked = export_checked(b, val.names, val.x, seed=1)
    help_ok = 'test "$2" = --help && exit 0\n'
    ok = tmp_path / "ok"
    ok.write_text(
        "#!/bin/sh\n" + help_ok + 'test -f "$2/manifest.json" && test -f "$2/rows.csv.gz" && '
        "echo '{\"max_rel_diff\": 2e-7}'\n"
    )
    bad = tmp_path / "bad"
    bad.write_text("#!/bin/sh\n" + help_ok + "echo 'golden: leaves and xgboost disagree' >&2\nexit 1\n")
    old = tmp_path / "old"  # a build without the golden command
    old.write_text("#!/bin/sh\necho 'error: unexpected argument golden' >&2\nexit 80\n")
    for f in (ok, bad, old):
        f.chmod(f.stat().st_mode | stat.S_IEXEC)
    assert go_parity(str(ok), checked, val.names, "f1", b) == 2e-7
    with pytest.raises(RuntimeError, match="disagree"):
        go_parity(str(bad), checked, val.names, "f1", b)
    assert math.isnan(go_parity(str(old), checked, val.names, "f1", b))
    with pytest.raises(RuntimeError, match="cannot run"):
        go_parity(str(tmp_path / "missing"), checked, val.names, "f1", b)
    real = os.environ.get("STORECAST_BIN") or str(Path(__file__).resolve().parents[2] / "bin" / "storecast")
    if Path(real).exists():
        assert go_parity(real, checked, val.names, "f1", b) < 1e-4
