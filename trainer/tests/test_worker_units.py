"""Pieces of the worker that need no services: names, partitioning, request decoding, exports."""

from __future__ import annotations

import orjson
import pytest

from storecast_trainer.kafka_io import goka_partition
from storecast_trainer.names import Names, model_name
from storecast_trainer.outcome import finite
from storecast_trainer.request import KnownRequestError, Request, RequestError


def test_names_default_and_suffix() -> None:
    n = Names()
    assert n.training_examples == "training_examples" and n.snapshots == "feature_snapshots"
    s = n.with_suffix("t1")
    assert s.train_requests == "train_requests-t1" and s.models == "models-t1"
    assert s.trainer_group == "storecast-trainer-t1"
    assert n.with_suffix("") == n


def test_goka_partition_matches_go() -> None:
    # Values from Go: fnv.New32a, int32, abs, % 8 (goka.DefaultHasher).
    want = {"1": 4, "2": 5, "7": 6, "42": 5, "1115": 3, "999": 6}
    assert {k: goka_partition(k, 8) for k in want} == want


def test_request_decode() -> None:
    r = Request.decode(
        orjson.dumps(
            {
                "v": 1,
                "id": "r1",
                "requested_by": "t",
                "store_id": 7,
                "start_date": "2015-01-01",
                "end_date": "2015-06-19",
                "params": {"eta": "0.1"},
                "at": "2015-06-20T00:00:00Z",
            }
        )
    )
    assert (r.id, r.store, r.start, r.end, r.params) == ("r1", 7, 16436, 16605, {"eta": "0.1"})
    all_stores = Request.decode(orjson.dumps({"v": 1, "id": "r2"}))
    assert all_stores.store is None and all_stores.start is None
    with pytest.raises(KnownRequestError, match="schema version"):
        Request.decode(orjson.dumps({"v": 2, "id": "r3"}))
    with pytest.raises(KnownRequestError, match="before"):
        Request.decode(
            orjson.dumps({"v": 1, "id": "r4", "start_date": "2015-02-01", "end_date": "2015-01-01"})
        )
    with pytest.raises(RequestError, match="not JSON"):
        Request.decode(b"{nope")
    assert Request.decode(orjson.dumps({"v": 1}), key=b"from-key").id == "from-key"


def test_finite_drops_nan() -> None:
    assert finite({"a": 1.0, "b": float("nan"), "c": float("inf")}) == {"a": 1.0}


def test_mlflow_errors_are_named() -> None:
    from mlflow.exceptions import MlflowException

    from storecast_trainer.pipeline import from_mlflow

    try:
        try:
            raise ConnectionRefusedError("refused")
        except OSError as e:
            raise MlflowException("API request failed") from e
    except MlflowException as e:
        assert from_mlflow(e)
    assert not from_mlflow(ValueError("x"))


def test_model_names() -> None:
    assert model_name(None) == "storecast-sales"
    assert model_name(7) == "storecast-sales-store-7"
    assert model_name(7, "t1") == "storecast-sales-store-7-t1"
