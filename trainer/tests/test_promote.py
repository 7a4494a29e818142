"""Promote requests without services: decoding, the verification a version passes, and the whole
path against fakes of MLflow's client and the publisher (test_promote_integration.py runs it
against the real Kafka and MLflow)."""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import orjson
import pytest
import xgboost as xgb
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

from storecast_trainer import drift, promote
from storecast_trainer.golden import export_checked, golden_manifest, write_rows_csv_gz
from storecast_trainer.promotion import ChampionRun
from storecast_trainer.request import KnownRequestError, Request
from storecast_trainer.tracking import DRIFT_BINS, FEATURES

CONTRACT = Path(__file__).resolve().parents[2] / "testdata" / "contract"
NAMES = ["promo", "day_of_week", "mean_sales"]


def test_promote_request_decodes() -> None:
    r = Request.decode((CONTRACT / "promote_request.json").read_bytes())
    assert (r.id, r.action, r.model_name, r.model_version) == ("req-0002", "promote", "storecast-sales", "3")


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({"v": 2, "id": "a"}, "needs an action"),
        ({"v": 2, "id": "a", "action": "delete"}, "needs an action"),
        ({"v": 2, "id": "a", "action": "promote", "model_name": "storecast-sales"}, "numeric model_version"),
        (
            {"v": 2, "id": "a", "action": "promote", "model_name": "", "model_version": "3"},
            "needs model_name",
        ),
        ({"v": 3, "id": "a", "action": "promote"}, "schema version 3"),
    ],
)
def test_bad_promote_requests_are_refused(value: dict[str, Any], match: str) -> None:
    with pytest.raises(KnownRequestError, match=match):
        Request.decode(orjson.dumps(value))


@pytest.mark.parametrize(
    ("name", "suffix", "ours"),
    [
        ("storecast-sales", "", True),
        ("storecast-sales-store-12", "", True),
        ("storecast-sales-t1", "", False),
        ("storecast-sales-t1", "t1", True),
        ("storecast-sales-store-3-t1", "t1", True),
        ("storecast-sales", "t1", False),
        ("other-model", "", False),
    ],
)
def test_is_ours(name: str, suffix: str, ours: bool) -> None:
    assert promote.is_ours(name, suffix) is ours


