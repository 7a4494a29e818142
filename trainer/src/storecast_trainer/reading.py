"""Reading training examples: the compacted ``training_examples`` topic up to the high watermarks
captured at the start of a read, folded to the latest value per key and decoded into columns.

With a cache folder, only the tail after the cached offsets is read (cache.py); without one, or when
the cache cannot continue the read, everything is read from the beginning (and cached)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from . import cache, kafka_io
from .data import Examples

log = logging.getLogger(__name__)


def read_examples(
    brokers: str, topic: str, timeout: float, cache_dir: Path | None = None
) -> tuple[Examples, dict[str, Any]]:
    """Read topic up to the high watermarks captured now (latest value per key); return the
    examples and a description of the read (offsets, records, keys, cache use, seconds)."""
    c = kafka_io.reader(brokers)
    try:
        t0 = time.perf_counter()
        snap = kafka_io.watermarks(c, topic)
        cluster = kafka_io.cluster_id(c)
        stored = cache.load(cache_dir, topic) if cache_dir else None
        why = cache.usable(stored, cluster, snap.offsets, time.time()) if cache_dir else "no cache folder"
        table = stored.table if stored is not None and not why else cache.Table.empty()
        t1 = time.perf_counter()
        records = table.apply(kafka_io.read_range(c, snap, dict(table.next_offsets), timeout=timeout))
        # Everything up to the captured high watermarks has been read, records or not.
        table.next_offsets.update({p: hi for p, (_, hi) in snap.offsets.items()})
        t2 = time.perf_counter()
        if cache_dir:
            # Columns are rewritten when something changed (or to put them in order once).
            cache.save(
                cache_dir, topic, table, cluster, columns=bool(records or why or not table.rows.in_order())
            )
        t3 = time.perf_counter()
        ex = table.rows.to_examples()
        t4 = time.perf_counter()
    finally:
        c.close()
    desc = {
        **snap.describe(),
        "records_read": records,
        "keys": len(table),
        "cache": "miss: " + why if why else "hit",
        "cache_load_seconds": round(t1 - t0, 3),
        "tail_seconds": round(t2 - t1, 3),
        "cache_save_seconds": round(t3 - t2, 3),
        "read_seconds": round(t4 - t0, 3),
    }
    log.info(
        "read %d records of %s (cache %s), %d keys in %.1fs",
        records,
        topic,
        desc["cache"],
        len(table),
        t4 - t0,
    )
    return ex, desc
