"""Each task callable of train_predict_to_db against fakes of the HTTP and SQL edges."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from storecast_airflow import pipeline
from storecast_airflow.clients import SalesFreshness

T0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def clock(*ts: dt.datetime):
    it = iter(ts)
    return lambda: next(it)


class FakeDB:
    def __init__(self, fresh: SalesFreshness | None = None, rows: int = 0):
        self.fresh = fresh
        self.rows = rows
        self.lag_asked: list[int] = []

    def freshness(self, lag_days: int) -> SalesFreshness:
        self.lag_asked.append(lag_days)
        assert self.fresh is not None
        return self.fresh

    def job_rows(self, job_id: str) -> int:
        return self.rows


class FakeAPI:
    def __init__(self, status: dict[str, Any] | None = None, job: dict[str, Any] | None = None):
        self.status = status or {}
        self.job = job or {}
        self.bodies: list[dict[str, Any]] = []

    def request_training(self, body):
        self.bodies.append(body)
        return {"request_id": "r1", "status": "pending"}

    def training_status(self, request_id):
        return {"request_id": request_id, **self.status}

    def start_forecast_job(self, body):
        self.bodies.append(body)
        return {"job_id": "j1", "expected_rows": 46830, "stores": 1115, "days": body["days"], **self.job}

    def forecast_job(self, job_id):
        return {"job_id": job_id, **self.status}


# ---- freshness


@pytest.mark.parametrize(
    ("fresh", "want_error"),
    [
        pytest.param(SalesFreshness(dt.date(2015, 6, 19), 1115, 1115), None, id="all stores current"),
        pytest.param(SalesFreshness(dt.date(2015, 6, 19), 1115, 1004), None, id="90% current"),
        pytest.param(SalesFreshness(dt.date(2015, 6, 19), 1115, 900), "2015-06-16", id="stale names the day"),
        pytest.param(SalesFreshness(None, 0, 0), "empty", id="empty table"),
    ],
)
def test_check_freshness(fresh, want_error):
    db = FakeDB(fresh)
    rule = pipeline.FreshnessRule(max_lag_days=3, min_store_share=0.9)
    if want_error:
        with pytest.raises(pipeline.Failed, match=want_error):
            pipeline.check_freshness(db, rule)
        return
    got = pipeline.check_freshness(db, rule)
    assert got["latest_day"] == "2015-06-19"
    assert db.lag_asked == [3]


# ---- train


def test_request_training_passes_the_body():
    api = FakeAPI()
    got = pipeline.request_training(api, {"store_id": 1}, now=clock(T0))
    assert api.bodies == [{"store_id": 1}]
    assert got == {
        "request_id": "r1",
        "requested_at": "2026-01-02T03:04:05+00:00",
        "request": {"store_id": 1},
    }


@pytest.mark.parametrize(
    ("status", "done", "fails"),
    [
        pytest.param({"status": "pending"}, False, None, id="pending pokes again"),
        pytest.param({"status": "running"}, False, None, id="running pokes again"),
        pytest.param(
            {"status": "failed", "reason": "no training examples"}, False, "no training examples", id="failed"
        ),
        pytest.param(
            {"status": "succeeded", "promoted": True, "model_version": "7", "metrics": {"rmspe": 0.12}},
            True,
            None,
            id="succeeded",
        ),
    ],
)
def test_poke_training(status, done, fails):
    api = FakeAPI(status=status)
    requested = {"request_id": "r1", "requested_at": T0.isoformat()}
    if fails:
        with pytest.raises(pipeline.Failed, match=fails):
            pipeline.poke_training(api, requested, now=clock(T0))
        return
    got = pipeline.poke_training(api, requested, now=clock(T0 + dt.timedelta(seconds=42)))
    assert got.done is done
    if done:
        assert got.value["model_version"] == "7"
        assert got.value["promoted"] is True
        assert got.value["metrics"] == {"rmspe": 0.12}
        assert got.value["training_seconds"] == 42


# ---- gate


@pytest.mark.parametrize(
    ("trained", "want"),
    [
        ({"promoted": True}, pipeline.FORECAST_TASK),
        ({"promoted": False}, pipeline.REPORT_TASK),
        ({}, pipeline.REPORT_TASK),
    ],
)
def test_gate(trained, want):
    assert pipeline.gate(trained) == want


# ---- forecast


def test_start_forecast():
    api = FakeAPI()
    got = pipeline.start_forecast(api, 42, now=clock(T0))
    assert api.bodies == [{"days": 42}]
    assert got["job_id"] == "j1" and got["expected_rows"] == 46830
    assert got["started_at"] == "2026-01-02T03:04:05+00:00"


def test_start_forecast_without_job_id_fails():
    class NoID(FakeAPI):
        def start_forecast_job(self, body):
            return {"expected_rows": 1}

    with pytest.raises(pipeline.Failed, match="job_id"):
        pipeline.start_forecast(NoID(), 42, now=clock(T0))


# ---- verify

JOB = {"job_id": "j1", "expected_rows": 100, "started_at": T0.isoformat()}
LIMIT = dt.timedelta(minutes=5)


@pytest.mark.parametrize(
    ("status", "rows", "after", "done", "fails"),
    [
        pytest.param({"status": "running", "rows": 50}, 50, 60, False, None, id="running"),
        pytest.param({"status": "complete", "rows": 100}, 100, 60, True, None, id="complete and in postgres"),
        pytest.param({"status": "complete", "rows": 100}, 90, 60, False, None, id="sink still writing"),
        pytest.param({"status": "complete", "rows": 100}, 101, 60, False, "101 rows", id="too many rows"),
        pytest.param(
            {"status": "running", "rows": 50}, 50, 301, False, "50 of 100 rows", id="timeout names count"
        ),
    ],
)
def test_poke_forecast(status, rows, after, done, fails):
    api, db = FakeAPI(status=status), FakeDB(rows=rows)
    now = clock(T0 + dt.timedelta(seconds=after))
    if fails:
        with pytest.raises(pipeline.Failed, match=fails):
            pipeline.poke_forecast(api, db, JOB, LIMIT, now=now)
        return
    got = pipeline.poke_forecast(api, db, JOB, LIMIT, now=now)
    assert got.done is done
    if done:
        assert got.value == {"job_id": "j1", "rows": 100, "model_versions": [], "forecast_seconds": 60}


# ---- report


def test_report_with_forecast():
    trained = {
        "model_name": "m",
        "model_version": "7",
        "promoted": True,
        "metrics": {"val_rmspe": 0.1, "read_seconds": 4.4},
        "rows": 9,
        "training_seconds": 50,
    }
    job = {
        "job_id": "j1",
        "expected_rows": 100,
        "as_of": "2015-06-19",
        "start_date": "2015-06-20",
        "end_date": "2015-07-31",
    }
    verified = {"job_id": "j1", "rows": 100, "model_versions": ["7"], "forecast_seconds": 12}
    got = pipeline.report({"latest_day": "2015-06-19"}, trained, job, verified)
    assert got["rows_written"] == 100
    assert got["model_version"] == "7"
    assert got["validation_metrics"] == {"val_rmspe": 0.1, "read_seconds": 4.4}
    assert got["forecast"]["job_id"] == "j1"
    note = pipeline.note_markdown(got)
    assert "forecast job j1: 100 rows" in note and "val_rmspe 0.1" in note and "read_seconds" not in note


def test_report_challenger_lost():
    got = pipeline.report({"latest_day": "2015-06-19"}, {"model_version": "8", "promoted": False}, None, None)
    assert got["rows_written"] == 0
    assert got["forecast"] is None
    assert "not promoted" in got["outcome"]
    assert "not promoted" in pipeline.note_markdown(got)