def write_run(d: Path, seed: int = 1) -> str:
    """Write what a training run logs (the artifacts promote reads) into d; return the sha256."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.integers(0, 2, 400), rng.integers(1, 8, 400), rng.normal(5000, 800, 400)])
    y = np.log1p(x[:, 2] * (1.2 + 0.2 * x[:, 0]))
    b = xgb.train({"max_depth": 3, "eta": 0.3, "seed": seed}, xgb.DMatrix(x, y, feature_names=NAMES), 20)
    ex = export_checked(b, NAMES, x, seed=seed)
    (d / "export").mkdir(parents=True)
    (d / "golden").mkdir()
    (d / "drift").mkdir()
    (d / "export" / "model.txt").write_text(ex.text)
    manifest = golden_manifest(ex.text, NAMES, "f1", "log1p", len(ex.rows), b)
    (d / "golden" / "manifest.json").write_text(json.dumps(manifest))
    write_rows_csv_gz(d / "golden" / "rows.csv.gz", NAMES, ex.rows, ex.margin)
    (d / FEATURES).write_text(json.dumps({"feature_names": NAMES, "feature_schema": "f1"}))
    intervals = {"level": 0.8, "method": "m", "week_days": 7, "low": [-0.1], "high": [0.1]}
    (d / "validation.json").write_text(json.dumps({"intervals": intervals}))
    (d / DRIFT_BINS).write_text(json.dumps({"feature_bins": drift.training_bins(x, NAMES)}))
    return hashlib.sha256(ex.text.encode()).hexdigest()


def test_verify_accepts_a_training_runs_artifacts(tmp_path: Path) -> None:
    sha = write_run(tmp_path)
    a = promote.load_artifacts(tmp_path)
    assert a.sha256 == sha and a.feature_names == NAMES and a.intervals and a.feature_bins
    got = promote.verify(a, sha, NAMES)
    assert got["export_max_rel_diff"] < 1e-4


def test_verify_refuses(tmp_path: Path) -> None:
    sha = write_run(tmp_path)
    a = promote.load_artifacts(tmp_path)
    with pytest.raises(promote.RefusedError, match="no recorded sha256"):
        promote.verify(a, "", NAMES)
    with pytest.raises(promote.RefusedError, match="not the one recorded"):
        promote.verify(a, "0" * 64, NAMES)
    with pytest.raises(promote.RefusedError, match="not the champion's"):
        promote.verify(a, sha, [*NAMES, "trend_7"])
    # A tampered export (its sha256 and manifest updated to match) fails the golden rows.
    tampered = a.text.replace("leaf_value=", "leaf_value=0.5 ", 1)
    bad = promote.Artifacts(**{**a.__dict__, "text": tampered})
    bad.manifest = {**a.manifest, "sha256": bad.sha256}
    with pytest.raises(promote.RefusedError, match="parity"):
        promote.verify(bad, bad.sha256, NAMES)


def test_verify_runs_gos_check(tmp_path: Path) -> None:
    sha = write_run(tmp_path / "run")
    golden = tmp_path / "run" / "golden"
    shutil.copy(tmp_path / "run" / "export" / "model.txt", golden / "model.txt")
    a = promote.load_artifacts(tmp_path / "run")
    fake = tmp_path / "storecast"
    # A stand-in for `storecast golden DIR`: agrees only when the folder holds all three files.
    fake.write_text(
        "#!/bin/sh\n"
        '[ "$2" = "--help" ] && exit 0\n'
        "for f in model.txt rows.csv.gz manifest.json; do\n"
        '  [ -f "$2/$f" ] || { echo "no $f" >&2; exit 1; }\n'
        "done\n"
        'grep -q refuse "$2/model.txt" && { echo "golden: leaves refused the model" >&2; exit 1; }\n'
        "echo '{\"max_rel_diff\": 1e-7}'\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    assert promote.verify(a, sha, NAMES, str(fake), golden)["go_parity_max_rel_diff"] == 1e-7
    (golden / "model.txt").write_text(a.text + "\nrefuse\n")
    with pytest.raises(promote.RefusedError, match="leaves refused"):
        promote.verify(a, sha, NAMES, str(fake), golden)


# Fakes of the trainer's collaborators for promote.run.


@dataclass
class FakeClient:
    runs: dict[str, Path]
    versions: dict[str, tuple[str, str]]  # version -> (run_id, sha256 tag)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)

    def get_model_version(self, name: str, version: str) -> Any:
        if version not in self.versions:
            raise MlflowException(
                f"Model Version (name={name}, version={version}) not found", RESOURCE_DOES_NOT_EXIST
            )
        run_id, sha = self.versions[version]
        return SimpleNamespace(version=version, run_id=run_id, tags={"sha256": sha})

    def get_run(self, run_id: str) -> Any:
        return SimpleNamespace(
            data=SimpleNamespace(
                params={"end_date": "2015-06-19", "protocol": "inner-split-v1"},
                metrics={"val_rmspe": 0.11, "trees": 20.0, "val_rmspe_by_horizon": 0.2},
            )
        )

    def download_artifacts(self, run_id: str, path: str, dst: str) -> str:
        src = self.runs[run_id] / path
        if not src.exists():
            raise OSError(f"no artifact {path}")
        out = Path(dst) / path
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, out)
        else:
            shutil.copy(src, out)
        return str(out)


@dataclass
class FakeTracker:
    client: FakeClient
    aliases: dict[str, str] = field(default_factory=dict)

    def champion(self, name: str) -> ChampionRun | None:
        v = self.aliases.get("champion")
        if v is None:
            return None
        return ChampionRun(
            version=v, run_id=self.client.versions[v][0], window=None, val_rmspe=0.12, feature_names=NAMES
        )

    def promote(self, name: str, version: str) -> str | None:
        old = self.aliases.get("champion")
        if old is not None and old != version:
            self.aliases["previous"] = old
        self.aliases["champion"] = version
        return old

    def set_version_tags(self, name: str, version: str, tags: dict[str, Any]) -> None:
        self.client.tags.setdefault(version, {}).update({k: str(v) for k, v in tags.items()})


@dataclass
class FakePublisher:
    results: list[tuple[str, Any]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)

    def result(self, req_id: str, o: Any) -> None:
        self.results.append((req_id, o))

    def model(self, name: str, version: str, run_id: str, metrics_: Any, *args: Any, **kw: Any) -> None:
        names, schema, artifact, sha, through = args
        self.models.append(
            {"name": name, "version": version, "run_id": run_id, "metrics": dict(metrics_), "names": names}
            | {"schema": schema, "sha": sha, "artifact": artifact, "through": through, **kw}
        )


@dataclass
class FakeTrainer:
    tr: FakeTracker
    publish: FakePublisher = field(default_factory=FakePublisher)
    cfg: Any = field(default_factory=lambda: SimpleNamespace(model_suffix="", storecast_bin=""))
    metrics: Any = None

    def tracker(self) -> FakeTracker:
        return self.tr

    def forget_tracker(self) -> None:
        pass


@pytest.fixture
def world(tmp_path: Path) -> FakeTrainer:
    """Versions 1 (champion) and 2 of storecast-sales, each from its own training run."""
    sha1, sha2 = write_run(tmp_path / "r1", seed=1), write_run(tmp_path / "r2", seed=2)
    client = FakeClient(
        runs={"r1": tmp_path / "r1", "r2": tmp_path / "r2"}, versions={"1": ("r1", sha1), "2": ("r2", sha2)}
    )
    return FakeTrainer(FakeTracker(client, aliases={"champion": "1"}))


def req(version: str, name: str = "storecast-sales") -> Request:
    return Request(
        id=f"p{version}", requested_by="pytest", action="promote", model_name=name, model_version=version
    )


def test_promote_then_roll_back(world: FakeTrainer) -> None:
    o = promote.run(world, req("2"))  # type: ignore[arg-type]
    assert o.status == "succeeded" and o.promoted and o.version == "2", o
    assert o.reason == "v2 is the champion (previous: v1)"
    assert world.tr.aliases == {"champion": "2", "previous": "1"}
    assert world.tr.client.tags["2"]["promoted_by"] == "request p2 (pytest)"
    ev = world.publish.models[-1]
    assert (ev["name"], ev["version"], ev["run_id"]) == ("storecast-sales", "2", "r2")
    assert hashlib.sha256(ev["artifact"]).hexdigest() == ev["sha"] == world.tr.client.versions["2"][1]
    assert ev["names"] == NAMES and ev["schema"] == "f1" and ev["protocol"] == "inner-split-v1"
    assert ev["intervals"]["level"] == 0.8 and len(ev["feature_bins"]) == len(NAMES)
    assert ev["metrics"] == {"val_rmspe": 0.11, "trees": 20.0}  # per-step curves left out
    assert [(i, r.status) for i, r in world.publish.results] == [("p2", "running"), ("p2", "succeeded")]

    # Rolling back is promoting the previous champion.
    back = promote.run(world, req(world.tr.aliases["previous"]))  # type: ignore[arg-type]
    assert back.status == "succeeded" and world.tr.aliases == {"champion": "1", "previous": "2"}
    assert world.publish.models[-1]["version"] == "1"

    again = promote.run(world, req("1"))  # type: ignore[arg-type]
    assert again.status == "succeeded" and "already was the champion" in again.reason
    assert world.tr.aliases == {"champion": "1", "previous": "2"} and len(world.publish.models) == 3


@pytest.mark.parametrize(
    ("request_", "setup", "reason"),
    [
        (req("9"), None, "storecast-sales has no version 9"),
        (req("2", name="other-model"), None, "not one of this deployment's"),
        (req("2"), "tamper", "not the one recorded"),
        (req("2"), "no-export", "has no export artifact"),
    ],
)
def test_refused_versions_change_nothing(
    world: FakeTrainer, request_: Request, setup: str | None, reason: str
) -> None:
    run2 = world.tr.client.runs["r2"]
    if setup == "tamper":
        (run2 / "export" / "model.txt").write_text((run2 / "export" / "model.txt").read_text() + "\n")
    if setup == "no-export":
        shutil.rmtree(run2 / "export")
    o = promote.run(world, request_)  # type: ignore[arg-type]
    assert o.status == "failed" and not o.promoted and reason in o.reason, o.reason
    assert o.reason.startswith(f"v{request_.model_version} not promoted: ")
    assert world.tr.aliases == {"champion": "1"} and world.publish.models == []
    assert [r.status for _, r in world.publish.results] == ["running", "failed"]
