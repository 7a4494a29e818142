"""Golden files at the Python/Go boundary: a booster's LightGBM export, input rows and XGBoost's own
predictions, which model/ (Go) replays through leaves to prove parity.

``storecast-trainer golden --out model/testdata/golden`` regenerates the committed set from a
synthetic model built here (fixed seeds): ~20 features, ~5% missing values, integer features, and
input rows where many values sit exactly on a split threshold or on the float32 just below it.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xgboost as xgb

from .data import Examples
from .export import booster_json, lightgbm_text_predict, to_lightgbm_text

FORMAT = "lightgbm-text-v3"
GOLDEN_SCHEMA = "golden-v1"
#: The largest relative difference tolerated between the export and XGBoost.
PARITY_TOLERANCE = 1e-4


@dataclass
class CheckedExport:
    """A booster's LightGBM text export and the golden rows it was checked on."""

    text: str
    rows: np.ndarray
    margin: np.ndarray
    max_rel_diff: float


def golden_rows(x: np.ndarray, seed: int, n: int = 2000) -> np.ndarray:
    """Up to n rows of x plus an all-missing row: the inputs of a run's golden file."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(x.shape[0], size=min(n, x.shape[0]), replace=False) if x.shape[0] else np.array([], int)
    rows = x[np.sort(idx)]
    return np.concatenate([rows, np.full((1, x.shape[1]), np.nan)])


def export_checked(
    booster: xgb.Booster, names: list[str], x: np.ndarray, seed: int, shift: float = 0.0
) -> CheckedExport:
    """Export booster (its margin plus shift) and check the export against XGBoost on golden rows
    drawn from x; raise RuntimeError when they differ by more than PARITY_TOLERANCE (nothing is
    published then). The golden margins include the shift: they are what the export must predict."""
    text = to_lightgbm_text(booster, names, shift)
    rows = golden_rows(x, seed=seed)
    margin = booster.predict(xgb.DMatrix(rows, feature_names=names), output_margin=True) + shift
    return CheckedExport(text, rows, margin, replay_parity(text, rows, margin))


def write_rows_csv_gz(path: Path, names: Sequence[str], x: np.ndarray, margin: np.ndarray) -> None:
    """Write rows as gzipped CSV: one column per feature (empty when missing) and ``xgb_margin``.

    Values are written with repr, so Go's ParseFloat reads back the same float64.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*names, "xgb_margin"])
    for row, m in zip(x, margin, strict=True):
        w.writerow(["" if math.isnan(v) else repr(float(v)) for v in row] + [repr(float(m))])
    # mtime=0 keeps the bytes reproducible.
    path.write_bytes(gzip.compress(buf.getvalue().encode(), mtime=0))


def golden_manifest(
    text: str, names: Sequence[str], feature_schema: str, transform: str, rows: int, booster: xgb.Booster
) -> dict[str, object]:
    """Describe a golden set: what Go's loader must be told, and where the model came from."""
    return {
        "format": FORMAT,
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "feature_names": list(names),
        "feature_schema": feature_schema,
        "target_transform": transform,
        "rows": rows,
        "trees": booster.num_boosted_rounds(),
        "xgboost_version": xgb.__version__,
        "base_score": booster_json(booster)["learner"]["learner_model_param"]["base_score"],
    }


def _synthetic(rng: np.random.Generator, n: int, n_int: int, n_cont: int) -> np.ndarray:
    ints = rng.integers(0, 25, size=(n, n_int)).astype(np.float64)
    cont = rng.normal(size=(n, n_cont)) * rng.uniform(0.5, 1000.0, size=n_cont)
    x = np.concatenate([ints, cont], axis=1)
    x[rng.random(x.shape) < 0.05] = np.nan
    return x


