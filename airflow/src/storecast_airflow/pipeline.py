"""The callables of the DAG train_predict_to_db, one per task, free of Airflow.

Each takes its edges (the Storecast APIs, the read-only sales database, a clock)
as arguments, so tests drive them with fakes. They raise :class:`Failed` for an
outcome that must fail the run without retries (stale data, a failed training,
missing rows); edge errors (:class:`~storecast_airflow.clients.StorecastError`)
are left to Airflow's retries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from storecast_airflow.clients import ForecastAPI, SalesDB, TrainingAPI

Clock = Callable[[], dt.datetime]

# Task ids the gate branches to.
FORECAST_TASK = "forecast"
REPORT_TASK = "report"


class Failed(Exception):  # noqa: N818 - reads as "raise Failed(...)"; the DAG maps it to AirflowFailException
    """An outcome that fails the run at once (no retry can change it)."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="seconds")


def _parse(t: str) -> dt.datetime:
    return dt.datetime.fromisoformat(t.replace("Z", "+00:00"))


# ---- 1. freshness ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FreshnessRule:
    """rossman_sales is fresh when at least min_store_share of its stores reported a day within
    max_lag_days of the newest day in the table: the data's own clock, not the wall clock
    (the Rossmann history ends in 2015)."""

    max_lag_days: int = 3
    min_store_share: float = 0.9


def check_freshness(db: SalesDB, rule: FreshnessRule) -> dict[str, Any]:
    f = db.freshness(rule.max_lag_days)
    if f.latest_day is None or f.stores == 0:
        raise Failed("rossman_sales is empty: no sales have reached PostgreSQL (is storecast sink running?)")
    share = f.stores_recent / f.stores
    out = {
        "latest_day": f.latest_day.isoformat(),
        "stores": f.stores,
        "stores_recent": f.stores_recent,
        "max_lag_days": rule.max_lag_days,
    }
    if share < rule.min_store_share:
        since = f.latest_day - dt.timedelta(days=rule.max_lag_days)
        raise Failed(
            f"rossman_sales is stale: only {f.stores_recent} of {f.stores} stores have a sale on or after "
            f"{since.isoformat()} ({rule.max_lag_days} days before the latest day "
            f"{f.latest_day.isoformat()}); "
            f"want at least {rule.min_store_share:.0%}"
        )
    return out


# ---- 2. train --------------------------------------------------------------------------------------------


def request_training(api: TrainingAPI, body: dict[str, Any], now: Clock = utcnow) -> dict[str, Any]:
    accepted = api.request_training(body)
    rid = accepted.get("request_id")
    if not rid:
        raise Failed(f"POST /train answered without a request_id: {accepted}")
    return {"request_id": rid, "requested_at": _iso(now()), "request": body}


@dataclass(frozen=True)
class Poke:
    """A sensor's answer: done, and the value it hands downstream when done."""

    done: bool
    value: dict[str, Any] | None = None


def poke_training(api: TrainingAPI, requested: dict[str, Any], now: Clock = utcnow) -> Poke:
    st = api.training_status(requested["request_id"])
    status = st.get("status")
    if status == "failed":
        raise Failed(f"training {requested['request_id']} failed: {st.get('reason') or 'no reason given'}")
    if status != "succeeded":
        return Poke(False)
    took = (now() - _parse(requested["requested_at"])).total_seconds()
    return Poke(
        True,
        {
            "request_id": requested["request_id"],
            "model_name": st.get("model_name", ""),
            "model_version": st.get("model_version", ""),
            "promoted": bool(st.get("promoted")),
            "metrics": st.get("metrics") or {},
            "rows": st.get("rows", 0),
            "run_id": st.get("run_id", ""),
            "training_seconds": round(took, 1),
        },
    )


# ---- 3. gate ---------------------------------------------------------------------------------------------


def gate(trained: dict[str, Any]) -> str:
    """Forecast with a new champion; a challenger that lost skips to the report."""
    return FORECAST_TASK if trained.get("promoted") else REPORT_TASK


# ---- 4. forecast -----------------------------------------------------------------------------------------


