"""The work-around for apache/airflow#58777 (reschedule sensors under `airflow dags test`)."""

import datetime as dt

import pytest

from storecast_airflow import compat


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("2026-12-01T20:36:13.045765Z", dt.datetime(2026, 12, 1, 20, 36, 13, 45765, tzinfo=dt.UTC)),
        ("2026-12-01T20:36:13+00:00", dt.datetime(2026, 12, 1, 20, 36, 13, tzinfo=dt.UTC)),
        ("2026-12-01T20:36:13", dt.datetime(2026, 12, 1, 20, 36, 13, tzinfo=dt.UTC)),
        (None, None),
        (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
    ],
)
def test_as_datetime(value, want):
    assert compat.as_datetime(value) == want


def test_the_patched_method_returns_a_datetime(monkeypatch):
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    monkeypatch.setattr(
        RuntimeTaskInstance, "get_first_reschedule_date", lambda self, ctx: "2026-12-01T20:36:13Z"
    )
    compat.fix_first_reschedule_date()
    compat.fix_first_reschedule_date()  # idempotent: wraps once
    got = RuntimeTaskInstance.get_first_reschedule_date(object(), {})
    assert got == dt.datetime(2026, 12, 1, 20, 36, 13, tzinfo=dt.UTC)
    # A reschedule sensor subtracts it from now.
    assert (dt.datetime.now(dt.UTC) - got).total_seconds() > 0
