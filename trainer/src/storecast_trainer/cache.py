"""A local, disposable, columnar cache of the compacted ``training_examples`` topic.

The cache holds the latest value of every key read so far (decoded into columns: data.Rows) and,
per partition, the offset the next read starts from. A read loads it, reads only the tail (from the
cached offsets to the high watermarks captured at the start of the read), applies the tail (a later
record for a key replaces the cached row, a tombstone deletes it) and saves the result. Cache plus
tail is therefore exactly the latest value per key of a full read:

* corrections are later records for a key, in the tail: they win;
* compaction only removes records superseded by a later record of the same key; a superseded record
  in the cached range was already replaced, one in the tail range is replaced by the later record,
  which compaction keeps. Only a tombstone may vanish (after the topic's delete.retention.ms, 24 h
  by default), so a cache older than MAX_AGE is not used;
* a new cluster (``make reset``), another partition count, or offsets outside the partitions'
  watermarks (the topic was recreated or truncated) make the read start from the beginning.

Deleting the cache folder only costs time. Files: ``<topic>.npz`` (columns) and ``<topic>.json``
(offsets, groups, cluster id), both replaced atomically.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

from .data import Rows, latest_per_key, parse_rows

log = logging.getLogger(__name__)

#: Version of the files' layout; another version is ignored (read from the beginning).
CACHE_VERSION = 1
#: Oldest cache used, in seconds: Kafka's default delete.retention.ms keeps tombstones for 24 h.
MAX_AGE = 20 * 3600.0


@dataclass
class Table:
    """The latest value per key: keys, where each row was read, and the decoded rows."""

    key: np.ndarray  # bytes (dtype S)
    partition: np.ndarray  # int32
    offset: np.ndarray  # int64
    rows: Rows
    #: Per partition, the offset the next read starts from.
    next_offsets: dict[int, int] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> Table:
        """A table with nothing read."""
        return cls(np.zeros(0, "S1"), np.zeros(0, np.int32), np.zeros(0, np.int64), Rows.empty())

    def __len__(self) -> int:
        return int(self.key.shape[0])

    def apply(self, records: Iterable[tuple[int, int, bytes | None, bytes | None]]) -> int:
        """Apply (partition, offset, key, value) records in offset order per partition: the latest
        record of a key replaces its row, a tombstone (value None) deletes it. Returns how many
        records were applied."""
        seen: list[tuple[bytes | None, bytes | None]] = []
        where: dict[bytes, tuple[int, int]] = {}
        n = 0
        for p, off, k, v in records:
            n += 1
            self.next_offsets[p] = max(self.next_offsets.get(p, 0), off + 1)
            seen.append((k, v))
            if k is not None:
                where[k] = (p, off)
        if not seen:
            return 0
        latest = latest_per_key(seen)
        changed = set(where)
        if len(self):
            index = {k: i for i, k in enumerate(self.key.tolist())}
            dead = np.zeros(len(self), dtype=bool)
            for k in changed:
                i = index.get(k)
                if i is not None:
                    dead[i] = True
            if dead.any():
                self._keep(~dead)
        if latest:
            keys = list(latest)
            groups = list(self.rows.groups)
            new = parse_rows([latest[k] for k in keys], groups)
            self._append(
                np.array(keys, dtype=f"S{max(len(k) for k in keys)}"),
                np.array([where[k][0] for k in keys], dtype=np.int32),
                np.array([where[k][1] for k in keys], dtype=np.int64),
                new,
            )
        return n

    def _keep(self, mask: np.ndarray) -> None:
        self.key, self.partition, self.offset = self.key[mask], self.partition[mask], self.offset[mask]
        self.rows = self.rows.take(mask)

    def _append(self, key: np.ndarray, part: np.ndarray, off: np.ndarray, new: Rows) -> None:
        old = self.rows
        width = max(old.x.shape[1], new.x.shape[1])

        def pad(x: np.ndarray) -> np.ndarray:
            if x.shape[1] == width:
                return x
            out = np.full((x.shape[0], width), np.nan, dtype=np.float32)
            out[:, : x.shape[1]] = x
            return out

        self.rows = Rows(
            new.groups,
            np.concatenate([old.group, new.group]),
            np.concatenate([pad(old.x), pad(new.x)]),
            *(np.concatenate([getattr(old, c), getattr(new, c)]) for c in _COLUMNS),
        )
        self.key = np.concatenate([self.key.astype(np.result_type(self.key, key)), key])
        self.partition = np.concatenate([self.partition, part])
        self.offset = np.concatenate([self.offset, off])


_COLUMNS = ("store", "date", "as_of", "horizon", "label")


@dataclass
class Stored:
    """A cache read from disk: the table and who it belongs to."""

    table: Table
    cluster: str
    written_at: float


def _paths(folder: Path, topic: str) -> tuple[Path, Path]:
    return folder / f"{topic}.npz", folder / f"{topic}.json"


def load(folder: Path, topic: str) -> Stored | None:
    """The cache of topic in folder, or None when there is none or it cannot be read."""
    npz, meta_path = _paths(folder, topic)
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("version") != CACHE_VERSION or meta.get("topic") != topic:
            return None
        with np.load(npz, allow_pickle=False) as z:
            if int(z["n"][0]) != meta["rows"]:
                return None
            rows = Rows(
                [(s, tuple(n)) for s, n in meta["groups"]],
                z["group"],
                z["x"],
                *(z[c] for c in _COLUMNS),
            )
            t = Table(z["key"], z["partition"], z["offset"], rows)
    except (OSError, ValueError, KeyError, TypeError) as e:
        if not isinstance(e, FileNotFoundError):
            log.warning("examples cache %s: unreadable (%s); reading from the beginning", npz, e)
        return None
    t.next_offsets = {int(p): int(o) for p, o in meta["next_offsets"].items()}
    return Stored(t, str(meta.get("cluster", "")), float(meta.get("written_at", 0)))


def save(folder: Path, topic: str, t: Table, cluster: str, *, columns: bool = True) -> None:
    """Write the cache of topic atomically (columns first, then the offsets that describe them).
    Without ``columns`` only the offsets and the time are rewritten (nothing new was read)."""
    folder.mkdir(parents=True, exist_ok=True)
    npz, meta_path = _paths(folder, topic)
    if columns and not t.rows.in_order():
        # Kept in (date, store) order, the rows need no sorting or copy when read.
        o = t.rows.ordered()
        t.key, t.partition, t.offset, t.rows = t.key[o], t.partition[o], t.offset[o], t.rows.take(o)
    r = t.rows
    if columns:
        tmp = npz.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(
            tmp,
            n=np.array([len(t)]),
            key=t.key,
            partition=t.partition,
            offset=t.offset,
            group=r.group,
            x=r.x,
            **{c: getattr(r, c) for c in _COLUMNS},
        )
        os.replace(tmp, npz)
    meta = {
        "version": CACHE_VERSION,
        "topic": topic,
        "cluster": cluster,
        "written_at": time.time(),
        "rows": len(t),
        "groups": [[s, list(n)] for s, n in r.groups],
        "next_offsets": {str(p): o for p, o in sorted(t.next_offsets.items())},
    }
    tmp_meta = meta_path.with_suffix(f".tmp{os.getpid()}")
    tmp_meta.write_bytes(orjson.dumps(meta))
    os.replace(tmp_meta, meta_path)


def usable(s: Stored | None, cluster: str, offsets: dict[int, tuple[int, int]], now: float) -> str:
    """Why the stored cache cannot continue a read of a topic with these [low, high) watermarks on
    this cluster ("" when it can)."""
    if s is None:
        return "no cache"
    if s.cluster != cluster:
        return f"another cluster ({s.cluster!r}, now {cluster!r})"
    if now - s.written_at > MAX_AGE:
        return f"older than {MAX_AGE / 3600:.0f} h (tombstones may have been compacted away)"
    if set(s.table.next_offsets) - set(offsets):
        return "partitions differ"
    for p, (lo, hi) in offsets.items():
        o = s.table.next_offsets.get(p, 0)
        if o > hi or (o < lo and o > 0):
            return f"partition {p}: cached offset {o} outside the watermarks [{lo}, {hi}]"
    return ""
