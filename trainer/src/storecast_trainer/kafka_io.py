"""Kafka I/O with confluent-kafka (librdkafka): reading a compacted topic up to high watermarks,
producing JSON events, and goka's partitioner for keys a Goka processor consumes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition

log = logging.getLogger(__name__)

#: Largest message the producer sends (the models topic allows 16 MiB).
MAX_MESSAGE_BYTES = 16_000_000


def goka_partition(key: str, partitions: int) -> int:
    """The partition goka assigns ``key``: FNV-1a 32 of the key as int32, absolute value, modulo n
    (goka.DefaultHasher, Go's ingest.PartitionOf). librdkafka's default partitioner differs, so
    messages a Goka processor joins with its table must be partitioned with this."""
    h = 0x811C9DC5
    for b in key.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    p = h - (1 << 32) if h >= 1 << 31 else h
    return abs(p) % partitions


def producer(brokers: str, client_id: str = "storecast-trainer") -> Producer:
    """An idempotent producer that accepts model-sized messages."""
    return Producer(
        {
            "bootstrap.servers": brokers,
            "client.id": client_id,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "message.max.bytes": MAX_MESSAGE_BYTES + 100_000,
        }
    )


def produce_json(p: Producer, topic: str, key: str, value: Any, partition: int | None = None) -> None:
    """Produce value as JSON (orjson: datetimes as RFC 3339), delivery errors raised on flush."""
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: object) -> None:
        if err is not None:
            errors.append(err)

    kw: dict[str, Any] = {"key": key.encode(), "value": orjson.dumps(value), "on_delivery": on_delivery}
    if partition is not None:
        kw["partition"] = partition
    p.produce(topic, **kw)
    p.poll(0)
    _flush(p, errors)


def _flush(p: Producer, errors: list[KafkaError], timeout: float = 30.0) -> None:
    left = p.flush(timeout)
    if errors:
        raise KafkaException(errors[0])
    if left:
        raise TimeoutError(f"{left} messages not delivered within {timeout}s")


def partitions_of(c: Consumer, topic: str, timeout: float = 10.0) -> list[int]:
    """The topic's partition ids; raises when the topic does not exist."""
    md = c.list_topics(topic, timeout=timeout)
    t = md.topics.get(topic)
    if t is None or t.error is not None or not t.partitions:
        raise RuntimeError(f"topic {topic!r} does not exist ({t.error if t else 'no metadata'})")
    return sorted(t.partitions)


def reader(brokers: str, client_id: str = "storecast-trainer-reader") -> Consumer:
    """A consumer for manual assignment (no group offsets are committed)."""
    return Consumer(
        {
            "bootstrap.servers": brokers,
            "client.id": client_id,
            "group.id": client_id,  # required by librdkafka; unused with assign() and no commits
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 16 * 1024 * 1024,
            "queued.max.messages.kbytes": 256 * 1024,
        }
    )


@dataclass
class Snapshot:
    """Where a read started and stopped, per partition: [low, high)."""

    topic: str
    offsets: dict[int, tuple[int, int]]

    @property
    def messages(self) -> int:
        """Offsets covered (an upper bound on records, compaction leaves gaps)."""
        return sum(h - lo for lo, h in self.offsets.values())

    def describe(self) -> dict[str, object]:
        """JSON-friendly description."""
        return {"topic": self.topic, "offsets": {str(p): [lo, h] for p, (lo, h) in self.offsets.items()}}


def watermarks(c: Consumer, topic: str, timeout: float = 10.0, patience: float = 60.0) -> Snapshot:
    """Capture the low and high watermarks of every partition of topic, retrying for up to
    ``patience`` seconds while the broker reports a transient condition (leader elections after a
    restart, a broker not yet reachable)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            offs = {}
            for p in partitions_of(c, topic, timeout):
                offs[p] = c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout, cached=False)
            return Snapshot(topic, offs)
        except KafkaException as e:
            err = e.args[0] if e.args and isinstance(e.args[0], KafkaError) else None
            transient = err is not None and (err.retriable() or err.code() in _TRANSIENT)
            if not transient or time.monotonic() > deadline:
                raise
            log.warning("watermarks of %s: %s; retrying", topic, err)
            time.sleep(1.0)


_TRANSIENT = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._TRANSPORT,
    KafkaError._TIMED_OUT,
    KafkaError._ALL_BROKERS_DOWN,
}


def read_until(
    c: Consumer, snap: Snapshot, timeout: float = 600.0, batch: int = 10_000
) -> Iterator[tuple[bytes | None, bytes | None]]:
    """Yield (key, value) of every record of snap.topic from the beginning up to the captured high
    watermarks, in offset order per partition. Records produced after the capture are not read."""
    for _, _, key, value in read_range(c, snap, {}, timeout, batch):
        yield key, value


def read_range(
    c: Consumer, snap: Snapshot, start: dict[int, int], timeout: float = 600.0, batch: int = 10_000
) -> Iterator[tuple[int, int, bytes | None, bytes | None]]:
    """Yield (partition, offset, key, value) of every record of snap.topic from ``start[p]`` (the
    beginning for a partition not in start) up to the captured high watermarks, in offset order per
    partition. Records produced after the capture are not read."""
    todo = {p for p, (lo, hi) in snap.offsets.items() if hi > max(lo, start.get(p, lo))}
    if not todo:
        return
    c.assign([TopicPartition(snap.topic, p, start.get(p, OFFSET_BEGINNING)) for p in sorted(todo)])
    deadline = time.monotonic() + timeout
    try:
        while todo:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"reading {snap.topic}: partitions {sorted(todo)} not read within {timeout}s"
                )
            for m in c.consume(batch, timeout=1.0):
                p = m.partition()
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        if p in todo and m.offset() >= snap.offsets[p][1]:
                            todo.discard(p)
                        continue
                    raise KafkaException(err)
                hi = snap.offsets[p][1]
                off = m.offset()
                if off >= hi:
                    todo.discard(p)
                    continue
                yield p, off, m.key(), m.value()
                if off >= hi - 1:
                    todo.discard(p)
    finally:
        c.unassign()


def cluster_id(c: Consumer, timeout: float = 10.0) -> str:
    """The Kafka cluster's id ("" when the broker does not say): a new cluster (make reset) has a
    new one."""
    return c.list_topics(timeout=timeout).cluster_id or ""


def tail(
    c: Consumer,
    topic: str,
    start: Snapshot,
    want: Callable[[bytes | None, bytes | None], bool],
    timeout: float,
) -> None:
    """Read topic from the offsets in ``start`` (its high watermarks) and call want(key, value) on
    each record until it returns True or timeout seconds pass (TimeoutError)."""
    c.assign([TopicPartition(topic, p, hi) for p, (_, hi) in start.offsets.items()])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for m in c.consume(1000, timeout=0.5):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(err)
                if want(m.key(), m.value()):
                    return
        raise TimeoutError(f"waiting on {topic}: nothing conclusive within {timeout}s")
    finally:
        c.unassign()
