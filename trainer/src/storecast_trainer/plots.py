"""The validation plot logged with every run (matplotlib, Agg backend: no display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from .data import format_day


def validation_plot(
    path: Path, date: np.ndarray, y: np.ndarray, pred: np.ndarray, per_horizon: dict[int, float], title: str
) -> None:
    """Total actual vs predicted sales per day of the window (summed over the stores), and RMSPE per
    horizon."""
    days = np.unique(date)
    actual = np.array([y[date == d].sum() for d in days])
    predicted = np.array([pred[date == d].sum() for d in days])
    fig, (a, b) = plt.subplots(2, 1, figsize=(10, 7), constrained_layout=True)
    labels = [format_day(int(d))[5:] for d in days]
    scale, unit = (1e6, "millions") if actual.max(initial=0) >= 1e6 else (1e3, "thousands")
    a.plot(range(len(days)), actual / scale, marker="o", ms=3, label="actual")
    a.plot(range(len(days)), predicted / scale, marker="x", ms=3, label="predicted")
    step = max(1, len(days) // 14)
    a.set_xticks(range(0, len(days), step), labels[::step], rotation=45)
    stores = "the stores" if y.size > len(days) else "the store"
    a.set_ylabel(f"sales of {stores} ({unit})")
    a.legend()
    a.set_title(title, fontsize=9)
    hs = sorted(per_horizon)
    b.bar(hs, [per_horizon[h] for h in hs])
    b.set_xlabel("horizon (days after the as-of day)")
    b.set_ylabel("RMSPE")
    fig.savefig(path, dpi=90)
    plt.close(fig)


def importance_plot(path: Path, importance: dict[str, float], title: str, top: int = 30) -> None:
    """Horizontal bars of the features' share of total gain, largest first."""
    items = sorted(importance.items(), key=lambda kv: kv[1])[-top:]
    fig, ax = plt.subplots(figsize=(8, 0.25 * len(items) + 1.5), constrained_layout=True)
    ax.barh([k for k, _ in items], [v for _, v in items])
    ax.set_xlabel("share of total gain")
    ax.set_title(title, fontsize=9)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def residual_plot(
    path: Path,
    y: np.ndarray,
    pred: np.ndarray,
    horizon_week: np.ndarray,
    store_type: np.ndarray | None,
    title: str,
) -> None:
    """Relative residuals (pred - y) / y by horizon week and by store type (box plots)."""
    r = (pred - y) / np.where(y > 0, y, np.nan)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    weeks = sorted(int(w) for w in np.unique(horizon_week))
    a.boxplot([r[horizon_week == w] for w in weeks], showfliers=False)
    a.set_xticks(range(1, len(weeks) + 1), [str(w) for w in weeks])
    a.axhline(0, color="grey", lw=0.8)
    a.set_xlabel("horizon week (1: days 1-7 ahead)")
    a.set_ylabel("(forecast - actual) / actual")
    if store_type is not None:
        types = [t for t in range(4) if (store_type == t).any()]
        b.boxplot([r[store_type == t] for t in types], showfliers=False)
        b.set_xticks(range(1, len(types) + 1), ["abcd"[t] for t in types])
        b.axhline(0, color="grey", lw=0.8)
        b.set_xlabel("store type")
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=90)
    plt.close(fig)
