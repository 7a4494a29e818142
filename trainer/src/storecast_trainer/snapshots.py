"""Feature snapshots: validation rows as serving sees them. For each store the trainer asks the Go
features processor (``feature_snapshot_requests``, partitioned as goka does) for the examples of a
window with features as of the day before it, and collects the answers from ``feature_snapshots``."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import orjson
from confluent_kafka import Producer

from . import kafka_io
from .data import Examples, decode_examples, format_day
from .names import Names
from .promotion import Window

log = logging.getLogger(__name__)

#: topics.FeatureSnapshotRequest's schema version.
SNAPSHOT_REQUEST_VERSION = 1
#: Share of stores whose snapshot must answer for serving-like validation.
MIN_SNAPSHOT_SHARE = 0.9


def snapshot_request(request_id: str, store: int, window: Window) -> dict[str, Any]:
    """The topics.FeatureSnapshotRequest for one store: the window's days as of window.as_of."""
    return {
        "v": SNAPSHOT_REQUEST_VERSION,
        "request_id": request_id,
        "store": store,
        "as_of": format_day(window.as_of),
        "from": format_day(window.first),
        "to": format_day(window.last),
    }


def request_snapshots(
    brokers: str,
    producer: Producer,
    names: Names,
    stores: list[int],
    window: Window,
    req_id: str,
    timeout: float,
) -> tuple[Examples | None, dict[str, Any]]:
    """Ask the features processor for each store's examples of the window as of window.as_of.

    Returns the examples (None when fewer than MIN_SNAPSHOT_SHARE of the stores answered
    without error) and a description.
    """
    snap_id = f"{req_id}-val-{uuid.uuid4().hex[:8]}"
    c = kafka_io.reader(brokers, "storecast-trainer-snapshots")
    got: dict[int, dict[str, Any]] = {}
    errors: dict[int, str] = {}
    t0 = time.perf_counter()
    try:
        start = kafka_io.watermarks(c, names.snapshots)
        n = len(kafka_io.partitions_of(c, names.snapshot_requests))
        want = set(stores)
        for s in stores:
            key = str(s)
            producer.produce(
                names.snapshot_requests,
                key=key.encode(),
                value=orjson.dumps(snapshot_request(snap_id, s, window)),
                partition=kafka_io.goka_partition(key, n),
            )
            producer.poll(0)
        left = producer.flush(30)
        if left:
            raise TimeoutError(f"{left} snapshot requests not delivered")

        def on_record(_key: bytes | None, value: bytes | None) -> bool:
            if value is None:
                return False
            try:
                d = orjson.loads(value)
            except orjson.JSONDecodeError:
                return False
            if d.get("request_id") != snap_id or d.get("store") not in want:
                return False
            s = int(d["store"])
            if d.get("error"):
                errors[s] = str(d["error"])
            else:
                got[s] = d
            return len(got) + len(errors) >= len(want)

        try:
            kafka_io.tail(c, names.snapshots, start, on_record, timeout)
        except TimeoutError as e:
            log.warning("snapshots: %s", e)
    finally:
        c.close()
    desc: dict[str, Any] = {
        "snapshot_request_id": snap_id,
        "stores_asked": len(stores),
        "stores_answered": len(got),
        "stores_failed": len(errors),
        "snapshot_seconds": round(time.perf_counter() - t0, 3),
    }
    if errors:
        desc["first_errors"] = dict(list(errors.items())[:5])
    if not stores or len(got) < MIN_SNAPSHOT_SHARE * len(stores):
        return None, desc
    rows = [e for d in got.values() for e in d.get("examples", [])]
    return decode_examples(rows), desc
