"""bench/results/train.json's machine-speed record."""

from __future__ import annotations

import pytest

from storecast_trainer.bench import seconds_per_tree


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
