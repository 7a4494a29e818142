"""The lab: featurelab's arrays in, the honest protocol out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from storecast_trainer import lab
from storecast_trainer.data import parse_day


def write(folder: Path, name: str, rows: dict[str, np.ndarray]) -> None:
    for c in lab.COLUMNS:
        np.save(folder / f"{name}_{c}.npy", rows[c])


@pytest.fixture
def lab_dir(tmp_path: Path) -> Path:
    """Two stores over 300 days; the last 20 days are the reported window as of the day before."""
    rng = np.random.default_rng(3)
    names = ["store", "day_of_week", "promo", "horizon", "noise"]
    (tmp_path / "meta.json").write_text(json.dumps({"schema": "fx", "names": names}))
    first, last = parse_day("2015-01-01"), parse_day("2015-10-27")

    def rows(days: np.ndarray, as_of: np.ndarray) -> dict[str, np.ndarray]:
        store = np.tile([1, 2], len(days))
        date = np.repeat(days, 2)
        aof = np.repeat(as_of, 2)
        promo = (date // 7) % 2
        dow = (date + 3) % 7 + 1
        label = (
            (3000 + 2000 * (store == 2))
            * (1 + 0.3 * promo)
            * (1 + 0.05 * dow)
            * rng.lognormal(0, 0.02, len(date))
        )
        x = np.stack([store, dow, promo, date - aof, rng.normal(size=len(date))], axis=1).astype(np.float32)
        return {"x": x, "store": store, "date": date, "as_of": aof, "horizon": date - aof, "label": label}

    days = np.arange(first, last + 1)
    write(tmp_path, "examples", rows(days, days - 1 - days % 20))
    vd = np.arange(last - 19, last + 1)
    write(tmp_path, "val", rows(vd, np.full(len(vd), last - 20)))
    return tmp_path


def test_run_scores_the_snapshot_window_under_the_protocol(lab_dir: Path) -> None:
    r = lab.run(lab_dir, "val", {"max_depth": "3", "eta": "0.3", "nthread": "1"}, ["noise"])
    assert r["val_window"] == "2015-10-08..2015-10-27@2015-10-07"
    assert r["inner_window"] == "2015-09-18..2015-10-07@2015-09-17"
    assert r["features"] == 4 and r["dropped"] == ["noise"]
    assert 0 < r["val_rmspe"] < 0.1 and r["trees"] >= 1


def test_unknown_feature_is_refused(lab_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown features"):
        lab.run(lab_dir, "val", {}, ["nope"])