def _target(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    z = np.nan_to_num(x, nan=-1.0)
    s = (
        0.08 * z[:, 0]
        + 0.5 * (z[:, 1] > 12)
        - 0.3 * (z[:, 2] % 7 == 0)
        + 0.02 * z[:, 3] * (z[:, 4] > 10)
        + 0.0004 * z[:, 8]
        - 0.0002 * np.abs(z[:, 9])
        + 0.3 * np.sin(z[:, 10] / 200.0)
        + 0.2 * np.isnan(x[:, 5])
    )
    return 8.5 + s + rng.normal(scale=0.05, size=x.shape[0])


def _thresholds(booster: xgb.Booster, n_features: int) -> list[np.ndarray]:
    model = booster_json(booster)
    per: list[set[float]] = [set() for _ in range(n_features)]
    for t in model["learner"]["gradient_booster"]["model"]["trees"]:
        for left, f, c in zip(t["left_children"], t["split_indices"], t["split_conditions"], strict=True):
            if left != -1:
                per[f].add(float(np.float32(c)))
    return [np.array(sorted(s)) for s in per]


def make_golden(
    out: Path,
    *,
    n_features: int = 20,
    n_int: int = 8,
    trees: int = 200,
    depth: int = 7,
    train_rows: int = 20_000,
    test_rows: int = 12_000,
    seed: int = 5,
) -> dict[str, object]:
    """Train the synthetic golden model and write model.txt.gz, rows.csv.gz and manifest.json to out."""
    rng = np.random.default_rng(seed)
    names = [f"f{i:02d}_{'int' if i < n_int else 'num'}" for i in range(n_features)]
    x = _synthetic(rng, train_rows, n_int, n_features - n_int)
    y = _target(rng, x)
    params = {
        "objective": "reg:squarederror",
        "tree_method": "hist",
        "max_depth": depth,
        "eta": 0.1,
        "nthread": 2,
        "seed": seed,
        "max_bin": 64,
    }
    booster = xgb.train(params, xgb.DMatrix(x, y, feature_names=names), trees)

    # Inputs: fresh rows, then a third of the cells replaced by a split threshold of their feature
    # or the float32 just below one (both sides of every `<`), keeping ~5% missing.
    xt = _synthetic(rng, test_rows, n_int, n_features - n_int)
    thr = _thresholds(booster, n_features)
    for j in range(n_features):
        if thr[j].size == 0:
            continue
        pick = (rng.random(test_rows) < 0.33) & ~np.isnan(xt[:, j])
        vals = rng.choice(thr[j], size=int(pick.sum())).astype(np.float32)
        below = rng.random(vals.size) < 0.3
        vals[below] = np.nextafter(vals[below], np.float32(-np.inf))
        xt[pick, j] = vals.astype(np.float64)
    margin = booster.predict(xgb.DMatrix(xt, feature_names=names), output_margin=True)

    text = to_lightgbm_text(booster, names)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.txt.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    write_rows_csv_gz(out / "rows.csv.gz", names, xt, margin)
    manifest = golden_manifest(text, names, GOLDEN_SCHEMA, "log1p", test_rows, booster)
    manifest["generator"] = "storecast-trainer golden (storecast_trainer.golden.make_golden)"
    manifest["params"] = params
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def make_production_golden(
    out: Path,
    ex: Examples,
    *,
    trees: int = 500,
    stores_mod: int = 20,
    rows: int = 5000,
    seed: int = 7,
) -> dict[str, object]:
    """Train a production-shaped model (the real feature schema, ``trees`` trees with the default
    depth and a low learning rate) on the real examples of every ``stores_mod``-th store, and write
    its golden set (model.txt.gz, rows.csv.gz, manifest.json) to out. Rows are real examples of
    those stores after the training days (missing values as they occur), plus an all-missing row."""
    from .train import TrainParams, booster_params

    sub = ex.take(ex.store % stores_mod == 0)
    cut = int(np.quantile(sub.date, 0.9))
    fit_rows, test_rows = sub.take(sub.date <= cut), sub.take(sub.date > cut)
    p = TrainParams(eta=0.05, seed=seed)
    params = {**booster_params(p, fit_rows), "seed": seed}
    booster = xgb.train(
        params,
        xgb.QuantileDMatrix(fit_rows.x, np.log1p(fit_rows.label), feature_names=ex.names, max_bin=p.max_bin),
        trees,
    )
    checked = export_checked(booster, ex.names, test_rows.x[:rows], seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.txt.gz").write_bytes(gzip.compress(checked.text.encode(), mtime=0))
    write_rows_csv_gz(out / "rows.csv.gz", ex.names, checked.rows, checked.margin)
    manifest = golden_manifest(checked.text, ex.names, ex.schema, "log1p", len(checked.rows), booster)
    manifest["generator"] = (
        "storecast-trainer golden --production (storecast_trainer.golden.make_production_golden) "
        f"on the Rossmann training examples of stores with id % {stores_mod} == 0"
    )
    manifest["params"] = params
    manifest["export_max_rel_diff"] = checked.max_rel_diff
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def go_parity(
    storecast_bin: str, checked: CheckedExport, names: list[str], schema: str, booster: xgb.Booster
) -> float:
    """Replay the golden rows of a checked export through Go's leaves (``storecast golden DIR``,
    the code serving loads models with); return the largest relative difference, or NaN when the
    binary predates the golden command (an older build: the check is skipped, with a warning).
    Raises RuntimeError when Go refuses the model or disagrees with XGBoost."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        dp = Path(d)
        (dp / "model.txt").write_text(checked.text)
        write_rows_csv_gz(dp / "rows.csv.gz", names, checked.rows, checked.margin)
        manifest = golden_manifest(checked.text, names, schema, "log1p", len(checked.rows), booster)
        (dp / "manifest.json").write_text(json.dumps(manifest))
        return go_parity_dir(storecast_bin, dp)


def go_parity_dir(storecast_bin: str, golden_dir: Path) -> float:
    """Run ``storecast golden`` on a folder holding model.txt, rows.csv.gz and manifest.json (see
    go_parity); NaN when the binary has no golden command, RuntimeError when Go refuses or differs."""
    import logging
    import subprocess

    try:
        probe = subprocess.run(
            [storecast_bin, "golden", "--help"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as e:
        raise RuntimeError(f"go parity check: cannot run {storecast_bin}: {e}") from e
    if probe.returncode != 0:
        logging.getLogger(__name__).warning(
            "go parity check skipped: %s has no golden command (rebuild it: make build)", storecast_bin
        )
        return math.nan
    try:
        r = subprocess.run(
            [storecast_bin, "golden", str(golden_dir)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except OSError as e:
        raise RuntimeError(f"go parity check: cannot run {storecast_bin}: {e}") from e
    if r.returncode != 0:
        raise RuntimeError(f"go parity check failed: {(r.stderr or r.stdout).strip()[-500:]}")
    return float(json.loads(r.stdout)["max_rel_diff"])


def read_rows_csv_gz(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Read what write_rows_csv_gz wrote: the feature names, the rows (NaN where empty) and the
    ``xgb_margin`` column."""
    text = gzip.decompress(path.read_bytes()).decode()
    rd = csv.reader(io.StringIO(text))
    header = next(rd)
    if not header or header[-1] != "xgb_margin":
        raise ValueError(f"{path.name}: the last column is not xgb_margin")
    recs = [[math.nan if v == "" else float(v) for v in rec] for rec in rd if rec]
    arr = np.array(recs, dtype=np.float64).reshape(len(recs), len(header))
    return header[:-1], arr[:, :-1], arr[:, -1]


def replay_parity(text: str, x: np.ndarray, margin: np.ndarray) -> float:
    """The largest relative difference between the export's predictions on x (leaves' semantics)
    and the golden margins; RuntimeError above PARITY_TOLERANCE (the check export_checked runs)."""
    diff = np.abs(lightgbm_text_predict(text, x) - margin) / np.maximum(np.abs(margin), 1e-12)
    worst = float(diff.max()) if diff.size else 0.0
    if worst > PARITY_TOLERANCE:
        raise RuntimeError(f"export parity check failed: max relative difference {worst:.3g}")
    return worst
