"""One request end to end through pipeline.Trainer with default parameters, Kafka replaced by the
examples it would read and a features processor that serves snapshots as of days up to a reach
before its latest day: 99 with the store state's ring of 128 days (both windows get snapshots), 67
with the ring of 96 it had before (the inner window falls back to its own examples)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import synthetic

from storecast_trainer import pipeline, train
from storecast_trainer.data import (
    EXAMPLE_COMPLETE_AFTER_DAYS,
    Examples,
    decode_examples,
    filter_examples,
    format_day,
    parse_day,
)
from storecast_trainer.names import Names
from storecast_trainer.promotion import Window
from storecast_trainer.request import Request

FIRST, LAST = parse_day("2014-11-01"), parse_day("2015-06-19")


@pytest.fixture
def trainer(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> tuple[pipeline.Trainer, list[Window]]:
    rows = synthetic(5, FIRST, LAST, seed=3)
    # The processor holds days up to LAST; the examples of the last week are not complete yet.
    ex = decode_examples([r for r in rows if parse_day(r["date"]) <= LAST - EXAMPLE_COMPLETE_AFTER_DAYS])
    by_store: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        by_store.setdefault(r["store"], []).append(r)
    asked: list[Window] = []
    # How far back the processor answers: RingDays - TrendDays - 1 days before the latest day.
    earliest = LAST - getattr(request, "param", 99)

    def read_examples(*_a: object, **_k: object) -> tuple[Examples, dict[str, Any]]:
        return ex, {"topic": "training_examples", "records_read": len(ex)}

    def request_snapshots(
        _b: str, _p: object, _n: Names, stores: list[int], window: Window, _id: str, _t: float
    ) -> tuple[Examples | None, dict[str, Any]]:
        asked.append(window)
        if window.as_of < earliest:
            return None, {"stores_failed": len(stores)}
        out = []
        for s in stores:
            for r in by_store[s]:
                d = parse_day(r["date"])
                if window.first <= d <= window.last:
                    h = d - window.as_of
                    out.append(
                        dict(
                            r,
                            as_of=format_day(window.as_of),
                            horizon=h,
                            features={**r["features"], "horizon": h},
                        )
                    )
        return decode_examples(out), {"stores_answered": len(stores)}

    monkeypatch.setattr(pipeline, "read_examples", read_examples)
    monkeypatch.setattr(pipeline, "request_snapshots", request_snapshots)
    return pipeline.Trainer(pipeline.Config(tracking_uri=None)), asked


@pytest.mark.parametrize(
    ("trainer", "inner_mode"),
    [(99, "snapshot"), (67, "examples_asof_before_window")],
    ids=["ring-128", "ring-96"],
    indirect=["trainer"],
)
def test_default_params_train_on_a_rossmann_like_history(
    trainer: tuple[pipeline.Trainer, list[Window]], inner_mode: str
) -> None:
    t, asked = trainer
    o = t.run(Request(id="r1", params={"nthread": "1"}), publish=False, track=False)
    assert o.status == "succeeded", o.reason
    assert o.protocol == train.PROTOCOL
    assert o.val_window == "2015-05-09..2015-06-19@2015-05-08"
    assert o.inner_window == "2015-03-28..2015-05-08@2015-03-27"
    assert [w.label() for w in asked] == [o.val_window, o.inner_window]
    assert o.read["val_mode"] == "snapshot" and o.read["inner_val_mode"] == inner_mode
    assert 0 < o.metrics["val_rmspe"] < 0.1 and o.metrics["trees"] >= 1
    assert set(o.rmspe_by_horizon_week) <= {str(k) for k in range(1, 8)}


def test_too_short_a_history_fails_with_a_reason(trainer: tuple[pipeline.Trainer, list[Window]]) -> None:
    t, _ = trainer
    o = t.run(Request(id="r2", start=parse_day("2015-04-01")), publish=False, track=False)
    assert o.status == "failed" and "leaves no training days before the inner window" in o.reason


def test_asof_rows_stay_inside_the_window() -> None:
    ex = filter_examples(decode_examples(synthetic(3, FIRST, LAST)))
    w = train.inner_window(train.validation_window(LAST, 42), 42)
    rows = train.asof_rows(ex, w)
    assert len(rows) > 0
    assert rows.date.min() >= w.first and rows.date.max() <= w.last and rows.as_of.max() < w.first
    train.check_validation_rows(rows, w)
