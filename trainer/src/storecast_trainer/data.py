"""Training examples: decoding topics.TrainingExample JSON, latest value per key of a compacted
topic, filtering by store and date range.

Every feature value comes from the examples the Go processors emitted (topics.FeatureVector: a JSON
object in feature order, null for missing). Nothing here computes a feature.

Days are integers counted from 1970-01-01, as Go's topics.Date.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

EPOCH = dt.date(1970, 1, 1)

#: The processor emits the example of day D once the store's latest day is D plus this many days
#: (Go's features.AheadDays: an example reads the known inputs of the week after it), so the days
#: the log holds reach this far beyond the last example. testdata/contract/names.json has it too.
EXAMPLE_COMPLETE_AFTER_DAYS = 7


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
    x: np.ndarray  # (n, len(names)) float32, NaN for missing
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


@dataclass
class Rows:
    """Decoded TrainingExample values in arrival order, any mix of feature schemas: the form the
    examples cache keeps. ``groups`` lists the distinct (schema, feature names); ``group`` says
    which one each row has; ``x`` is padded with NaN to the widest group."""

    groups: list[tuple[str, tuple[str, ...]]]
    group: np.ndarray  # int16
    x: np.ndarray  # (n, widest) float32, NaN for missing
    store: np.ndarray
    date: np.ndarray
    as_of: np.ndarray
    horizon: np.ndarray
    label: np.ndarray

    def __len__(self) -> int:
        return int(self.label.shape[0])

    @classmethod
    def empty(cls) -> Rows:
        """No rows."""
        z = np.zeros(0, dtype=np.int64)
        return cls([], np.zeros(0, np.int16), np.zeros((0, 0), np.float32), z, z, z, z, np.zeros(0))

    def take(self, idx: np.ndarray) -> Rows:
        """The rows at idx (indices or a mask), over the same groups."""
        return Rows(
            self.groups,
            self.group[idx],
            self.x[idx],
            self.store[idx],
            self.date[idx],
            self.as_of[idx],
            self.horizon[idx],
            self.label[idx],
        )

    def to_examples(self) -> Examples:
        """The rows of the most common (schema, names) group, ordered by (date, store); the others
        are counted in ``dropped`` (a replay that mixes schema versions)."""
        if not self.groups or len(self) == 0:
            return Examples(
                [],
                "",
                np.zeros((0, 0), np.float32),
                *(np.zeros(0, dtype=np.int64) for _ in range(4)),
                np.zeros(0),
            )
        counts = np.bincount(self.group, minlength=len(self.groups))
        # Ties go to the larger (schema, names), so the choice never depends on arrival order.
        best = max(range(len(self.groups)), key=lambda g: (counts[g], self.groups[g]))
        schema, names = self.groups[best]
        dropped = {
            f"schema {s!r} ({len(n)} features)": int(counts[g])
            for g, (s, n) in enumerate(self.groups)
            if g != best and counts[g]
        }
        # Rows in (date, store) order whatever order the partitions were read in, so the same
        # examples always give the same model (row subsampling and sketches depend on row order).
        if len(self.groups) == 1 and self.in_order() and self.x.shape[1] == len(names):
            # The examples cache keeps its rows so: no copy.
            return Examples(
                list(names),
                schema,
                self.x,
                self.store,
                self.date,
                self.as_of,
                self.horizon,
                self.label,
                dropped,
            )
        keep = np.flatnonzero(self.group == best)
        o = keep[np.lexsort((self.store[keep], self.date[keep]))]
        return Examples(
            list(names),
            schema,
            np.ascontiguousarray(self.x[o, : len(names)]),
            self.store[o],
            self.date[o],
            self.as_of[o],
            self.horizon[o],
            self.label[o],
            dropped,
        )

    def in_order(self) -> bool:
        """Whether the rows are in strictly increasing (date, store) order."""
        if len(self) < 2:
            return True
        d, s = self.date, self.store
        return bool(np.all((d[1:] > d[:-1]) | ((d[1:] == d[:-1]) & (s[1:] > s[:-1]))))

    def ordered(self) -> np.ndarray:
        """Indices that put the rows in (date, store) order."""
        return np.lexsort((self.store, self.date))


def parse_rows(values: Iterable[bytes | Mapping[str, object]], groups: list | None = None) -> Rows:
    """Decode TrainingExample JSON values (bytes or already-parsed dicts), keeping every schema.

    ``groups`` (extended in place) lets rows decoded later share group numbers with earlier ones.
    Values of one schema share its feature names, in its order (the schema version names the
    feature list the Go processors write). Values of a single schema are decoded in bulk by
    Arrow's JSON reader; values of several schemas, or with a field the reader does not expect, one
    at a time by ``_parse_each``, which keeps each (schema, names) as its own group.
    """
    vals = [
        v if isinstance(v, bytes) else bytes(v) if isinstance(v, bytearray | memoryview) else v
        for v in values
    ]
    groups = [] if groups is None else groups
    if not vals:
        return _parse_each([], groups)
    try:
        return _parse_bulk(vals, groups)
    except (pa.ArrowInvalid, _NotBulkError):
        return _parse_each(vals, groups)


class _NotBulkError(Exception):
    """The values do not have the form _parse_bulk decodes."""


#: The TrainingExample fields besides the features (topics.TrainingExample), as Arrow reads them.
_FIELDS = [
    ("v", pa.int64()),
    ("store", pa.int64()),
    ("date", pa.string()),
    ("as_of", pa.string()),
    ("horizon", pa.int64()),
    ("label", pa.float64()),
    ("schema", pa.string()),
]


def _parse_bulk(vals: list[bytes | Mapping[str, object]], groups: list) -> Rows:
    """Every value of one schema, with the feature names of the first value, through Arrow's JSON
    reader (_NotBulkError or pa.ArrowInvalid otherwise)."""
    # One line per value: compact JSON has no newline outside strings (JSON escapes it in them).
    lines = [
        v
        if isinstance(v, bytes) and b"\n" not in v
        else orjson.dumps(orjson.loads(v) if isinstance(v, bytes) else v)
        for v in vals
    ]
    head = orjson.loads(lines[0])
    kind, names = str(head.get("schema", "")), tuple(head["features"])
    features = pa.struct([(n, pa.float64()) for n in names])
    t = pa_json.read_json(
        io.BytesIO(b"\n".join(lines)),
        parse_options=pa_json.ParseOptions(
            explicit_schema=pa.schema([*_FIELDS, ("features", features)]), unexpected_field_behavior="error"
        ),
    )
    schema = t.column("schema")
    if schema.null_count or pc.any(pc.not_equal(schema, kind)).as_py():
        raise _NotBulkError("values of more than one schema")
    feats = t.column("features").combine_chunks()
    if feats.null_count:
        raise _NotBulkError("a value without features")
    g = (kind, names)
    if g not in groups:
        groups.append(g)
    n = t.num_rows
    x = np.full((n, max(len(h[1]) for h in groups)), np.nan, dtype=np.float32)
    for j, name in enumerate(names):
        # A name missing from a value reads as null, as a null value does: NaN.
        x[:, j] = feats.field(name).to_numpy(zero_copy_only=False)

    def column(name: str) -> pa.ChunkedArray:
        c = t.column(name)
        if c.null_count:
            raise _NotBulkError(f"a value without {name}")
        return c

    def days(name: str) -> np.ndarray:
        d = pc.cast(pc.strptime(column(name), format="%Y-%m-%d", unit="s"), pa.date32())
        return d.cast(pa.int32()).to_numpy().astype(np.int64)

    return Rows(
        groups,
        np.full(n, groups.index(g), dtype=np.int16),
        x,
        column("store").to_numpy().astype(np.int64),
        days("date"),
        days("as_of"),
        column("horizon").to_numpy().astype(np.int64),
        column("label").to_numpy().astype(np.float64),
    )


def _parse_each(vals: list[bytes | Mapping[str, object]], groups: list) -> Rows:
    parsed = [orjson.loads(v) if isinstance(v, bytes) else v for v in vals]
    index = {g: i for i, g in enumerate(groups)}
    n = len(parsed)
    group = np.empty(n, dtype=np.int16)
    for i, p in enumerate(parsed):
        g = (str(p.get("schema", "")), tuple(p["features"]))
        gi = index.get(g)
        if gi is None:
            gi = index[g] = len(groups)
            groups.append(g)
        group[i] = gi
    width = max((len(g[1]) for g in groups), default=0)
    x = np.full((n, width), np.nan, dtype=np.float32)
    for gi, (_, names) in enumerate(groups):
        rows = np.flatnonzero(group == gi)
        if rows.size:
            # One conversion for every value: float(None) is NaN in a float array.
            x[rows, : len(names)] = np.array(
                [v for i in rows for v in parsed[i]["features"].values()], dtype=np.float64
            ).reshape(rows.size, len(names))
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
    for i, p in enumerate(parsed):
        store[i] = p["store"]
        date[i] = day(p["date"])
        as_of[i] = day(p["as_of"])
        horizon[i] = p["horizon"]
        label[i] = p["label"]
    return Rows(groups, group, x, store, date, as_of, horizon, label)


def decode_examples(values: Iterable[bytes | Mapping[str, object]]) -> Examples:
    """Decode TrainingExample JSON values (bytes or already-parsed dicts) into columns, ordered by
    (date, store); features are float32, as XGBoost and leaves read them.

    Examples must share one feature list; when a replay mixes schema versions, the most common
    (schema, names) wins and the others are counted in ``dropped``.
    """
    return parse_rows(values).to_examples()


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
