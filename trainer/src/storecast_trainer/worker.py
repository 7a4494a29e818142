"""The training worker: consumes train requests, trains, tracks in MLflow, publishes results.

For each topics.TrainRequest on ``train_requests``:

1. publish TrainResult "running";
2. capture the high watermarks of ``training_examples`` and read it from the beginning up to them
   (latest value per key: it is compacted); keep the request's store and date range;
3. validation window = last ``val_days`` days of the range; ask the Go features processor for each
   store's snapshot as of the day before the window (``feature_snapshot_requests`` →
   ``feature_snapshots``); train on days before the window with early stopping on it; refit on
   the whole range;
4. export to LightGBM text and check it against XGBoost on golden rows; log the run to MLflow,
   register a version (alias challenger), move champion by the promotion rule;
5. on promotion publish topics.ModelEvent to ``models``; publish TrainResult "succeeded" (or
   "failed" with the reason at any step).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import math
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import xgboost as xgb
from confluent_kafka import Consumer, KafkaException

from . import kafka_io, train
from .data import Examples, decode_examples, filter_examples, format_day, latest_per_key, parse_day
from .export import lightgbm_text_predict, to_lightgbm_text
from .golden import FORMAT, golden_manifest, write_rows_csv_gz
from .metrics import rmspe
from .names import Names
from .prom import WorkerMetrics
from .promotion import Decision, Window, decide

log = logging.getLogger(__name__)

TRAIN_REQUEST_VERSION = 1
TRAIN_RESULT_VERSION = 1
MODEL_EVENT_VERSION = 1
SNAPSHOT_REQUEST_VERSION = 1
TRANSFORM = "log1p"
#: Largest artifact carried inside a ModelEvent (base64 adds a third; the topic allows 16 MiB).
MAX_INLINE_ARTIFACT = 11_000_000
#: Share of stores whose snapshot must answer for serving-like validation.
MIN_SNAPSHOT_SHARE = 0.9
#: The largest relative difference tolerated between the export and XGBoost.
PARITY_TOLERANCE = 1e-4


@dataclass
class Config:
    """What the worker needs; see cli.py for flags and environment variables."""

    brokers: str = "127.0.0.1:9092"
    tracking_uri: str | None = "http://127.0.0.1:5050"
    names: Names = field(default_factory=Names)
    snapshot_timeout: float = 180.0
    read_timeout: float = 900.0
    #: Appended to registered model names (set with the names suffix, so tests stay apart).
    model_suffix: str = ""


@dataclass
class Request:
    """A decoded topics.TrainRequest."""

    id: str
    requested_by: str = ""
    store: int | None = None
    start: int | None = None
    end: int | None = None
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def decode(cls, raw: bytes, key: bytes | None = None) -> Request:
        """Decode and check a request; RequestError names what is wrong."""
        try:
            d = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise train.RequestError(f"request is not JSON: {e}") from None
        if not isinstance(d, dict):
            raise train.RequestError("request is not a JSON object")
        rid = d.get("id") or (key.decode(errors="replace") if key else "")
        if not rid:
            raise train.RequestError("request has no id")
        r = cls(id=str(rid), requested_by=str(d.get("requested_by", "")))
        if d.get("v") != TRAIN_REQUEST_VERSION:
            raise _Failed(r, f"schema version {d.get('v')!r} is not supported (want {TRAIN_REQUEST_VERSION})")
        try:
            r.store = int(d["store_id"]) if d.get("store_id") else None
            r.start = parse_day(d["start_date"]) if d.get("start_date") else None
            r.end = parse_day(d["end_date"]) if d.get("end_date") else None
        except (TypeError, ValueError) as e:
            raise _Failed(r, f"bad store or date: {e}") from None
        if r.store is not None and r.store < 1:
            raise _Failed(r, f"store id {r.store} is not positive")
        if r.start is not None and r.end is not None and r.end < r.start:
            raise _Failed(r, "end_date is before start_date")
        params = d.get("params") or {}
        if not isinstance(params, dict):
            raise _Failed(r, "params is not an object")
        r.params = {str(k): str(v) for k, v in params.items()}
        return r


class _Failed(train.RequestError):
    """A RequestError that knows its request (so the failure can be published under its id)."""

    def __init__(self, req: Request, reason: str) -> None:
        super().__init__(reason)
        self.req = req


@dataclass
class Outcome:
    """What one request produced; becomes a TrainResult."""

    status: str
    reason: str = ""
    run_id: str = ""
    model_name: str = ""
    version: str = ""
    promoted: bool = False
    metrics: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    val_window: str = ""
    decision: str = ""


def now_rfc3339() -> str:
    """Now in UTC, RFC 3339 (Go's time.Time JSON)."""
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def finite(m: Mapping[str, float]) -> dict[str, float]:
    """Drop NaN and infinite values (JSON has no NaN)."""
    return {k: float(v) for k, v in m.items() if isinstance(v, int | float) and math.isfinite(v)}


class Trainer:
    """Runs train requests against Kafka and (optionally) MLflow."""

    def __init__(self, cfg: Config, metrics: WorkerMetrics | None = None) -> None:
        self.cfg = cfg
        self.names = cfg.names
        self.metrics = metrics
        self.producer = kafka_io.producer(cfg.brokers)
        self._tracker: Any = None

    def tracker(self) -> Any:
        """The MLflow tracker (connected on first use), or None without a tracking URI."""
        if self._tracker is None and self.cfg.tracking_uri:
            from .tracking import Tracker

            self._tracker = Tracker(self.cfg.tracking_uri)
        return self._tracker

    # ---- Kafka side

    def publish_result(self, req_id: str, o: Outcome) -> None:
        """Publish a TrainResult for req_id."""
        value: dict[str, Any] = {
            "v": TRAIN_RESULT_VERSION,
            "id": req_id,
            "status": o.status,
            "promoted": o.promoted,
            "at": now_rfc3339(),
        }
        for k, v in (("reason", o.reason), ("run_id", o.run_id), ("model_name", o.model_name)):
            if v:
                value[k] = v
        if o.version:
            value["model_version"] = o.version
        if o.metrics:
            value["metrics"] = finite(o.metrics)
        if o.rows:
            value["rows"] = o.rows
        kafka_io.produce_json(self.producer, self.names.train_results, req_id, value)

    def read_examples(self) -> tuple[Examples, dict[str, Any]]:
        """Read training_examples up to the high watermarks captured now (latest value per key)."""
        c = kafka_io.reader(self.cfg.brokers)
        try:
            t0 = time.perf_counter()
            snap = kafka_io.watermarks(c, self.names.training_examples)
            records = 0

            def counted() -> Any:
                nonlocal records
                for kv in kafka_io.read_until(c, snap, timeout=self.cfg.read_timeout):
                    records += 1
                    yield kv

            latest = latest_per_key(counted())
            t1 = time.perf_counter()
            ex = decode_examples(latest.values())
            t2 = time.perf_counter()
        finally:
            c.close()
        desc = {
            **snap.describe(),
            "records_read": records,
            "keys": len(latest),
            "read_seconds": round(t1 - t0, 3),
            "decode_seconds": round(t2 - t1, 3),
        }
        log.info(
            "read %d records, %d keys of %s in %.1fs (+%.1fs decode)",
            records,
            len(latest),
            snap.topic,
            t1 - t0,
            t2 - t1,
        )
        return ex, desc

    def snapshots(
        self, stores: list[int], window: Window, req_id: str
    ) -> tuple[Examples | None, dict[str, Any]]:
        """Ask the features processor for each store's examples of the window as of window.as_of.

        Returns the examples (None when fewer than MIN_SNAPSHOT_SHARE of the stores answered
        without error) and a description.
        """
        snap_id = f"{req_id}-val-{uuid.uuid4().hex[:8]}"
        c = kafka_io.reader(self.cfg.brokers, "storecast-trainer-snapshots")
        got: dict[int, dict[str, Any]] = {}
        errors: dict[int, str] = {}
        t0 = time.perf_counter()
        try:
            start = kafka_io.watermarks(c, self.names.snapshots)
            n = len(kafka_io.partitions_of(c, self.names.snapshot_requests))
            want = set(stores)
            for s in stores:
                key = str(s)
                self.producer.produce(
                    self.names.snapshot_requests,
                    key=key.encode(),
                    value=orjson.dumps(
                        {
                            "v": SNAPSHOT_REQUEST_VERSION,
                            "request_id": snap_id,
                            "store": s,
                            "as_of": format_day(window.as_of),
                            "from": format_day(window.first),
                            "to": format_day(window.last),
                        }
                    ),
                    partition=kafka_io.goka_partition(key, n),
                )
                self.producer.poll(0)
            left = self.producer.flush(30)
            if left:
                raise TimeoutError(f"{left} snapshot requests not delivered")

            def on_record(_key: bytes | None, value: bytes | None) -> bool:
                if value is None:
                    return False
                try:
                    d = orjson.loads(value)
                except orjson.JSONDecodeError:
                    return False
                if d.get("request_id") != snap_id or d.get("store") not in want:
                    return False
                s = int(d["store"])
                if d.get("error"):
                    errors[s] = str(d["error"])
                else:
                    got[s] = d
                return len(got) + len(errors) >= len(want)

            try:
                kafka_io.tail(c, self.names.snapshots, start, on_record, self.cfg.snapshot_timeout)
            except TimeoutError as e:
                log.warning("snapshots: %s", e)
        finally:
            c.close()
        desc: dict[str, Any] = {
            "snapshot_request_id": snap_id,
            "stores_asked": len(stores),
            "stores_answered": len(got),
            "stores_failed": len(errors),
            "snapshot_seconds": round(time.perf_counter() - t0, 3),
        }
        if errors:
            desc["first_errors"] = dict(list(errors.items())[:5])
        if not stores or len(got) < MIN_SNAPSHOT_SHARE * len(stores):
            return None, desc
        rows = [e for d in got.values() for e in d.get("examples", [])]
        return decode_examples(rows), desc

    # ---- one request

    def run(self, req: Request, *, publish: bool = True, track: bool = True) -> Outcome:
        """Serve one request end to end; never raises for a request's own failures."""
        t0 = time.perf_counter()
        name = model_name(req.store, self.cfg.model_suffix)
        if publish:
            self.publish_result(req.id, Outcome(status="running", model_name=name))
        try:
            o = self._run(req, name, publish=publish, track=track)
        except train.RequestError as e:
            o = Outcome(status="failed", reason=str(e), model_name=name)
        except Exception as e:
            log.exception("request %s failed", req.id)
            where = "mlflow unavailable" if _from_mlflow(e) else "internal error"
            o = Outcome(status="failed", reason=f"{where}: {type(e).__name__}: {e}"[:1000], model_name=name)
        o.timings["total_seconds"] = time.perf_counter() - t0
        if self.metrics:
            self.metrics.observe(o)
        if publish:
            self.publish_result(req.id, o)
        log.info(
            "request %s: %s %s (%.1fs)", req.id, o.status, o.reason or o.decision, o.timings["total_seconds"]
        )
        return o

    def _run(self, req: Request, name: str, *, publish: bool, track: bool) -> Outcome:
        p = train.TrainParams.from_request(req.params)
        timings: dict[str, float] = {}
        t = time.perf_counter()
        everything, dataset = self.read_examples()
        timings["read_seconds"] = time.perf_counter() - t
        ex = filter_examples(everything, store=req.store, start=req.start, end=req.end)
        del everything
        if len(ex) == 0:
            raise train.RequestError(
                f"no examples in range (store {req.store or 'all'}, "
                f"{format_day(req.start) if req.start is not None else '-'}.."
                f"{format_day(req.end) if req.end is not None else '-'})"
            )
        first, last = ex.date_range()  # type: ignore[misc]
        # The range ends at the last day with data (a request may name a later end date).
        end = min(req.end, last) if req.end is not None else last
        window = train.validation_window(end, p.val_days)
        if first >= window.first:
            raise train.RequestError(
                f"range {format_day(first)}..{format_day(end)} leaves no training days before the "
                f"validation window {window.label()}"
            )
        stores = sorted(int(s) for s in np.unique(ex.store))

        # Validation rows as serving sees them (feature snapshots as of the day before the window).
        t = time.perf_counter()
        val, snap_desc = self.snapshots(stores, window, req.id)
        timings["snapshot_seconds"] = time.perf_counter() - t
        mode = "snapshot"
        if val is not None:
            val = filter_examples(val, store=req.store, start=window.first, end=window.last)
            if val.names != ex.names:
                raise train.RequestError(
                    f"feature snapshots ({val.schema}, {len(val.names)} features) do not match the "
                    f"training examples ({ex.schema}, {len(ex.names)} features)"
                )
        if val is None or len(val) == 0:
            # Fallback: the window's own examples whose features are as of a day before the window.
            mode = "examples_asof_before_window"
            val = ex.take((ex.date >= window.first) & (ex.as_of < window.first))
            log.warning(
                "request %s: serving-like snapshots unavailable (%s); validating on %d examples "
                "with as-of before the window",
                req.id,
                snap_desc,
                len(val),
            )
        train.check_validation_rows(val, window)
        train_rows = train.training_rows(ex, window)
        log.info(
            "request %s: %d rows in range, %d before window %s, %d validation rows (%s)",
            req.id,
            len(ex),
            len(train_rows),
            window.label(),
            len(val),
            mode,
        )

        cpu0 = time.process_time()
        fit = train.fit_validate(train_rows, val, p)
        timings["fit_seconds"] = fit.seconds
        log.info(
            "request %s: validated in %.1fs: %d rounds, val_rmspe %.5f",
            req.id,
            fit.seconds,
            fit.rounds,
            fit.metrics["val_rmspe"],
        )
        final, timings["refit_seconds"] = train.refit(ex, p, fit.rounds)
        log.info("request %s: refit on %d rows in %.1fs", req.id, len(ex), timings["refit_seconds"])
        timings["train_seconds"] = timings["fit_seconds"] + timings["refit_seconds"]
        # CPU time of fit + refit (all threads): a load-independent measure on a shared machine.
        timings["train_cpu_seconds"] = time.process_time() - cpu0

        # Export and check it against XGBoost on golden rows before anything is published.
        text = to_lightgbm_text(final, ex.names)
        golden_x = _golden_rows(val.x, seed=p.seed)
        margin = final.predict(xgb.DMatrix(golden_x, feature_names=ex.names), output_margin=True)
        diff = np.abs(lightgbm_text_predict(text, golden_x) - margin) / np.maximum(np.abs(margin), 1e-12)
        if float(diff.max()) > PARITY_TOLERANCE:
            raise RuntimeError(f"export parity check failed: max relative difference {diff.max():.3g}")

        metrics_ = {
            **fit.metrics,
            "best_rounds": float(fit.rounds),
            "train_rows": float(len(train_rows)),
            "rows": float(len(ex)),
            "export_max_rel_diff": float(diff.max()),
            **{f"{k}": float(v) for k, v in timings.items()},
        }
        dataset.update(
            {
                "store": req.store or "all",
                "date_range": [format_day(first), format_day(last)],
                "rows_in_range": len(ex),
                "train_rows": len(train_rows),
                "val_rows": len(val),
                "val_mode": mode,
                "stores": len(stores),
                "schema": ex.schema,
                "feature_names": ex.names,
                "dropped": ex.dropped,
                **snap_desc,
            }
        )
        o = Outcome(
            status="succeeded",
            model_name=name,
            metrics=finite(fit.metrics),
            rows=len(ex),
            timings=timings,
            val_window=window.label(),
        )
        if not track or self.tracker() is None:
            o.reason = "not tracked (no MLflow)"
            return o
        return self._track_and_promote(
            req,
            name,
            p,
            ex,
            val,
            window,
            mode,
            fit,
            final,
            text,
            golden_x,
            margin,
            metrics_,
            dataset,
            o,
            publish=publish,
            trained_through=end,
        )

    def _track_and_promote(
        self,
        req: Request,
        name: str,
        p: train.TrainParams,
        ex: Examples,
        val: Examples,
        window: Window,
        mode: str,
        fit: train.Fit,
        final: xgb.Booster,
        text: str,
        golden_x: np.ndarray,
        margin: np.ndarray,
        metrics_: dict[str, float],
        dataset: dict[str, Any],
        o: Outcome,
        *,
        publish: bool,
        trained_through: int,
    ) -> Outcome:
        import mlflow

        from .plots import validation_plot
        from .tracking import FEATURES, VALIDATION_MODEL, champion_for_decision, window_params

        tr = self.tracker()
        artifact = text.encode()
        sha = hashlib.sha256(artifact).hexdigest()
        tags = {"request_id": req.id, "requested_by": req.requested_by, "model_name": name}
        with tr.start_run(f"train-{req.id}", tags) as run:
            o.run_id = run.info.run_id
            mlflow.log_params(
                {
                    **{k: str(v) for k, v in p.__dict__.items()},
                    **window_params(window),
                    "store": str(req.store or "all"),
                    "start_date": format_day(req.start) if req.start is not None else "",
                    "end_date": format_day(trained_through),
                    "val_mode": mode,
                    "feature_schema": ex.schema,
                    "features": str(len(ex.names)),
                    "target_transform": TRANSFORM,
                    "topic": self.names.training_examples,
                    "xgboost_version": xgb.__version__,
                }
            )
            mlflow.log_metrics(finite(metrics_))
            for h, v in sorted(fit.per_horizon.items()):
                if math.isfinite(v):
                    mlflow.log_metric("val_rmspe_by_horizon", v, step=h)
            for i, v in enumerate(fit.history):
                if i % 10 == 0 or i == len(fit.history) - 1:
                    mlflow.log_metric("val_rmse_log1p", float(v), step=i)
            mlflow.log_dict(dataset, "dataset.json")
            mlflow.log_dict({"feature_names": ex.names, "feature_schema": ex.schema}, FEATURES)
            mlflow.log_dict(
                dict(sorted(fit.importance.items(), key=lambda kv: -kv[1])), "feature_importance.json"
            )
            mlflow.log_dict(
                {str(h): v for h, v in sorted(fit.per_horizon.items())}, "val_rmspe_by_horizon.json"
            )
            with tempfile.TemporaryDirectory() as d:
                dp = Path(d)
                (dp / "model.txt").write_text(text)
                manifest = golden_manifest(text, ex.names, ex.schema, TRANSFORM, len(golden_x), final)
                (dp / "manifest.json").write_text(json.dumps(manifest, indent=2))
                mlflow.log_artifact(str(dp / "model.txt"), "export")
                mlflow.log_artifact(str(dp / "manifest.json"), "export")
                write_rows_csv_gz(dp / "rows.csv.gz", ex.names, golden_x, margin)
                mlflow.log_artifact(str(dp / "rows.csv.gz"), "golden")
                mlflow.log_artifact(str(dp / "manifest.json"), "golden")
                fit.booster.save_model(str(dp / "model.json"))
                mlflow.log_artifact(str(dp / "model.json"), VALIDATION_MODEL.rsplit("/", 1)[0])
                validation_plot(
                    dp / "validation.png",
                    val.date,
                    val.label,
                    fit.pred,
                    fit.per_horizon,
                    f"{name}: validation {window.label()} (RMSPE {fit.metrics['val_rmspe']:.4f})",
                )
                mlflow.log_artifact(str(dp / "validation.png"), "validation")
            info = mlflow.xgboost.log_model(final, name="model", model_format="json")
            version = tr.register(
                name,
                info.model_uri,
                o.run_id,
                f"request {req.id} by {req.requested_by or '?'}; validation {window.label()} ({mode})",
                getattr(info, "model_id", None),
            )
            o.version = version

            champ = tr.champion(name)

            def rescore(run_id: str) -> float | None:
                b = tr.validation_model(run_id)
                if b is None:
                    return None
                return rmspe(val.label, np.expm1(b.predict(xgb.DMatrix(val.x, feature_names=ex.names))))

            decision: Decision = decide(
                fit.metrics["val_rmspe"], window, champion_for_decision(champ, ex.names, window, rescore)
            )
            o.decision = decision.reason
            mlflow.set_tags(
                {
                    "promotion": decision.reason,
                    "promoted": str(decision.promote).lower(),
                    "model_version": version,
                }
            )
            if decision.champion_rmspe is not None:
                mlflow.log_metric("champion_val_rmspe_on_window", decision.champion_rmspe)
            tr.set_version_tags(
                name,
                version,
                {
                    "val_rmspe": fit.metrics["val_rmspe"],
                    "val_window": window.label(),
                    "sha256": sha,
                    "format": FORMAT,
                },
            )
            if decision.promote:
                tr.promote(name, version)
                o.promoted = True
                if publish:
                    self.publish_model(
                        name, version, o.run_id, fit.metrics, ex, artifact, sha, trained_through
                    )
                if self.metrics:
                    self.metrics.champion(name, fit.metrics["val_rmspe"])
        return o

    def publish_model(
        self,
        name: str,
        version: str,
        run_id: str,
        metrics_: Mapping[str, float],
        ex: Examples,
        artifact: bytes,
        sha: str,
        trained_through: int,
    ) -> None:
        """Publish the promoted model on the compacted models topic, keyed by its name."""
        ev: dict[str, Any] = {
            "v": MODEL_EVENT_VERSION,
            "name": name,
            "version": version,
            "run_id": run_id,
            "metrics": finite(metrics_),
            "feature_names": ex.names,
            "feature_schema": ex.schema,
            "format": FORMAT,
            "target_transform": TRANSFORM,
            "sha256": sha,
            "trained_through": format_day(trained_through),
            "at": now_rfc3339(),
        }
        if len(artifact) <= MAX_INLINE_ARTIFACT:
            ev["artifact"] = base64.b64encode(artifact).decode()
        else:
            ev["artifact_uri"] = f"runs:/{run_id}/export/model.txt"
            log.warning(
                "model %s v%s: artifact of %d bytes is too large to inline; publishing its URI",
                name,
                version,
                len(artifact),
            )
        kafka_io.produce_json(self.producer, self.names.models, name, ev)


def _from_mlflow(e: BaseException) -> bool:
    """Whether e (or its cause) comes from MLflow or its HTTP client: the server is down or refused."""
    while e is not None:
        mod = type(e).__module__
        if mod.startswith(("mlflow", "requests", "urllib3")):
            return True
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return False


def model_name(store: int | None, suffix: str = "") -> str:
    """The registered model name for a request's store (see tracking.model_name)."""
    from .tracking import model_name as mn

    return mn(store, suffix)


def _golden_rows(x: np.ndarray, seed: int, n: int = 2000) -> np.ndarray:
    """Up to n validation rows plus an all-missing row: the inputs of the run's golden file."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(x.shape[0], size=min(n, x.shape[0]), replace=False) if x.shape[0] else np.array([], int)
    rows = x[np.sort(idx)]
    return np.concatenate([rows, np.full((1, x.shape[1]), np.nan)])


def serve(cfg: Config, metrics: WorkerMetrics | None) -> int:
    """Consume train requests until SIGINT/SIGTERM; commit each request's offset once it is answered."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping after the current request", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    trainer = Trainer(cfg, metrics)
    if metrics is not None and cfg.tracking_uri:
        # The champion's RMSPE gauge starts from the registry, not from the first promotion.
        try:
            name = model_name(None, cfg.model_suffix)
            champ = trainer.tracker().champion(name)
            if champ is not None and math.isfinite(champ.val_rmspe):
                metrics.champion_rmspe.labels(name).set(champ.val_rmspe)
        except Exception as e:
            log.warning("mlflow: could not read the champion at startup: %s", e)
            trainer._tracker = None
    c = Consumer(
        {
            "bootstrap.servers": cfg.brokers,
            "group.id": cfg.names.trainer_group,
            "client.id": "storecast-trainer",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            # A training run may take many minutes between polls.
            "max.poll.interval.ms": 3_600_000,
        }
    )
    c.subscribe([cfg.names.train_requests])
    log.info("worker: consuming %s as group %s", cfg.names.train_requests, cfg.names.trainer_group)
    try:
        while not stop.is_set():
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error() is not None:
                if m.error().fatal():
                    raise KafkaException(m.error())
                # e.g. the topic does not exist yet (topics init runs after the stack starts).
                log.warning("consumer: %s", m.error())
                stop.wait(1.0)
                continue
            handle_message(trainer, m.key(), m.value())
            c.commit(message=m, asynchronous=False)
    finally:
        c.close()
    return 0


def handle_message(trainer: Trainer, key: bytes | None, value: bytes | None) -> Outcome | None:
    """Decode one train_requests record and serve it; an undecodable request is answered as failed."""
    if value is None:
        return None
    try:
        req = Request.decode(value, key)
    except _Failed as e:
        o = Outcome(
            status="failed", reason=str(e), model_name=model_name(e.req.store, trainer.cfg.model_suffix)
        )
        trainer.publish_result(e.req.id, o)
        if trainer.metrics:
            trainer.metrics.observe(o)
        return o
    except train.RequestError as e:
        rid = key.decode(errors="replace") if key else ""
        log.error("undecodable train request (key %r): %s", rid, e)
        if rid:
            trainer.publish_result(rid, Outcome(status="failed", reason=str(e)))
        return None
    return trainer.run(req)


def bench_summary(o: Outcome) -> dict[str, Any]:
    """bench/results/train.json from an outcome (null where a failed run measured nothing)."""

    def num(v: float | None, digits: int) -> float | None:
        return round(v, digits) if v is not None and math.isfinite(v) else None

    return {
        "rows": o.rows,
        "train_seconds": num(o.timings.get("train_seconds"), 2),
        "val_rmspe": num(o.metrics.get("val_rmspe"), 5),
        "val_window": o.val_window,
        "status": o.status,
        "reason": o.reason,
        "timings": {k: num(v, 2) for k, v in o.timings.items()},
        "note": (
            "train_seconds = wall time of the validated fit (early stopping on the window) plus the "
            "refit on the whole range, nthread=2, hist; reading and decoding the topic are in timings. "
            "train_cpu_seconds is the CPU time of the same (all threads): on a busy shared machine it "
            "is the steadier measure."
        ),
        "metrics": {k: num(v, 5) for k, v in o.metrics.items()},
    }