def start_forecast(api: ForecastAPI, days: int, now: Clock = utcnow) -> dict[str, Any]:
    job = api.start_forecast_job({"days": days})
    for k in ("job_id", "expected_rows"):
        if k not in job:
            raise Failed(f"POST /v1/forecast-jobs answered without {k}: {job}")
    return {**job, "started_at": _iso(now())}


# ---- 5. verify -------------------------------------------------------------------------------------------


def poke_forecast(
    api: ForecastAPI, db: SalesDB, job: dict[str, Any], timeout: dt.timedelta, now: Clock = utcnow
) -> Poke:
    """Done when the API reports the job complete and PostgreSQL holds exactly its expected rows;
    fails naming the count once timeout has passed since the job started."""
    jid, want = job["job_id"], int(job["expected_rows"])
    st = api.forecast_job(jid)
    elapsed = now() - _parse(job["started_at"])
    if st.get("status") == "complete":
        got = db.job_rows(jid)
        if got == want:
            return Poke(
                True,
                {
                    "job_id": jid,
                    "rows": got,
                    "model_versions": st.get("model_versions", []),
                    "forecast_seconds": round(elapsed.total_seconds(), 1),
                },
            )
        if got > want:
            raise Failed(f"forecast job {jid}: {got} rows in forecast_results, want exactly {want}")
    if elapsed > timeout:
        got = db.job_rows(jid)
        raise Failed(
            f"forecast job {jid}: {got} of {want} rows in forecast_results "
            f"after {elapsed.total_seconds():.0f}s "
            f"(API status {st.get('status')!r}, {st.get('rows', 0)} rows)"
        )
    return Poke(False)


# ---- 6. report -------------------------------------------------------------------------------------------


def report(
    fresh: dict[str, Any] | None,
    trained: dict[str, Any] | None,
    job: dict[str, Any] | None,
    verified: dict[str, Any] | None,
) -> dict[str, Any]:
    """The run summary: returned by the report task and written into the DAG run's note."""
    trained = trained or {}
    forecast = None
    if verified:
        forecast = {
            "job_id": verified["job_id"],
            "rows_written": verified["rows"],
            "expected_rows": (job or {}).get("expected_rows"),
            "model_versions": verified.get("model_versions", []),
            "forecast_seconds": verified.get("forecast_seconds"),
            "as_of": (job or {}).get("as_of"),
            "start_date": (job or {}).get("start_date"),
            "end_date": (job or {}).get("end_date"),
        }
    return {
        "outcome": "forecast written" if forecast else "challenger not promoted: no forecast",
        "latest_sales_day": (fresh or {}).get("latest_day"),
        "model_name": trained.get("model_name"),
        "model_version": trained.get("model_version"),
        "promoted": trained.get("promoted"),
        "validation_metrics": trained.get("metrics", {}),
        "training_rows": trained.get("rows"),
        "training_seconds": trained.get("training_seconds"),
        "forecast": forecast,
        "rows_written": forecast["rows_written"] if forecast else 0,
    }


NOTE_METRICS = frozenset({"val_rmspe", "val_rmse", "val_mae", "val_r2", "val_rows", "train_rows"})


def note_markdown(summary: dict[str, Any]) -> str:
    """The summary as a DAG run note (Markdown, shown in the UI)."""
    lines = [f"**{summary['outcome']}**", ""]
    lines.append(f"- latest sales day: {summary.get('latest_sales_day')}")
    lines.append(
        f"- model: {summary.get('model_name')} v{summary.get('model_version')} "
        f"(promoted: {summary.get('promoted')}), trained in {summary.get('training_seconds')} s"
    )
    # The headline validation scores; the full set is in the summary (XCom) and in MLflow.
    metrics = {k: v for k, v in (summary.get("validation_metrics") or {}).items() if k in NOTE_METRICS}
    if metrics:
        lines.append("- validation: " + ", ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items())))
    fc = summary.get("forecast")
    if fc:
        lines.append(
            f"- forecast job {fc['job_id']}: {fc['rows_written']} rows "
            f"({fc['start_date']}..{fc['end_date']}, "
            f"as of {fc['as_of']}) in {fc['forecast_seconds']} s"
        )
    return "\n".join(lines)
