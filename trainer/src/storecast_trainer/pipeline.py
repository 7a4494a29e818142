"""One train request end to end:

1. publish TrainResult "running";
2. read ``training_examples`` up to the high watermarks (reading.py); keep the request's store and
   date range;
3. validation window = last ``val_days`` days of the range (which ends a week after the last
   example: an example is emitted once complete); feature snapshots as of the day before
   the window (snapshots.py); train on days before the window with early stopping on it; refit on
   the whole range (train.py);
4. export to LightGBM text and check it against XGBoost on golden rows (golden.py); log the run to
   MLflow and register a version (runlog.py, tracking.py), move champion by the promotion rule
   (promotion.py);
5. on promotion publish the ModelEvent; publish TrainResult "succeeded" (or "failed" with the reason
   at any step) (publishing.py).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xgboost as xgb

from . import drift, kafka_io, train
from .data import EXAMPLE_COMPLETE_AFTER_DAYS, Examples, filter_examples, format_day
from .golden import FORMAT, export_checked, go_parity
from .metrics import rmspe
from .names import Names, model_name
from .outcome import Outcome, finite
from .promotion import ChampionRun, Window, champion_for_decision, decide
from .publishing import Publisher
from .reading import read_examples
from .request import Request, RequestError
from .snapshots import request_snapshots

if TYPE_CHECKING:
    from .prom import WorkerMetrics
    from .runlog import RunRecord
    from .tracking import Tracker

log = logging.getLogger(__name__)


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
    #: Folder of the examples cache (reading.py); None reads the whole topic every time.
    cache_dir: Path | None = None
    #: The storecast binary: every export's golden rows are replayed through Go's leaves with
    #: `storecast golden` before anything is published ("" skips the check).
    storecast_bin: str = ""
    #: Training parameters every request starts from; a request's own params override them.
    default_params: dict[str, str] = field(default_factory=dict)


class Trainer:
    """Runs train requests against Kafka and (optionally) MLflow."""

    def __init__(self, cfg: Config, metrics: WorkerMetrics | None = None) -> None:
        self.cfg = cfg
        self.names = cfg.names
        self.metrics = metrics
        self.producer = kafka_io.producer(cfg.brokers)
        self.publish = Publisher(self.producer, cfg.names)
        self._tracker: Tracker | None = None

    def tracker(self) -> Tracker | None:
        """The MLflow tracker (connected on first use), or None without a tracking URI."""
        if self._tracker is None and self.cfg.tracking_uri:
            from .tracking import Tracker

            self._tracker = Tracker(self.cfg.tracking_uri)
        return self._tracker

    def forget_tracker(self) -> None:
        """Drop the tracker so the next use reconnects."""
        self._tracker = None

    def model_name(self, store: int | None) -> str:
        """The registered model name for a request's store (with the configured suffix)."""
        return model_name(store, self.cfg.model_suffix)

    def run(self, req: Request, *, publish: bool = True, track: bool = True) -> Outcome:
        """Serve one request end to end; never raises for a request's own failures."""
        t0 = time.perf_counter()
        name = self.model_name(req.store)
        if publish:
            self.publish.result(req.id, Outcome(status="running", model_name=name))
        try:
            o = self._run(req, name, publish=publish, track=track)
        except RequestError as e:
            o = Outcome(status="failed", reason=str(e), model_name=name)
        except Exception as e:
            log.exception("request %s failed", req.id)
            where = "mlflow unavailable" if from_mlflow(e) else "internal error"
            o = Outcome(status="failed", reason=f"{where}: {type(e).__name__}: {e}"[:1000], model_name=name)
        o.timings["total_seconds"] = time.perf_counter() - t0
        if self.metrics:
            self.metrics.observe(o)
        if publish:
            self.publish.result(req.id, o)
        log.info(
            "request %s: %s %s (%.1fs)", req.id, o.status, o.reason or o.decision, o.timings["total_seconds"]
        )
        return o

    def _run(self, req: Request, name: str, *, publish: bool, track: bool) -> Outcome:
        p = train.request_params(self.cfg.default_params, req.params)
        timings: dict[str, float] = {}
        t = time.perf_counter()
        everything, dataset = read_examples(
            self.cfg.brokers, self.names.training_examples, self.cfg.read_timeout, self.cfg.cache_dir
        )
        timings["read_seconds"] = time.perf_counter() - t
        ex = filter_examples(everything, store=req.store, start=req.start, end=req.end)
        del everything
        if len(ex) == 0:
            raise RequestError(
                f"no examples in range (store {req.store or 'all'}, "
                f"{format_day(req.start) if req.start is not None else '-'}.."
                f"{format_day(req.end) if req.end is not None else '-'})"
            )
        first, last = ex.date_range()  # type: ignore[misc]
        # The range ends at the last day with data (a request may name an earlier end date): the
        # log holds days up to a week after the last example, which is not complete before then.
        # The validation window reaches them through the snapshots the processor answers.
        data_end = last + EXAMPLE_COMPLETE_AFTER_DAYS
        end = min(req.end, data_end) if req.end is not None else data_end
        window = train.validation_window(end, p.val_days)
        inner = train.inner_window(window, p.val_days)
        if first >= inner.first:
            raise RequestError(
                f"range {format_day(first)}..{format_day(end)} leaves no training days before the "
                f"inner window {inner.label()} (the reported window is {window.label()})"
            )
        stores = sorted(int(s) for s in np.unique(ex.store))

        t = time.perf_counter()
        val, mode, snap_desc = self._validation_rows(req, ex, stores, window)
        inner_val, inner_mode, inner_desc = self._validation_rows(req, ex, stores, inner)
        timings["snapshot_seconds"] = time.perf_counter() - t
        train.check_validation_rows(val, window)
        train.check_validation_rows(inner_val, inner)
        inner_rows = train.training_rows(ex, inner)
        train_rows = train.training_rows(ex, window)
        log.info(
            "request %s: %d rows in range; inner: %d before %s, %d rows (%s); reported: %d before %s, "
            "%d rows (%s)",
            req.id,
            len(ex),
            len(inner_rows),
            inner.label(),
            len(inner_val),
            inner_mode,
            len(train_rows),
            window.label(),
            len(val),
            mode,
        )

        cpu0 = time.process_time()
        v = train.validate(inner_rows, inner_val, train_rows, val, p)
        timings.update(v.seconds)
        del inner_rows, train_rows
        log.info(
            "request %s: %d trees (inner %s rmspe %.5f, calibration %.4f), reported %s rmspe %.5f, "
            "interval coverage %.3f",
            req.id,
            v.rounds,
            inner.label(),
            v.inner_rmspe,
            v.calibration,
            window.label(),
            v.metrics["val_rmspe"],
            v.metrics["interval_coverage_80"],
        )
        t = time.perf_counter()
        members, _ = train.refit(ex, p, v.rounds)
        final = train.combine(members, v.outer, p)
        del members
        timings["refit_seconds"] = time.perf_counter() - t
        log.info("request %s: refit on %d rows in %.1fs", req.id, len(ex), timings["refit_seconds"])
        timings["fit_seconds"] = (
            v.seconds["inner_fit_seconds"]
            + v.seconds["outer_fit_seconds"]
            + v.seconds["interval_seconds"]
            + timings["refit_seconds"]
        )
        # The whole training of the full data: the read, every fit, the refit and the intervals.
        timings["train_seconds"] = timings["read_seconds"] + timings["fit_seconds"]
        # CPU time of every fit (all threads): a load-independent measure on a shared machine.
        timings["train_cpu_seconds"] = time.process_time() - cpu0

        # Export (calibration folded in) and check it against XGBoost on golden rows before
        # anything is published.
        export = export_checked(final, ex.names, val.x, seed=p.seed, shift=math.log(v.calibration))
        go_diff = math.nan
        if self.cfg.storecast_bin:
            # The same rows through Go's leaves, as serving will load the model.
            t = time.perf_counter()
            go_diff = go_parity(self.cfg.storecast_bin, export, ex.names, ex.schema, final)
            timings["go_parity_seconds"] = time.perf_counter() - t

        metrics_ = {
            **v.metrics,
            "inner_val_rmspe": v.inner_rmspe,
            "inner_val_rmspe_uncalibrated": v.inner_rmspe_uncalibrated,
            "calibration_factor": v.calibration,
            "trees": float(v.rounds),
            "members": float(p.members),
            "older_weight": p.older_weight,
            # The registered model's trees: members x trees, twice that with the older model.
            "served_trees": float(final.num_boosted_rounds()),
            "best_rounds": float(v.rounds),
            "inner_train_rows": float(len(ex.take(ex.date < inner.first))),
            "train_rows": float(len(ex.take(ex.date < window.first))),
            "rows": float(len(ex)),
            "export_max_rel_diff": export.max_rel_diff,
            "go_parity_max_rel_diff": go_diff,
            **{f"val_rmspe_week_{k}": x for k, x in v.by_week.items()},
            **{f"val_rmspe_store_type_{k}": x for k, x in v.by_store_type.items()},
            **{f"{k}": float(x) for k, x in timings.items()},
        }
        dataset.update(
            {
                "store": req.store or "all",
                "date_range": [format_day(first), format_day(last)],
                "rows_in_range": len(ex),
                "val_rows": len(val),
                "val_mode": mode,
                "inner_window": inner.label(),
                "inner_val_rows": len(inner_val),
                "inner_val_mode": inner_mode,
                "inner_snapshots": inner_desc,
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
            metrics=finite(metrics_),
            rows=len(ex),
            timings=timings,
            val_window=window.label(),
            protocol=train.PROTOCOL,
            inner_window=inner.label(),
            rmspe_by_horizon_week=v.by_week,
            rmspe_by_store_type=v.by_store_type,
            intervals=v.intervals.to_json(),
            read=dataset,
        )
        if not track or self.tracker() is None:
            o.reason = "not tracked (no MLflow)"
            return o
        from .runlog import RunRecord

        record = RunRecord(
            req=req,
            name=name,
            params=p,
            examples=ex,
            val=val,
            window=window,
            inner=inner,
            val_mode=mode,
            validation=v,
            final=final,
            export=export,
            metrics=metrics_,
            dataset=dataset,
            trained_through=end,
            topic=self.names.training_examples,
        )
        return self._track_and_promote(record, o, publish=publish)

    def _validation_rows(
        self, req: Request, ex: Examples, stores: list[int], window: Window
    ) -> tuple[Examples, str, dict[str, Any]]:
        """Validation rows as serving sees them (feature snapshots as of the day before the
        window), or, when the processor cannot answer, the window's own examples whose features
        are as of a day before the window. Returns the rows, the mode and a description."""
        val, desc = request_snapshots(
            self.cfg.brokers, self.producer, self.names, stores, window, req.id, self.cfg.snapshot_timeout
        )
        if val is not None:
            val = filter_examples(val, store=req.store, start=window.first, end=window.last)
            if val.names != ex.names:
                raise RequestError(
                    f"feature snapshots ({val.schema}, {len(val.names)} features) do not match the "
                    f"training examples ({ex.schema}, {len(ex.names)} features)"
                )
            if len(val):
                return val, "snapshot", desc
        val = train.asof_rows(ex, window)
        log.warning(
            "request %s: serving-like snapshots unavailable (%s); validating on %d examples "
            "with as-of before the window",
            req.id,
            desc,
            len(val),
        )
        return val, "examples_asof_before_window", desc

    def _track_and_promote(self, r: RunRecord, o: Outcome, *, publish: bool) -> Outcome:
        from .runlog import log_decision, log_run

        tr = self.tracker()
        assert tr is not None
        artifact = r.export.text.encode()
        sha = hashlib.sha256(artifact).hexdigest()
        tags = {"request_id": r.req.id, "requested_by": r.req.requested_by, "model_name": r.name}
        # The gate compares honest scores: the reported window scored once (train.validate).
        val_rmspe = r.validation.metrics["val_rmspe"]
        with tr.start_run(f"train-{r.req.id}", tags) as run:
            o.run_id = run.info.run_id
            o.version = version = log_run(tr, o.run_id, r)

            def rescore(champ: ChampionRun) -> float | None:
                b = tr.validation_model(champ.run_id)
                if b is None:
                    return None
                x = xgb.DMatrix(r.val.x, feature_names=r.examples.names)
                return rmspe(r.val.label, champ.calibration * np.expm1(b.predict(x)))

            champ = champion_for_decision(tr.champion(r.name), r.examples.names, r.window, rescore)
            decision = decide(val_rmspe, r.window, champ)
            o.decision = decision.reason
            log_decision(decision, r.name, version)
            tr.set_version_tags(
                r.name,
                version,
                {"val_rmspe": val_rmspe, "val_window": r.window.label(), "sha256": sha, "format": FORMAT},
            )
            if decision.promote:
                tr.promote(r.name, version)
                o.promoted = True
                if publish:
                    self.publish.model(
                        r.name,
                        version,
                        o.run_id,
                        r.metrics,
                        r.examples.names,
                        r.examples.schema,
                        artifact,
                        sha,
                        r.trained_through,
                        intervals=r.validation.intervals.to_json(),
                        feature_bins=drift.training_bins(r.examples.x, r.examples.names),
                        protocol=train.PROTOCOL,
                    )
                if self.metrics:
                    self.metrics.champion(r.name, val_rmspe)
        return o


def from_mlflow(e: BaseException) -> bool:
    """Whether e (or its cause) comes from MLflow or its HTTP client: the server is down or refused."""
    while e is not None:
        mod = type(e).__module__
        if mod.startswith(("mlflow", "requests", "urllib3")):
            return True
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return False
