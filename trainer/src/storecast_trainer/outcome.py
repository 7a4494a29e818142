"""What one train request produced (becomes a TrainResult), and the JSON helpers its consumers share."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field


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


def now_rfc3339() -> str:
    """Now in UTC, RFC 3339 (Go's time.Time JSON)."""
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def finite(m: Mapping[str, float]) -> dict[str, float]:
    """Drop NaN and infinite values (JSON has no NaN)."""
    return {k: float(v) for k, v in m.items() if isinstance(v, int | float) and math.isfinite(v)}
