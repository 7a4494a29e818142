"""The examples cache: cache + tail gives exactly the rows of a full read, with corrections,
tombstones and compaction between reads."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from conftest import encode, example

from storecast_trainer import cache
from storecast_trainer.data import Examples, decode_examples, latest_per_key

Record = tuple[int, int, bytes | None, bytes | None]


class Log:
    """A fake compacted topic: per partition a list of (offset, key, value); compaction drops
    records superseded by a later one of the same key (tombstones included, as after
    delete.retention.ms), keeping offsets."""

    def __init__(self, partitions: int = 3) -> None:
        self.parts: dict[int, list[tuple[int, bytes, bytes | None]]] = {p: [] for p in range(partitions)}
        self.next = dict.fromkeys(self.parts, 0)

    def put(self, key: str, value: bytes | None) -> None:
        p = sum(key.encode()) % len(self.parts)
        self.parts[p].append((self.next[p], key.encode(), value))
        self.next[p] += 1

    def compact(self, drop_tombstones: bool = False) -> None:
        for p, recs in self.parts.items():
            last = {k: off for off, k, _ in recs}
            self.parts[p] = [
                (off, k, v) for off, k, v in recs if last[k] == off and not (drop_tombstones and v is None)
            ]

    def records(self, start: dict[int, int] | None = None) -> list[Record]:
        start = start or {}
        return [
            (p, off, k, v) for p, recs in self.parts.items() for off, k, v in recs if off >= start.get(p, 0)
        ]

    def offsets(self) -> dict[int, tuple[int, int]]:
        return {p: (0, n) for p, n in self.next.items()}


def full(log: Log) -> Examples:
    return decode_examples(latest_per_key((k, v) for _, _, k, v in log.records()).values())


def same(a: Examples, b: Examples) -> None:
    assert (a.names, a.schema, a.dropped) == (b.names, b.schema, b.dropped)
    for c in ("store", "date", "as_of", "horizon", "label"):
        np.testing.assert_array_equal(getattr(a, c), getattr(b, c), err_msg=c)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.x.dtype == b.x.dtype == np.float32


def put_example(log: Log, store: int, day: int, label: float, schema: str = "f1") -> None:
    e = example(store, day, 1 + (store * day) % 48, label)
    e["schema"] = schema
    log.put(f"{store}|{e['date']}", encode(e))


def read(tmp: Path, log: Log) -> tuple[Examples, int]:
    """One cached read as reading.read_examples does it: load, apply the tail, save."""
    stored = cache.load(tmp, "t")
    why = cache.usable(stored, "c1", log.offsets(), time.time())
    t = stored.table if stored is not None and not why else cache.Table.empty()
    n = t.apply(log.records(dict(t.next_offsets)))
    t.next_offsets.update({p: hi for p, (_, hi) in log.offsets().items()})
    cache.save(tmp, "t", t, "c1", columns=bool(n or why))
    return t.rows.to_examples(), n


def test_cache_plus_tail_equals_full_read(tmp_path: Path) -> None:
    log = Log()
    for s in range(1, 6):
        for d in range(16000, 16030):
            put_example(log, s, d, 1000.0 + s + d)
    got, n = read(tmp_path, log)
    assert n == 150
    same(got, full(log))

    # Corrections, tombstones, new days, then compaction (a tombstone survives it).
    put_example(log, 2, 16005, 5.0)
    put_example(log, 2, 16005, 6.0)
    log.put(f"3|{example(3, 16010, 1, 1.0)['date']}", None)
    log.put(f"4|{example(4, 16011, 1, 1.0)['date']}", None)
    put_example(log, 4, 16011, 77.0)  # deleted, then back
    for s in range(1, 6):
        put_example(log, s, 16030, 9.0)
    log.compact()
    got, n = read(tmp_path, log)
    assert n == 8  # 10 records, 2 superseded ones compacted away
    want = full(log)
    same(got, want)
    assert len(want) == 150 + 5 - 1
    assert float(want.label[(want.store == 2) & (want.date == 16005)][0]) == 6.0

    # No new records: nothing is read, the same rows come back.
    got, n = read(tmp_path, log)
    assert n == 0
    same(got, want)

    # Compaction removes the tombstones of the cached range: nothing changes.
    log.compact(drop_tombstones=True)
    got, _ = read(tmp_path, log)
    same(got, full(log))


def test_schema_change_replaces_rows_and_most_common_wins(tmp_path: Path) -> None:
    log = Log()
    for s in range(1, 4):
        for d in range(16000, 16010):
            put_example(log, s, d, 100.0, schema="f1")
    read(tmp_path, log)
    for s in range(1, 4):
        for d in range(16000, 16007):
            put_example(log, s, d, 200.0, schema="f2")
    got, _ = read(tmp_path, log)
    want = full(log)
    same(got, want)
    assert want.schema == "f2" and want.dropped == {"schema 'f1' (6 features)": 9}


@pytest.mark.parametrize(
    ("cluster", "offsets", "age", "why"),
    [
        ("c1", {0: (0, 10)}, 0, ""),
        ("c2", {0: (0, 10)}, 0, "another cluster"),
        ("c1", {0: (0, 3)}, 0, "outside the watermarks"),
        ("c1", {1: (0, 3)}, 0, "partitions differ"),
        ("c1", {0: (0, 10)}, cache.MAX_AGE + 1, "older than"),
    ],
)
def test_usable(cluster: str, offsets: dict[int, tuple[int, int]], age: float, why: str) -> None:
    t = cache.Table.empty()
    t.next_offsets = {0: 5}
    got = cache.usable(cache.Stored(t, "c1", 1000.0), cluster, offsets, 1000.0 + age)
    assert (why in got) if why else got == ""


def test_unreadable_cache_is_ignored(tmp_path: Path) -> None:
    assert cache.load(tmp_path, "t") is None
    (tmp_path / "t.json").write_text("{nope")
    assert cache.load(tmp_path, "t") is None


@pytest.mark.skipif(
    __import__("os").environ.get("STORECAST_INTEGRATION") != "1",
    reason="integration tests need STORECAST_INTEGRATION=1",
)
def test_cached_read_equals_full_read_on_kafka(tmp_path: Path) -> None:
    """Against the real broker: a cached read after corrections and tombstones returns exactly the
    rows of a read from the beginning."""
    import os
    import uuid

    from confluent_kafka.admin import AdminClient, NewTopic

    from storecast_trainer import kafka_io
    from storecast_trainer.reading import read_examples

    brokers = os.environ.get("STORECAST_BROKERS", "127.0.0.1:9092")
    topic = f"training_examples-pycache{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": brokers})
    for f in admin.create_topics([NewTopic(topic, 4, 1, config={"cleanup.policy": "compact"})]).values():
        f.result(30)
    try:
        p = kafka_io.producer(brokers)

        def put(store: int, day: int, label: float | None) -> None:
            e = example(store, day, 1 + (store * day) % 48, label or 0.0)
            key = f"{store}|{e['date']}"
            p.produce(topic, key=key.encode(), value=None if label is None else encode(e))

        for s in range(1, 9):
            for d in range(16000, 16040):
                put(s, d, 1000.0 + s * d)
        assert p.flush(30) == 0
        first, desc = read_examples(brokers, topic, 60, tmp_path)
        assert desc["cache"].startswith("miss") and desc["records_read"] == 320 and len(first) == 320

        again, desc = read_examples(brokers, topic, 60, tmp_path)
        assert desc["cache"] == "hit" and desc["records_read"] == 0
        same(again, first)

        put(2, 16005, 5.0)
        put(2, 16005, 6.0)
        put(3, 16010, None)
        for s in range(1, 9):
            put(s, 16040, 9.0)
        assert p.flush(30) == 0
        cached, desc = read_examples(brokers, topic, 60, tmp_path)
        assert desc["cache"] == "hit" and desc["records_read"] == 11
        whole, desc = read_examples(brokers, topic, 60, None)
        assert desc["records_read"] == 331
        same(cached, whole)
        assert len(whole) == 320 + 8 - 1
    finally:
        admin.delete_topics([topic])
