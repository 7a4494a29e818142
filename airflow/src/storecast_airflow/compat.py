"""Work-arounds for bugs of the pinned Airflow (3.0.2), each removable when Airflow is upgraded.

apache/airflow#58777: under ``airflow dags test`` (in-process execution API) the task instance's
``get_first_reschedule_date`` returns the ISO string the API answered instead of a datetime, so a
reschedule-mode sensor crashes (``datetime - str``) on its third poke. Under the scheduler the task
process validates the answer and gets a datetime; the shim only converts a string.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

_PATCHED = "_storecast_parses_iso"


def as_datetime(v: Any) -> Any:
    """An ISO 8601 string as an aware datetime; anything else unchanged."""
    if isinstance(v, str):
        t = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
        return t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    return v


def fix_first_reschedule_date() -> None:
    """Make RuntimeTaskInstance.get_first_reschedule_date return a datetime (idempotent)."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    orig = RuntimeTaskInstance.get_first_reschedule_date
    if getattr(orig, _PATCHED, False):
        return

    def get_first_reschedule_date(self: Any, context: Any) -> Any:
        return as_datetime(orig(self, context))

    setattr(get_first_reschedule_date, _PATCHED, True)
    RuntimeTaskInstance.get_first_reschedule_date = get_first_reschedule_date  # type: ignore[method-assign]
