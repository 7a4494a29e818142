"""Forecast metrics. RMSPE is Kaggle's Rossmann metric: only days with sales > 0 count."""

from __future__ import annotations

import numpy as np


def rmspe(y: np.ndarray, pred: np.ndarray) -> float:
    """Root mean square percentage error over the days with y > 0 (NaN when there are none)."""
    y, pred = np.asarray(y, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    m = y > 0
    if not m.any():
        return float("nan")
    return float(np.sqrt(np.mean(((y[m] - pred[m]) / y[m]) ** 2)))


def rmse(y: np.ndarray, pred: np.ndarray) -> float:
    """Root mean square error."""
    return float(np.sqrt(np.mean((np.asarray(y, float) - np.asarray(pred, float)) ** 2)))


def mae(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(np.asarray(y, float) - np.asarray(pred, float))))


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination."""
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return float("nan") if ss_tot == 0 else 1.0 - float(np.sum((y - pred) ** 2)) / ss_tot


def per_horizon_rmspe(y: np.ndarray, pred: np.ndarray, horizon: np.ndarray) -> dict[int, float]:
    """RMSPE for each horizon (days ahead) present."""
    return {int(h): rmspe(y[horizon == h], pred[horizon == h]) for h in np.unique(horizon)}


def report(y: np.ndarray, pred: np.ndarray, prefix: str = "val_") -> dict[str, float]:
    """The headline metrics, keys prefixed."""
    return {
        f"{prefix}rmspe": rmspe(y, pred),
        f"{prefix}rmse": rmse(y, pred),
        f"{prefix}mae": mae(y, pred),
        f"{prefix}r2": r2(y, pred),
        f"{prefix}rows": float(len(y)),
    }
