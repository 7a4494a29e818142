"""Reading training examples: the compacted ``training_examples`` topic up to the high watermarks
captured at the start of a read, folded to the latest value per key and decoded into columns."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from . import kafka_io
from .data import Examples, decode_examples, latest_per_key

log = logging.getLogger(__name__)


def read_examples(brokers: str, topic: str, timeout: float) -> tuple[Examples, dict[str, Any]]:
    """Read topic up to the high watermarks captured now (latest value per key); return the
    examples and a description of the read (offsets, records, keys, seconds)."""
    c = kafka_io.reader(brokers)
    try:
        t0 = time.perf_counter()
        snap = kafka_io.watermarks(c, topic)
        records = 0

        def counted() -> Iterator[tuple[bytes | None, bytes | None]]:
            nonlocal records
            for kv in kafka_io.read_until(c, snap, timeout=timeout):
                records += 1
                yield kv

        latest = latest_per_key(counted())
        t1 = time.perf_counter()
        ex = decode_examples(latest.values())
        t2 = time.perf_counter()
    finally:
        c.close()
    desc = {
        **snap.describe(),
        "records_read": records,
        "keys": len(latest),
        "read_seconds": round(t1 - t0, 3),
        "decode_seconds": round(t2 - t1, 3),
    }
    log.info(
        "read %d records, %d keys of %s in %.1fs (+%.1fs decode)",
        records,
        len(latest),
        topic,
        t1 - t0,
        t2 - t1,
    )
    return ex, desc
