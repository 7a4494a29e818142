"""train_predict_to_db: train a model on the event log, gate it, forecast every store six weeks ahead through
the forecast processor, and prove the rows landed in PostgreSQL.

Wiring only: the task bodies are in storecast_airflow.pipeline (tested against fakes), the HTTP and SQL
edges in storecast_airflow.clients. Nothing here does I/O at parse time.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from airflow.exceptions import AirflowFailException
from airflow.sdk import Param, PokeReturnValue, dag, get_current_context, task

from storecast_airflow import clients, compat, pipeline

log = logging.getLogger(__name__)

# The sensors below run in reschedule mode; Airflow 3.0.2 breaks them under `airflow dags test`.
compat.fix_first_reschedule_date()

DOC = """
### train_predict_to_db

Daily. Each run:

1. **freshness**: `rossman_sales` (read-only role `storecast_airflow_reader`) must have at least
   `min_store_share` of its stores reporting within `max_lag_days` of the table's newest day;
   otherwise the run fails naming that day.
2. **train** + **wait_training**: `POST /train` (bearer token), then a reschedule-mode sensor on
   `GET /train/{id}` (no worker slot held while the trainer works). A failed training fails the run.
3. **gate**: a promoted champion goes on to the forecast; a challenger that lost skips to the report.
4. **forecast**: `POST /v1/forecast-jobs` for every store, `forecast_days` ahead: one
   `forecast_requests` event per store, answered by the forecast processor.
5. **verify**: waits until the job is complete and `forecast_results` holds exactly
   stores x days rows with its job id (closed days included, as 0); fails naming the count otherwise.
6. **report**: model version, validation metrics, rows written and durations, as the task's return
   value and the DAG run's note.

Connections (provisioned by `deploy/local/airflow.sh` from the stack's environment):
`storecast_train_api`, `storecast_forecast_api`, `storecast_sales_reader`, `storecast_airflow_api`.
"""


def _fail_on(f: Any, *args: Any, **kw: Any) -> Any:
    """Run a pipeline callable; its Failed outcomes fail the task without retries."""
    try:
        return f(*args, **kw)
    except pipeline.Failed as e:
        raise AirflowFailException(str(e)) from e


def _poke(p: pipeline.Poke) -> PokeReturnValue:
    return PokeReturnValue(is_done=p.done, xcom_value=p.value)


@dag(
    dag_id="train_predict_to_db",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    doc_md=DOC,
    tags=["storecast"],
    default_args={
        "owner": "storecast",
        "retries": 2,
        "retry_delay": dt.timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(minutes=10),
    },
    params={
        "train": Param(
            {}, type="object", description="Body of POST /train (store_id, start_date, end_date, params)."
        ),
        "forecast_days": Param(
            42, type="integer", minimum=1, maximum=48, description="Days ahead to forecast."
        ),
        "max_lag_days": Param(3, type="integer", minimum=0),
        "min_store_share": Param(0.9, type="number", minimum=0, maximum=1),
        "verify_timeout_minutes": Param(30, type="integer", minimum=1),
    },
)
def train_predict_to_db() -> None:
    @task
    def freshness(params: dict[str, Any]) -> dict[str, Any]:
        _, db = clients.from_connections()
        rule = pipeline.FreshnessRule(
            max_lag_days=int(params["max_lag_days"]), min_store_share=float(params["min_store_share"])
        )
        return _fail_on(pipeline.check_freshness, db, rule)

    @task
    def train(params: dict[str, Any]) -> dict[str, Any]:
        api, _ = clients.from_connections()
        return _fail_on(pipeline.request_training, api, dict(params["train"]))

    @task.sensor(mode="reschedule", poke_interval=15, timeout=3 * 3600)
    def wait_training(requested: dict[str, Any]) -> PokeReturnValue:
        api, _ = clients.from_connections()
        return _poke(_fail_on(pipeline.poke_training, api, requested))

    @task.branch
    def gate(trained: dict[str, Any]) -> str:
        return pipeline.gate(trained)

    @task(task_id=pipeline.FORECAST_TASK)
    def forecast(params: dict[str, Any]) -> dict[str, Any]:
        api, _ = clients.from_connections()
        return _fail_on(pipeline.start_forecast, api, int(params["forecast_days"]))

    # The sensor's own timeout is a backstop: poke_forecast fails first, naming the row count.
    @task.sensor(mode="reschedule", poke_interval=10, timeout=6 * 3600)
    def verify(job: dict[str, Any], params: dict[str, Any]) -> PokeReturnValue:
        api, db = clients.from_connections()
        timeout = dt.timedelta(minutes=int(params["verify_timeout_minutes"]))
        return _poke(_fail_on(pipeline.poke_forecast, api, db, job, timeout))

    @task(task_id=pipeline.REPORT_TASK, trigger_rule="none_failed_min_one_success")
    def report() -> dict[str, Any]:
        ctx = get_current_context()
        ti = ctx["ti"]
        summary = pipeline.report(
            ti.xcom_pull(task_ids="freshness"),
            ti.xcom_pull(task_ids="wait_training"),
            ti.xcom_pull(task_ids=pipeline.FORECAST_TASK),
            ti.xcom_pull(task_ids="verify"),
        )
        log.info("run summary: %s", summary)
        notes = clients.notes_from_connection()
        if notes is None:
            log.warning("connection %s is not provisioned: the run note is not set", clients.AIRFLOW_API_CONN)
        else:
            dr = ctx["dag_run"]
            notes.set_note(dr.dag_id, dr.run_id, pipeline.note_markdown(summary))
        return summary

    requested = train()
    freshness() >> requested
    trained = wait_training(requested)
    job = forecast()
    branch = gate(trained)
    done = report()
    branch >> [job, done]
    verify(job) >> done


train_predict_to_db()
