"""Promote requests against the real Kafka and MLflow of the local stack (STORECAST_INTEGRATION=1):
two trained versions, then promote the challenger, roll back to the previous champion and refuse a
version that does not exist, as the Go API emits them (topics.TrainRequest v2). Topics and
registered model names get a unique suffix (test_integration's fixtures)."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from pathlib import Path

import orjson
import pytest
import requests
from test_integration import MLFLOW, _mlflow_up, _read_all, _responder, examples, names  # noqa: F401

from storecast_trainer.names import Names
from storecast_trainer.pipeline import Config, Trainer
from storecast_trainer.worker import handle_message

pytestmark = pytest.mark.skipif(
    os.environ.get("STORECAST_INTEGRATION") != "1", reason="integration tests need STORECAST_INTEGRATION=1"
)

BROKERS = os.environ.get("STORECAST_BROKERS", "127.0.0.1:9092")
REPO_BIN = Path(__file__).resolve().parents[2] / "bin" / "storecast"


def promote_request(rid: str, name: str, version: str) -> bytes:
    """A promote request exactly as api.PromoteModelVersion emits it."""
    return orjson.dumps(
        {
            "v": 2,
            "id": rid,
            "requested_by": "api",
            "action": "promote",
            "model_name": name,
            "model_version": version,
            "at": "2015-06-20T00:00:00Z",
        }
    )


def test_promote_and_roll_back(names: Names, examples: list[dict]) -> None:  # noqa: F811
    assert _mlflow_up(), f"MLflow does not answer at {MLFLOW} (make services)"
    suffix = names.models.removeprefix("models-")
    # Go's leaves replay every verified version's golden rows when the binary is built.
    storecast_bin = os.environ.get("STORECAST_BIN") or (str(REPO_BIN) if REPO_BIN.exists() else "")
    cfg = Config(
        brokers=BROKERS,
        tracking_uri=MLFLOW,
        names=names,
        snapshot_timeout=60,
        model_suffix=suffix,
        storecast_bin=storecast_bin,
    )
    stop = threading.Event()
    th = threading.Thread(target=_responder, args=(names, examples, stop), daemon=True)
    th.start()
    time.sleep(0.5)  # the responder captures its start offsets before we ask (no ordering otherwise)
    trainer = Trainer(cfg)
    params = {"max_depth": "3", "eta": "0.3", "num_boost_round": "40", "early_stopping_rounds": "10"}
    raw = orjson.dumps(
        {"v": 1, "id": "t1", "requested_by": "pytest", "params": params, "at": "2015-06-20T00:00:00Z"}
    )
    o = handle_message(trainer, b"t1", raw)
    assert o is not None and o.status == "succeeded" and o.version == "1", o
    stop.set()
    name = f"storecast-sales-{suffix}"
    client = trainer.tracker().client  # type: ignore[union-attr]

    def alias(a: str) -> str:
        return str(client.get_model_version_by_alias(name, a).version)

    # A second version without a second training (most of a minute): the same run registered
    # again, tagged as training tags it. Over REST: MLflow 3's client rewrites a runs:/ source.
    v1 = client.get_model_version(name, "1")
    r = requests.post(
        f"{MLFLOW}/api/2.0/mlflow/model-versions/create",
        json={"name": name, "source": f"runs:/{v1.run_id}/export", "run_id": v1.run_id},
        timeout=60,
    )
    r.raise_for_status()
    v2 = r.json()["model_version"]["version"]
    client.set_model_version_tag(name, v2, "sha256", v1.tags["sha256"])
    client.set_registered_model_alias(name, "challenger", v2)
    assert (alias("champion"), alias("challenger")) == ("1", "2")

    up = handle_message(trainer, b"p1", promote_request("p1", name, "2"))
    assert up is not None and up.status == "succeeded" and up.promoted, up
    assert (alias("champion"), alias("previous")) == ("2", "1")
    if storecast_bin:
        assert up.metrics["go_parity_max_rel_diff"] < 1e-4

    back = handle_message(trainer, b"p2", promote_request("p2", name, alias("previous")))
    assert back is not None and back.status == "succeeded", back
    assert (alias("champion"), alias("previous")) == ("1", "2")

    missing = handle_message(trainer, b"p3", promote_request("p3", name, "9"))
    assert missing is not None and missing.status == "failed" and "has no version 9" in missing.reason
    assert alias("champion") == "1"

    # The models topic carries each move, in order, as after training: v1 (training), v2, v1.
    models = [(k.decode(), ev) for k, ev in _read_all(names, names.models)]
    assert [(k, ev["version"]) for k, ev in models] == [(name, "1"), (name, "2"), (name, "1")]
    for _, ev in models:
        mv = client.get_model_version(name, ev["version"])
        art = base64.b64decode(ev["artifact"])
        assert hashlib.sha256(art).hexdigest() == ev["sha256"] == mv.tags["sha256"]
        assert ev["run_id"] == mv.run_id and ev["trained_through"] == "2015-06-19"
        assert ev["intervals"]["level"] > 0 and ev["feature_bins"] and ev["protocol"] == "inner-split-v1"
    assert models[0][1]["metrics"]["val_rmspe"] == models[2][1]["metrics"]["val_rmspe"]

    statuses: dict[str, list[str]] = {}
    for k, v in _read_all(names, names.train_results):
        statuses.setdefault(k.decode(), []).append(v["status"])
    assert {k: statuses[k] for k in ("p1", "p2", "p3")} == {
        "p1": ["running", "succeeded"],
        "p2": ["running", "succeeded"],
        "p3": ["running", "failed"],
    }
