"""The shared contract fixtures (testdata/contract, also read by Go's tests): what the trainer
consumes decodes, what it produces has exactly the fixture's fields, and the names agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from storecast_trainer import publishing
from storecast_trainer.data import EXAMPLE_COMPLETE_AFTER_DAYS, decode_examples, format_day, parse_day
from storecast_trainer.kafka_io import goka_partition
from storecast_trainer.names import Names, model_name
from storecast_trainer.outcome import Outcome
from storecast_trainer.promotion import Window
from storecast_trainer.request import Request
from storecast_trainer.snapshots import snapshot_request

CONTRACT = Path(__file__).resolve().parents[2] / "testdata" / "contract"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((CONTRACT / name).read_text())


def test_names() -> None:
    c = fixture("names.json")
    n = Names()
    got = {
        "training_examples": n.training_examples,
        "train_requests": n.train_requests,
        "train_results": n.train_results,
        "models": n.models,
        "feature_snapshot_requests": n.snapshot_requests,
        "feature_snapshots": n.snapshots,
        "store_info": n.store_info,
    }
    assert got == c["topics"]
    assert c["example_complete_after_days"] == EXAMPLE_COMPLETE_AFTER_DAYS
    assert n.with_suffix(c["suffix"]["suffix"]).models == c["suffix"]["models"]
    assert model_name(None) == c["models"]["all_stores"]
    assert model_name(7) == c["models"]["store_7"]
    assert {k: goka_partition(k, c["partitions"]) for k in c["partition_of_key"]} == c["partition_of_key"]


def test_train_request_decodes() -> None:
    raw = (CONTRACT / "train_request.json").read_bytes()
    want = fixture("train_request.json")
    r = Request.decode(raw)
    assert (r.id, r.requested_by, r.store) == (want["id"], want["requested_by"], want["store_id"])
    assert (format_day(r.start), format_day(r.end)) == (want["start_date"], want["end_date"])
    assert r.params == want["params"]


@pytest.mark.parametrize("name", ["training_example.json", "feature_snapshot.json"])
def test_examples_decode(name: str) -> None:
    f = fixture(name)
    rows = f.get("examples", [f])
    ex = decode_examples(rows)
    e = rows[0]
    assert ex.names == list(e["features"]) and ex.schema == e["schema"]
    assert (int(ex.store[0]), format_day(ex.date[0]), format_day(ex.as_of[0])) == (
        e["store"],
        e["date"],
        e["as_of"],
    )
    assert (int(ex.horizon[0]), float(ex.label[0])) == (e["horizon"], e["label"])


def test_snapshot_request_shape() -> None:
    want = fixture("feature_snapshot_request.json")
    w = Window(parse_day(want["as_of"]), parse_day(want["from"]), parse_day(want["to"]))
    assert snapshot_request(want["request_id"], want["store"], w) == want


class _Capture:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(
        self, _p: object, topic: str, key: str, value: dict[str, Any], partition: int | None = None
    ) -> None:
        self.sent.append((topic, key, json.loads(json.dumps(value))))


def test_published_events_have_the_fixture_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    cap = _Capture()
    monkeypatch.setattr(publishing.kafka_io, "produce_json", cap)
    pub = publishing.Publisher(producer=None, names=Names())  # type: ignore[arg-type]
    res = fixture("train_result.json")
    pub.result(
        res["id"],
        Outcome(
            status=res["status"],
            reason=res["reason"],
            run_id=res["run_id"],
            model_name=res["model_name"],
            version=res["model_version"],
            promoted=res["promoted"],
            metrics=res["metrics"],
            rows=res["rows"],
        ),
    )
    ev = fixture("model_event.json")
    pub.model(
        ev["name"],
        ev["version"],
        ev["run_id"],
        ev["metrics"],
        ev["feature_names"],
        ev["feature_schema"],
        b"tree\n",
        ev["sha256"],
        parse_day(ev["trained_through"]),
        intervals=ev["intervals"],
        feature_bins=ev["feature_bins"],
        protocol=ev["protocol"],
    )
    (t1, k1, got_res), (t2, k2, got_ev) = cap.sent
    assert (t1, k1, t2, k2) == ("train_results", res["id"], "models", ev["name"])
    for got, want in ((got_res, res), (got_ev, ev)):
        assert set(got) == set(want)
        assert {k: v for k, v in got.items() if k != "at"} == {k: v for k, v in want.items() if k != "at"}
