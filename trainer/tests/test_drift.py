"""Training bins for drift monitoring: shares, edges and the Go server's bin convention."""

from __future__ import annotations

import numpy as np

from storecast_trainer.drift import feature_bins, training_bins


def test_few_distinct_values_get_one_bin_each() -> None:
    b = feature_bins("promo", np.array([0, 1, 1, 0, 1, np.nan, 1, 1], dtype=np.float32))
    assert b["edges"] == [0.0]  # bins: <= 0, > 0
    assert b["fractions"] == [2 / 8, 5 / 8]
    assert b["missing"] == 1 / 8


def test_continuous_values_get_deciles() -> None:
    rng = np.random.default_rng(1)
    v = rng.normal(1000, 100, 10_000)
    b = feature_bins("distance", v)
    assert len(b["edges"]) == 9
    assert b["edges"] == sorted(b["edges"])
    assert all(abs(f - 0.1) < 1e-3 for f in b["fractions"])
    assert abs(sum(b["fractions"]) + b["missing"] - 1) < 1e-12


def test_upper_edge_belongs_to_its_bin() -> None:
    # (edges[i-1], edges[i]]: a value equal to an edge falls in the lower bin.
    b = feature_bins("day_of_week", np.array([1, 2, 3, 3, 3], dtype=np.float64))
    assert b["edges"] == [1.0, 2.0]
    assert b["fractions"] == [1 / 5, 1 / 5, 3 / 5]


def test_training_bins_covers_every_column() -> None:
    x = np.array([[0, 1.5], [1, np.nan], [1, 2.5]], dtype=np.float32)
    bins = training_bins(x, ["promo", "x"])
    assert [b["feature"] for b in bins] == ["promo", "x"]
    assert bins[1]["missing"] == 1 / 3
    for b in bins:
        assert len(b["fractions"]) == len(b["edges"]) + 1
