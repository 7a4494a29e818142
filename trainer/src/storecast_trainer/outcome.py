"""What one train request produced (becomes a TrainResult), and the JSON helpers its consumers share."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """What one request produced; becomes a TrainResult."""

    status: str
    reason: str = ""
    run_id: str = ""
    model_name: str = ""
    version: str = ""
    promoted: bool = False
    metrics: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    val_window: str = ""
    decision: str = ""
    #: The validation protocol (train.PROTOCOL) and its inner window.
    protocol: str = ""
    inner_window: str = ""
    rmspe_by_horizon_week: dict[str, float] = field(default_factory=dict)
    rmspe_by_store_type: dict[str, float] = field(default_factory=dict)
    #: The prediction intervals (train.Intervals.to_json()).
    intervals: dict[str, Any] = field(default_factory=dict)
    #: How the examples were read (reading.read_examples' description and the split's rows).
    read: dict[str, Any] = field(default_factory=dict)


def now_rfc3339() -> str:
    """Now in UTC, RFC 3339 (Go's time.Time JSON)."""
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def finite(m: Mapping[str, float]) -> dict[str, float]:
    """Drop NaN and infinite values (JSON has no NaN)."""
    return {k: float(v) for k, v in m.items() if isinstance(v, int | float) and math.isfinite(v)}
