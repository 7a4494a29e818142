"""bench/results/train.json's machine-speed record."""

from __future__ import annotations

import pytest

from storecast_trainer.bench import bench_summary, seconds_per_tree
from storecast_trainer.outcome import Outcome


@pytest.mark.parametrize(
    ("timings", "trees", "members", "want"),
    [
        ({"outer_fit_seconds": 90.0, "refit_seconds": 81.0}, 900, 1, {"outer_fit": 0.1, "refit": 0.09}),
        # Every member is a fit of the chosen trees.
        ({"outer_fit_seconds": 180.0, "refit_seconds": 162.0}, 900, 2, {"outer_fit": 0.1, "refit": 0.09}),
        # A run that failed before the refit measured no refit.
        ({"outer_fit_seconds": 90.0}, 900, 1, {"outer_fit": 0.1, "refit": None}),
        ({}, 0, 1, {"outer_fit": None, "refit": None}),
    ],
)
def test_seconds_per_tree(timings: dict[str, float], trees: int, members: int, want: dict) -> None:
    assert seconds_per_tree(timings, trees, members) == want


def test_bench_summary_records_the_served_model() -> None:
    o = Outcome(
        status="succeeded",
        metrics={"trees": 719.0, "members": 2.0, "older_weight": 0.3, "served_trees": 2876.0},
        timings={"outer_fit_seconds": 92.0, "refit_seconds": 106.0},
    )
    s = bench_summary(o)
    assert (s["trees"], s["members"], s["older_weight"], s["served_trees"]) == (719, 2, 0.3, 2876)
    # A run that failed before the refit registered no model.
    failed = bench_summary(Outcome(status="failed", metrics={"trees": 719.0}))
    assert failed["served_trees"] is None and failed["older_weight"] is None
