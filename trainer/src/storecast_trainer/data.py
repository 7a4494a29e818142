"""Training examples: decoding topics.TrainingExample JSON, latest value per key of a compacted
topic, filtering by store and date range.

Every feature value comes from the examples the Go processors emitted (topics.FeatureVector: a JSON
object in feature order, null for missing). Nothing here computes a feature.

Days are integers counted from 1970-01-01, as Go's topics.Date.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import orjson

EPOCH = dt.date(1970, 1, 1)


def parse_day(s: str) -> int:
    """Parse "YYYY-MM-DD" to days since 1970-01-01."""
    return (dt.date.fromisoformat(s) - EPOCH).days


def format_day(d: int) -> str:
    """Format days since 1970-01-01 as "YYYY-MM-DD"."""
    return (EPOCH + dt.timedelta(days=int(d))).isoformat()


def latest_per_key(records: Iterable[tuple[bytes | None, bytes | None]]) -> dict[bytes, bytes]:
    """Fold a compacted topic's records (in offset order within a key) to the latest value per key.

    A record with a None value is a tombstone and deletes its key; records without a key are
    skipped (a compacted topic cannot hold them).
    """
    latest: dict[bytes, bytes] = {}
    for key, value in records:
        if key is None:
            continue
        if value is None:
            latest.pop(key, None)
        else:
            latest[key] = value
    return latest


@dataclass
class Examples:
    """Training examples as columns: one row per (store, date)."""

    names: list[str]
    schema: str
    x: np.ndarray  # (n, len(names)) float64, NaN for missing
    store: np.ndarray  # int
    date: np.ndarray  # int days
    as_of: np.ndarray  # int days
    horizon: np.ndarray  # int
    label: np.ndarray  # float sales
    dropped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.label.shape[0])

    def take(self, mask: np.ndarray) -> Examples:
        """Return the rows where mask is true."""
        return Examples(
            names=self.names,
            schema=self.schema,
            x=self.x[mask],
            store=self.store[mask],
            date=self.date[mask],
            as_of=self.as_of[mask],
            horizon=self.horizon[mask],
            label=self.label[mask],
            dropped=dict(self.dropped),
        )

    def date_range(self) -> tuple[int, int] | None:
        """Return the first and last date, or None when empty."""
        if len(self) == 0:
            return None
        return int(self.date.min()), int(self.date.max())


def decode_examples(values: Iterable[bytes | Mapping[str, object]]) -> Examples:
    """Decode TrainingExample JSON values (bytes or already-parsed dicts) into columns, ordered by
    (date, store).

    Examples must share one feature list; when a replay mixes schema versions, the most common
    (schema, names) wins and the others are counted in ``dropped``.
    """
    parsed = [orjson.loads(v) if isinstance(v, bytes | bytearray | memoryview) else v for v in values]
    groups: Counter[tuple[str, tuple[str, ...]]] = Counter()
    for p in parsed:
        groups[(str(p.get("schema", "")), tuple(p["features"]))] += 1
    if not groups:
        return Examples(
            [], "", np.zeros((0, 0)), *(np.zeros(0, dtype=np.int64) for _ in range(4)), np.zeros(0)
        )
    (schema, names), _ = groups.most_common(1)[0]
    dropped = {
        f"schema {s!r} ({len(n)} features)": c for (s, n), c in groups.items() if (s, n) != (schema, names)
    }
    keep = [p for p in parsed if str(p.get("schema", "")) == schema and tuple(p["features"]) == names]
    n, k = len(keep), len(names)
    # One conversion for every value: float(None) is NaN in a float array.
    x = np.array([v for p in keep for v in p["features"].values()], dtype=np.float64).reshape(n, k)
    days: dict[str, int] = {}

    def day(s: str) -> int:
        d = days.get(s)
        if d is None:
            d = days[s] = parse_day(s)
        return d

    store = np.empty(n, dtype=np.int64)
    date = np.empty(n, dtype=np.int64)
    as_of = np.empty(n, dtype=np.int64)
    horizon = np.empty(n, dtype=np.int64)
    label = np.empty(n, dtype=np.float64)
    for i, p in enumerate(keep):
        store[i] = p["store"]
        date[i] = day(p["date"])
        as_of[i] = day(p["as_of"])
        horizon[i] = p["horizon"]
        label[i] = p["label"]
    # Rows in (date, store) order whatever order the partitions were read in, so the same examples
    # always give the same model (row subsampling and sketches depend on row order).
    o = np.lexsort((store, date))
    return Examples(list(names), schema, x[o], store[o], date[o], as_of[o], horizon[o], label[o], dropped)


def filter_examples(
    ex: Examples, *, store: int | None = None, start: int | None = None, end: int | None = None
) -> Examples:
    """Keep trading days (label > 0) of ``store`` (None or 0: all stores) within start..end (inclusive)."""
    mask = ex.label > 0
    if store:
        mask &= ex.store == store
    if start is not None:
        mask &= ex.date >= start
    if end is not None:
        mask &= ex.date <= end
    return ex.take(mask)


def concat(a: Examples, b: Examples) -> Examples:
    """Concatenate two example sets over the same features."""
    if a.names != b.names:
        raise ValueError("cannot concatenate examples over different features")
    return Examples(
        names=a.names,
        schema=a.schema,
        x=np.concatenate([a.x, b.x]),
        store=np.concatenate([a.store, b.store]),
        date=np.concatenate([a.date, b.date]),
        as_of=np.concatenate([a.as_of, b.as_of]),
        horizon=np.concatenate([a.horizon, b.horizon]),
        label=np.concatenate([a.label, b.label]),
        dropped={**a.dropped, **b.dropped},
    )
