"""Training distribution per feature, published with the model for drift monitoring.

The Go server (forecasting.Drift) compares the feature vectors it computes
with these bins by the population stability index. Bin ``i`` holds the values
in ``(edges[i-1], edges[i]]``: the first bin everything up to ``edges[0]``,
the last everything above the last edge (numpy's ``searchsorted(side="left")``,
Go's ``sort.SearchFloat64s``). A feature with at most ``MAX_DISTINCT``
distinct values gets one bin per value; others get their deciles as edges.
``fractions`` (``len(edges) + 1``) and ``missing`` (NaN) sum to 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_DISTINCT = 20


def feature_bins(name: str, values: np.ndarray) -> dict[str, Any]:
    """The bins of one feature's training values (NaN counts as missing)."""
    col = np.asarray(values, dtype=np.float64)
    n = len(col)
    known = col[~np.isnan(col)]
    uniq = np.unique(known)
    few = len(uniq) <= MAX_DISTINCT
    edges = uniq[:-1] if few else np.unique(np.quantile(known, np.arange(1, 10) / 10))
    counts = np.bincount(np.searchsorted(edges, known, side="left"), minlength=len(edges) + 1)
    return {
        "feature": name,
        "edges": [float(e) for e in edges],
        "fractions": [float(c) / n if n else 0.0 for c in counts],
        "missing": float(n - len(known)) / n if n else 0.0,
    }


def training_bins(x: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    """The bins of every feature (column of ``x``, in ``names`` order)."""
    return [feature_bins(name, x[:, j]) for j, name in enumerate(names)]
