"""Shared helpers: synthetic training examples in the shape the Go processor emits."""

from __future__ import annotations

import numpy as np
import orjson

from storecast_trainer.data import format_day

NAMES = ["store", "day_of_week", "promo", "horizon", "mean_sales", "trend_7"]


def example(
    store: int, date: int, horizon: int, label: float, values: list[float | None] | None = None
) -> dict:
    """One topics.TrainingExample as a dict."""
    vals = values if values is not None else [store, date % 7 + 1, date % 2, horizon, 5000.0 + store, None]
    return {
        "v": 1,
        "store": store,
        "date": format_day(date),
        "as_of": format_day(date - horizon),
        "horizon": horizon,
        "label": label,
        "schema": "f1",
        "features": dict(zip(NAMES, vals, strict=True)),
    }


def synthetic(stores: int, first: int, last: int, seed: int = 1) -> list[dict]:
    """Examples for stores 1..stores and days first..last with a learnable signal."""
    rng = np.random.default_rng(seed)
    out = []
    for s in range(1, stores + 1):
        for d in range(first, last + 1):
            h = int(rng.integers(1, 49))
            promo = d % 3 == 0
            sales = (4000 + 300 * s) * (1.3 if promo else 1.0) * (1 + 0.1 * (d % 7)) * rng.lognormal(0, 0.03)
            out.append(
                example(
                    s,
                    d,
                    h,
                    float(round(sales)),
                    [s, d % 7 + 1, int(promo), h, 4000.0 + 300 * s, None if d % 5 else 1.0],
                )
            )
    return out


def encode(d: dict) -> bytes:
    return orjson.dumps(d)
