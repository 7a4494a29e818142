"""The worker against the real Kafka and MLflow of the local stack (STORECAST_INTEGRATION=1).

Topics and registered model names get a unique suffix. A stand-in for the Go features processor
answers feature snapshot requests from the synthetic examples (features as of the requested day are
faked by re-labelling; this test is about the plumbing, the Go tests own the features).
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
import uuid

import orjson
import pytest
from conftest import synthetic

from storecast_trainer import kafka_io
from storecast_trainer.data import EXAMPLE_COMPLETE_AFTER_DAYS, format_day, parse_day
from storecast_trainer.names import Names
from storecast_trainer.pipeline import Config, Trainer
from storecast_trainer.worker import handle_message

pytestmark = pytest.mark.skipif(
    os.environ.get("STORECAST_INTEGRATION") != "1", reason="integration tests need STORECAST_INTEGRATION=1"
)

BROKERS = os.environ.get("STORECAST_BROKERS", "127.0.0.1:9092")
MLFLOW = os.environ.get("STORECAST_MLFLOW_TRACKING_URI", "http://127.0.0.1:5050")


def _mlflow_up() -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(MLFLOW + "/health", timeout=3) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def names() -> Names:
    from confluent_kafka.admin import AdminClient, NewTopic

    n = Names().with_suffix("py" + uuid.uuid4().hex[:8])
    admin = AdminClient({"bootstrap.servers": BROKERS})
    specs = {
        n.training_examples: (8, {"cleanup.policy": "compact"}),
        n.train_requests: (1, {}),
        n.train_results: (1, {"cleanup.policy": "compact"}),
        n.models: (1, {"cleanup.policy": "compact", "max.message.bytes": "16777216"}),
        n.snapshot_requests: (8, {}),
        n.snapshots: (1, {"max.message.bytes": "16777216"}),
    }
    fs = admin.create_topics([NewTopic(t, p, 1, config=c) for t, (p, c) in specs.items()])
    for f in fs.values():
        f.result(30)
    yield n
    admin.delete_topics(list(specs))


FIRST, LAST = parse_day("2015-01-01"), parse_day("2015-06-19")


@pytest.fixture(scope="module")
def examples(names: Names) -> list[dict]:
    """The days FIRST..LAST the processor holds (the responder's snapshots read them all); like the
    processor, the topic has the examples of the days up to a week before the last only."""
    rows = synthetic(3, FIRST, LAST)
    p = kafka_io.producer(BROKERS)
    for r in rows:
        if parse_day(r["date"]) > LAST - EXAMPLE_COMPLETE_AFTER_DAYS:
            continue
        key = f"{r['store']}|{r['date']}"
        p.produce(
            names.training_examples,
            key=key.encode(),
            value=orjson.dumps(r),
            partition=kafka_io.goka_partition(str(r["store"]), 8),
        )
    assert p.flush(30) == 0
    return rows


def _responder(names: Names, rows: list[dict], stop: threading.Event) -> None:
    """Answer snapshot requests like the Go processor: one FeatureSnapshot per store."""
    by_store: dict[int, list[dict]] = {}
    for r in rows:
        by_store.setdefault(r["store"], []).append(r)
    c = kafka_io.reader(BROKERS, "py-responder")
    p = kafka_io.producer(BROKERS)
    start = kafka_io.watermarks(c, names.snapshot_requests)

    def on(_k: bytes | None, v: bytes | None) -> bool:
        req = orjson.loads(v)
        as_of, lo, hi = parse_day(req["as_of"]), parse_day(req["from"]), parse_day(req["to"])
        exs = []
        for r in by_store.get(req["store"], []):
            d = parse_day(r["date"])
            if lo <= d <= hi:
                e = dict(r, as_of=format_day(as_of), horizon=d - as_of)
                e["features"] = dict(r["features"], horizon=d - as_of)
                exs.append(e)
        snap = {
            "v": 1,
            "request_id": req["request_id"],
            "store": req["store"],
            "as_of": req["as_of"],
            "examples": exs,
        }
        kafka_io.produce_json(p, names.snapshots, f"{req['request_id']}|{req['store']}", snap)
        return stop.is_set()

    try:
        kafka_io.tail(c, names.snapshot_requests, start, on, timeout=600)
    except TimeoutError:
        pass
    finally:
        c.close()


def _read_all(names: Names, topic: str) -> list[tuple[bytes, dict]]:
    c = kafka_io.reader(BROKERS, "py-check")
    try:
        snap = kafka_io.watermarks(c, topic)
        return [(k, orjson.loads(v)) for k, v in kafka_io.read_until(c, snap, timeout=60)]
    finally:
        c.close()


@pytest.mark.skipif(not _mlflow_up(), reason="MLflow is not running (deploy/local/mlflow.sh up)")
def test_requests_end_to_end(names: Names, examples: list[dict]) -> None:
    suffix = names.models.removeprefix("models-")
    cfg = Config(brokers=BROKERS, tracking_uri=MLFLOW, names=names, snapshot_timeout=60, model_suffix=suffix)
    stop = threading.Event()
    th = threading.Thread(target=_responder, args=(names, examples, stop), daemon=True)
    th.start()
    time.sleep(0.5)  # the responder captures its start offsets before we ask (no ordering otherwise)
    trainer = Trainer(cfg)
    params = {"max_depth": "4", "eta": "0.3", "num_boost_round": "100", "early_stopping_rounds": "10"}

    def request(rid: str, **extra: object) -> bytes:
        return orjson.dumps(
            {
                "v": 1,
                "id": rid,
                "requested_by": "pytest",
                "params": params,
                "at": "2015-06-20T00:00:00Z",
                **extra,
            }
        )

    o1 = handle_message(trainer, b"r1", request("r1"))
    assert o1 is not None and o1.status == "succeeded", o1
    assert o1.promoted and o1.version == "1"
    assert o1.val_window == "2015-05-09..2015-06-19@2015-05-08"
    assert o1.metrics["val_rmspe"] < 0.1
    assert o1.protocol == "inner-split-v1"
    assert o1.inner_window == "2015-03-28..2015-05-08@2015-03-27"
    assert o1.metrics["trees"] >= 1 and 0 < o1.metrics["interval_coverage_80"] <= 1

    # The same data and window again: a tie keeps the champion.
    o2 = handle_message(trainer, b"r2", request("r2"))
    assert o2 is not None and o2.status == "succeeded" and o2.version == "2" and not o2.promoted, o2
    assert "does not beat" in o2.decision

    o3 = handle_message(trainer, b"r3", request("r3", start_date="2016-01-01"))
    assert o3 is not None and o3.status == "failed" and "no examples in range" in o3.reason

    stop.set()
    tr = trainer.tracker()
    name = f"storecast-sales-{suffix}"
    assert tr.client.get_model_version_by_alias(name, "champion").version == "1"
    assert tr.client.get_model_version_by_alias(name, "challenger").version == "2"
    run = tr.client.get_run(o1.run_id)
    assert run.data.params["val_mode"] == "snapshot"
    assert run.data.params["protocol"] == "inner-split-v1"
    assert run.data.params["inner_window"] == o1.inner_window
    assert "val_rmspe_week_1" in run.data.metrics and "calibration_factor" in run.data.metrics
    arts = {a.path for a in tr.client.list_artifacts(o1.run_id)}
    assert {
        "export",
        "golden",
        "validation",
        "dataset.json",
        "feature_importance.json",
        "validation.json",
    } <= arts

    results = _read_all(names, names.train_results)
    by_id: dict[str, list[str]] = {}
    for k, v in results:
        assert k.decode() == v["id"]
        by_id.setdefault(v["id"], []).append(v["status"])
    assert by_id == {
        "r1": ["running", "succeeded"],
        "r2": ["running", "succeeded"],
        "r3": ["running", "failed"],
    }

    models = _read_all(names, names.models)
    assert len(models) == 1
    key, ev = models[0]
    assert key.decode() == name == ev["name"]
    art = base64.b64decode(ev["artifact"])
    assert hashlib.sha256(art).hexdigest() == ev["sha256"]
    assert ev["format"] == "lightgbm-text-v3" and ev["target_transform"] == "log1p"
    assert ev["feature_names"] == list(examples[0]["features"])
    assert ev["version"] == "1" and ev["run_id"] == o1.run_id
    assert ev["trained_through"] == "2015-06-19"
