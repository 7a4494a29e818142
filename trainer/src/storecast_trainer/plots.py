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
