"""The DAG folder imports cleanly, with the expected tasks, wiring and policies, and no I/O at parse time."""

import socket
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parent.parent / "dags"


@pytest.fixture(scope="module")
def dagbag(request):
    # Parsing must not touch the network: any connect attempt fails the test.
    def no_connect(*args, **kwargs):
        raise AssertionError(f"the DAG file opened a connection at parse time: {args}")

    mp = pytest.MonkeyPatch()
    mp.setattr(socket.socket, "connect", no_connect)
    request.addfinalizer(mp.undo)
    from airflow.models.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS), include_examples=False)


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert list(dagbag.dag_ids) == ["train_predict_to_db"]


def test_tasks_and_dependencies(dagbag):
    dag = dagbag.dags["train_predict_to_db"]
    got = {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}
    assert got == {
        "freshness": ["train"],
        "train": ["wait_training"],
        "wait_training": ["gate"],
        "gate": ["forecast", "report"],
        "forecast": ["verify"],
        "verify": ["report"],
        "report": [],
    }


def test_policies(dagbag):
    dag = dagbag.dags["train_predict_to_db"]
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.doc_md and "train_predict_to_db" in dag.doc_md
    assert dag.timetable.summary in ("@daily", "0 0 * * *")
    for t in dag.tasks:
        assert t.owner == "storecast", t.task_id
        assert t.retries == 2 and t.retry_exponential_backoff, t.task_id
    # Sensors give their worker slot back between pokes.
    for tid in ("wait_training", "verify"):
        assert dag.get_task(tid).mode == "reschedule", tid
    assert dag.get_task("report").trigger_rule == "none_failed_min_one_success"
    assert dag.params["forecast_days"] == 42
